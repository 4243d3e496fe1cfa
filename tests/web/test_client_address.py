"""Behind nginx every request comes from 127.0.0.1: the dashboard's per-address login throttle must see the
real client (X-Forwarded-For from a trusted proxy), or five wrong passwords from anyone lock everyone out."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from handlers.web.security import client_address
from policies.settings import Settings, SettingsError

TRUSTED = ("127.0.0.1", "::1")


def request_from(peer: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    transport = mock.Mock()
    transport.get_extra_info.return_value = (peer, 50000)
    return make_mocked_request("POST", "/admin/login", headers=headers, transport=transport)


def test_through_the_local_proxy_the_forwarded_client_counts() -> None:
    assert client_address(request_from("127.0.0.1", "203.0.113.7"), TRUSTED) == "203.0.113.7"


def test_a_forged_left_most_entry_is_not_believed() -> None:
    # the client sent "X-Forwarded-For: 10.9.9.9"; nginx appended the address it really came from
    assert client_address(request_from("127.0.0.1", "10.9.9.9, 203.0.113.7"), TRUSTED) == "203.0.113.7"


def test_a_direct_client_cannot_pick_its_address() -> None:
    assert client_address(request_from("198.51.100.4", "203.0.113.7"), TRUSTED) == "198.51.100.4"


def test_no_trusted_proxies_means_the_peer() -> None:
    assert client_address(request_from("127.0.0.1", "203.0.113.7"), ()) == "127.0.0.1"


def test_the_setting_takes_a_list_and_refuses_garbage() -> None:
    assert Settings.from_environ({"WEB_TRUSTED_PROXIES": "10.0.0.2, ::1"}).web_trusted_proxies == (
        "10.0.0.2",
        "::1",
    )
    assert Settings.from_environ({"WEB_TRUSTED_PROXIES": ""}).web_trusted_proxies == ()
    assert Settings.from_environ({}).web_trusted_proxies == TRUSTED
    with pytest.raises(SettingsError):
        Settings.from_environ({"WEB_TRUSTED_PROXIES": "nginx"})
