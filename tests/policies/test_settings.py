from __future__ import annotations

import datetime as dt

import pytest

from policies.settings import DEFAULT_BASE_URL, Settings, SettingsError


def test_defaults_run_offline_on_sqlite() -> None:
    settings = Settings.from_environ({})
    assert settings.token == ""
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.admin_ids == frozenset()


def test_the_terminal_chat_has_its_own_database_by_default() -> None:
    default = Settings.from_environ({})
    assert default.trial_database_url.endswith("/data/trial.sqlite3")
    assert default.trial_database_url != default.database_url
    chosen = Settings.from_environ({"TRIAL_DATABASE_URL": " sqlite:///tmp/t.sqlite3 "})
    assert chosen.trial_database_url == "sqlite:///tmp/t.sqlite3"


def test_empty_values_mean_the_defaults_as_in_env_example() -> None:
    keys = ("TELEGRAM_BASE_URL", "DATABASE_URL", "TRIAL_DATABASE_URL", "WEBHOOK_PORT", "WEBHOOK_PATH")
    keys += ("POLICY_DIR", "BOT_USERNAME", "PUBLIC_WEB_URL")
    assert Settings.from_environ(dict.fromkeys(keys, "")) == Settings.from_environ({})


def test_invite_link_settings() -> None:
    settings = Settings.from_environ({"BOT_USERNAME": " @pairing_bot ", "PUBLIC_WEB_URL": "https://x.cn/ "})
    assert (settings.bot_username, settings.web_base()) == ("pairing_bot", "https://x.cn")
    assert Settings.from_environ({"WEB_PORT": "9001"}).web_base() == "http://127.0.0.1:9001"


def test_reads_every_key() -> None:
    settings = Settings.from_environ(
        {
            "TELEGRAM_BOT_TOKEN": "123:secret-token",
            "TELEGRAM_BASE_URL": "http://127.0.0.1:9000/bot",
            "DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "ADMIN_IDS": "1, 2;3",
            "BOT_TODAY": "2026-10-16",
        }
    )
    assert settings.base_url == "http://127.0.0.1:9000/bot"
    assert settings.admin_ids == {1, 2, 3}
    assert settings.today() == dt.date(2026, 10, 16)
    assert settings.is_admin(2) and not settings.is_admin(4) and not settings.is_admin(None)


def test_token_and_database_url_never_appear_in_repr() -> None:
    settings = Settings.from_environ(
        {
            "TELEGRAM_BOT_TOKEN": "123:secret-token",
            "DATABASE_URL": "postgresql://u:pw@h/db",
            "TRIAL_DATABASE_URL": "postgresql://u:trialpw@h/trial",
            "WEBHOOK_SECRET": "hook-secret",
        }
    )
    assert "secret-token" not in repr(settings)
    assert "pw@" not in repr(settings)
    assert "trialpw" not in repr(settings) and "hook-secret" not in repr(settings)


@pytest.mark.parametrize(
    ("key", "value"),
    [("ADMIN_IDS", "12,abc"), ("BOT_TODAY", "2026/10/16"), ("WEBHOOK_PORT", "eighty")],
)
def test_malformed_value_names_the_key(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        Settings.from_environ({key: value})
