"""`InProcessRequest`: a PTB `BaseRequest` that answers Bot API calls from a `FakeTelegram`, no sockets.

PTB still encodes every call (`RequestData.json_parameters`, multipart files) and parses the JSON answer
with its own `BaseRequest.post`, so error mapping (429 -> RetryAfter, 403 -> Forbidden, ...) is PTB's.
"""

from __future__ import annotations

import logging
from typing import IO, cast

from telegram.request import BaseRequest, RequestData

from tests.fakeapi.core import FakeTelegram, UploadedFile

logger = logging.getLogger(__name__)


class DroppedConnection(ConnectionResetError):
    """The fault plan dropped this request before it reached Telegram; PTB reports a NetworkError."""


def split_api_url(url: str) -> tuple[str, str]:
    """(token, method) of '.../bot<token>/<method>'; the token is '' when the URL has none."""
    head, _, method = url.rstrip("/").rpartition("/")
    _, marker, token = head.rpartition("/bot")
    return (token if marker else ""), method


def read_upload(content: bytes | IO[bytes]) -> bytes:
    if isinstance(content, bytes):
        return content
    data = content.read()
    return data if isinstance(data, bytes) else str(data).encode()


class InProcessRequest(BaseRequest):
    """A `BaseRequest` over `fake`; one instance may serve as both `request` and `get_updates_request`."""

    __slots__ = ("_fake", "_read_timeout")

    def __init__(self, fake: FakeTelegram, *, read_timeout: float | None = 5.0) -> None:
        self._fake = fake
        self._read_timeout = read_timeout

    @property
    def fake(self) -> FakeTelegram:
        return self._fake

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method == "GET":  # File.download_*: url is <base_file_url><token>/documents/<file_id>
            stored = self._fake.files.get(url.rstrip("/").rpartition("/")[2])
            if stored is None:
                return 404, b'{"ok": false, "error_code": 404, "description": "Not Found"}'
            return 200, stored.content
        token, api_method = split_api_url(url)
        if self._fake.token is not None and token != self._fake.token:
            return 401, b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        params = dict(request_data.json_parameters) if request_data else {}
        files = {}
        if request_data is not None and request_data.contains_files:
            for name, (filename, content, mime) in request_data.multipart_data.items():
                files[name] = UploadedFile(filename, read_upload(cast("bytes | IO[bytes]", content)), mime)
        response = await self._fake.call(api_method, params, files)
        if response.drop:
            raise DroppedConnection(f"fake API dropped the connection for {api_method}")
        return response.status, response.payload()
