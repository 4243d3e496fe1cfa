"""`FakeBotApiServer`: the fake Bot API over real HTTP on 127.0.0.1, for integration tests and benchmarks.

Routes (GET and POST; JSON, form-urlencoded and multipart bodies, query strings):

    /bot<token>/<method>            the Bot API, answered by `FakeTelegram.call`
    /file/bot<token>/<file_path>    file downloads (what `getFile` points to)
    /_fake/...                      control endpoints for a server in another process (see `_control`)

Point a bot at it with `ApplicationBuilder().base_url(server.base_url)` or TELEGRAM_BASE_URL.
Standalone: `python -m tests.fakeapi.server --port 8081` (prints `READY <base_url>` when listening).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from tests.fakeapi.core import JSON, ApiResponse, FakeTelegram, FaultKind, Limits, UploadedFile

logger = logging.getLogger(__name__)

FAKE = web.AppKey("fake", FakeTelegram)
UPLOAD_LIMIT = 60 * 1024 * 1024  # Telegram accepts 50 MB uploads from bots
_UNAUTHORIZED = {"ok": False, "error_code": 401, "description": "Unauthorized"}

T = TypeVar("T")


def create_app(fake: FakeTelegram, *, control: bool = True) -> web.Application:
    """The aiohttp application; `control=False` leaves out the /_fake endpoints."""
    app = web.Application(client_max_size=UPLOAD_LIMIT)
    app[FAKE] = fake
    app.router.add_route("*", "/bot{token}/{method}", _api)
    app.router.add_get("/file/bot{token}/{path:.+}", _download)
    if control:
        app.router.add_post("/_fake/user_says", _control_user_says)
        app.router.add_post("/_fake/user_presses", _control_user_presses)
        app.router.add_post("/_fake/users", _control_users)
        app.router.add_post("/_fake/faults", _control_faults)
        app.router.add_get("/_fake/stats", _control_stats)
        app.router.add_get("/_fake/messages/{chat_id}", _control_messages)
    return app


async def _read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
    params: JSON = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body is not an object")
        params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = value if isinstance(value, str) else bytes(value).decode()
    return params, files


def _drop(request: web.Request) -> web.Response:
    """Close the connection without an answer (a request that never reached Telegram)."""
    if request.transport is not None:
        request.transport.abort()
    request.protocol.force_close()
    return web.Response(status=500)  # never written: the transport is gone


def _respond(response: ApiResponse) -> web.Response:
    if response.text is not None:
        return web.Response(status=response.status, text=response.text, content_type="text/html")
    return web.json_response(response.body, status=response.status, dumps=_dumps)


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


async def _api(request: web.Request) -> web.StreamResponse:
    fake = request.app[FAKE]
    if fake.token is not None and request.match_info["token"] != fake.token:
        return web.json_response(_UNAUTHORIZED, status=401)
    try:
        params, files = await _read_params(request)
    except ValueError:
        body = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse request body"}
        return web.json_response(body, status=400)
    response = await fake.call(request.match_info["method"], params, files)
    if response.drop:
        return _drop(request)
    return _respond(response)


async def _download(request: web.Request) -> web.StreamResponse:
    stored = request.app[FAKE].files.get(request.match_info["path"].rpartition("/")[2])
    if stored is None:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
    return web.Response(body=stored.content, content_type=stored.mime_type)


# ------------------------------------------------------------------------------------ control API
async def _body(request: web.Request) -> JSON:
    body = await request.json()
    return body if isinstance(body, dict) else {}


async def _control_user_says(request: web.Request) -> web.StreamResponse:
    """{"user_id": 1, "text": "你好", "first_name": "..."} -> the queued update."""
    body = await _body(request)
    update = request.app[FAKE].user_says(
        int(body["user_id"]), str(body["text"]), first_name=body.get("first_name")
    )
    return web.json_response(update, dumps=_dumps)


async def _control_user_presses(request: web.Request) -> web.StreamResponse:
    """{"user_id": 1, "message_id": 2, "data": "m:ask"} -> the queued update."""
    body = await _body(request)
    try:
        update = request.app[FAKE].user_presses(
            int(body["user_id"]), int(body["message_id"]), str(body["data"])
        )
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(update, dumps=_dumps)


async def _control_users(request: web.Request) -> web.StreamResponse:
    """{"user_ids": [...]} registers users as if they had started the bot."""
    body = await _body(request)
    request.app[FAKE].add_users(int(u) for u in body.get("user_ids", []))
    return web.json_response({"ok": True})


async def _control_faults(request: web.Request) -> web.StreamResponse:
    """{"block": [ids], "unblock": [ids], "random_rate": 0.05, "fail_next": [{"kind": "502", "count": 2}]}."""
    body = await _body(request)
    plan = request.app[FAKE].faults
    plan.block(*(int(u) for u in body.get("block", [])))
    plan.unblock(*(int(u) for u in body.get("unblock", [])))
    if "random_rate" in body:
        plan.random_rate = float(body["random_rate"])
    for item in body.get("fail_next", []):
        plan.fail_next(FaultKind(str(item["kind"])), int(item.get("count", 1)), method=item.get("method"))
    return web.json_response({"ok": True})


async def _control_stats(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[FAKE].stats())


async def _control_messages(request: web.Request) -> web.StreamResponse:
    fake = request.app[FAKE]
    messages = fake.messages(int(request.match_info["chat_id"]))
    out = [
        {
            "message_id": m.message_id,
            "text": m.text,
            "buttons": m.buttons,
            "document": m.document.name if m.document else None,
        }
        for m in messages
    ]
    return web.json_response(out, dumps=_dumps)


# ------------------------------------------------------------------------------------- the server
class FakeBotApiServer:
    """The fake API served over HTTP on 127.0.0.1. Without `fake`, a new FakeTelegram with `limits`
    (default `Limits()`: rate limiting on); a given `fake` keeps its own limits."""

    def __init__(
        self,
        fake: FakeTelegram | None = None,
        *,
        port: int = 0,
        limits: Limits | None = None,
        control: bool = True,
    ) -> None:
        self.fake = fake if fake is not None else FakeTelegram(limits=limits or Limits())
        self._requested_port = port
        self._control = control
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeBotApiServer is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Value for TELEGRAM_BASE_URL / `ApplicationBuilder().base_url(...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        runner = web.AppRunner(
            create_app(self.fake, control=self._control), access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        self.fake.open_pollers()
        site = web.TCPSite(runner, "127.0.0.1", self._requested_port)
        await site.start()
        self._runner = runner
        server = site._server  # the asyncio.Server; aiohttp exposes no public accessor for the bound port
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1] if sockets else self._requested_port
        logger.info("fake Bot API listening on %s", self.url)

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.fake.close_pollers()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> FakeBotApiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


class ServerThread:
    """Run a `FakeBotApiServer` on its own event loop in a daemon thread (benchmarks, sync code).

    `call(fn)` runs `fn(fake)` on the server's loop, since FakeTelegram is single-threaded:
    `thread.call(lambda fake: fake.user_says(1, "你好"))`.
    """

    def __init__(
        self, fake: FakeTelegram | None = None, *, port: int = 0, limits: Limits | None = None
    ) -> None:
        self.server = FakeBotApiServer(fake, port=port, limits=limits)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-bot-api", daemon=True)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def fake(self) -> FakeTelegram:
        return self.server.fake

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> ServerThread:
        self._thread.start()
        self._run(self.server.start())
        return self

    def call(self, fn: Callable[[FakeTelegram], T], timeout: float = 10.0) -> T:
        async def run() -> T:
            return fn(self.server.fake)

        return self._run(run(), timeout)

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self._run(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class ServerProcess:
    """`python -m tests.fakeapi.server` in a subprocess; drive it through the /_fake control API."""

    def __init__(self, *, port: int = 0, no_limits: bool = False, token: str | None = None) -> None:
        self._args = [sys.executable, "-m", "tests.fakeapi.server", "--port", str(port)]
        if no_limits:
            self._args.append("--no-limits")
        if token:
            self._args += ["--token", token]
        self._proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def start(self, timeout: float = 15.0) -> ServerProcess:
        root = Path(__file__).resolve().parents[2]
        self._proc = subprocess.Popen(
            self._args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self._proc.stdout is not None
        ready = threading.Event()

        def read_ready() -> None:
            assert self._proc is not None and self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if line.startswith("READY "):
                self.base_url = line.split(maxsplit=1)[1].strip()
            ready.set()

        threading.Thread(target=read_ready, daemon=True).start()
        if not ready.wait(timeout) or not self.base_url:
            self.stop()
            raise RuntimeError("fake Bot API subprocess did not start")
        return self

    @property
    def url(self) -> str:
        return self.base_url.removesuffix("/bot")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(port: int, *, limits: Limits | None, token: str | None) -> None:
    """Serve until SIGINT/SIGTERM; prints `READY <base_url>` once listening (for a parent process)."""
    server = FakeBotApiServer(FakeTelegram(token=token, limits=limits), port=port)
    await server.start()
    print(f"READY {server.base_url}", flush=True)  # the parent process waits for it
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=None, help="only accept this bot token (default: any)")
    parser.add_argument("--no-limits", action="store_true", help="disable the 429 rate limits")
    parser.add_argument("--global-per-second", type=int, default=Limits.global_per_second)
    args = parser.parse_args(argv)
    limits = None if args.no_limits else Limits(global_per_second=args.global_per_second)
    logging.basicConfig(level=logging.INFO)
    asyncio.run(serve(args.port, limits=limits, token=args.token))


if __name__ == "__main__":
    main()
