"""The web chat's aiohttp application: the page, the JSON API the page uses, plain-form posts for browsers
without JavaScript, and file downloads. Every turn goes through `WebChat`, i.e. the conversation core.

    GET  /                          the chat page (history rendered on the server)
    POST /chat                      a plain form post (text, or button + message_id); 303 back to /
    GET  /api/messages?after=<id>   this session's messages after id: {"messages", "more", "csrf"}
    POST /api/messages              {"text": ...} or {"button": data, "message_id": id} -> {"messages"}
    GET  /files/<id>                a download offered to this session (404 for anyone else)
    /admin/...                      the dashboard (handlers.web.dashboard: its own accounts and cookie)

Sessions (`sessions`): a random id in an encrypted, HttpOnly, SameSite=Lax cookie, mapped to an internal
user with `resolve_user("web", sid)`. Every POST needs the session's CSRF token (header X-CSRF-Token, or
the form field `csrf`), and is rate limited per session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
import jinja2
from aiohttp import web

from handlers.health import Health, add_health_routes
from handlers.services import Services
from handlers.web import messages as m
from handlers.web import security, sessions
from handlers.web import texts as wt
from handlers.web.chat import WebChat
from handlers.web.dashboard import setup_dashboard
from handlers.web.reminders import reminders_ctx
from handlers.web.sessions import CookieSessions, WebSession
from policies.conversation import Actor

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024  # a 4096-character message as JSON is at most ~25 KB
COOKIE_NAME = "pairing_web"
COOKIE_MAX_AGE = 365 * 24 * 3600  # the session is the user's identity: keep it for a year of visits
POLL_PAGE = 200
DATA_MAX = 256  # longer button data cannot be ours (the core allows 64 bytes)
MAX_ID = 2**63 - 1  # message ids are 64-bit in the database; larger numbers cannot name one


@dataclass
class WebState:
    """What the running app shares between requests."""

    chat: WebChat
    limiter: security.RateLimiter
    cookies: CookieSessions | None = None  # built on startup, once the cookie key is known

    def sessions(self) -> CookieSessions:
        if self.cookies is None:  # a request before startup finished
            raise web.HTTPServiceUnavailable()
        return self.cookies


SERVICES = web.AppKey("services", Services)
STATE = web.AppKey("web_state", WebState)


def build_web_app(
    svc: Services,
    *,
    limiter: security.RateLimiter | None = None,
    reminders: bool = False,
    health: Health | None = None,
) -> web.Application:
    """The web chat over `svc`. The cookie key is loaded on startup (`cleanup_ctx`); with `reminders`
    the daily reminder run lives here too (web-only deployments, where no Telegram JobQueue runs)."""
    middleware = sessions.middleware(lambda request: request.app[STATE].sessions())
    app = web.Application(client_max_size=MAX_BODY, middlewares=[middleware])
    app[SERVICES] = svc
    app[STATE] = WebState(chat=WebChat(svc), limiter=limiter or security.RateLimiter())
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        default_helpers=False,
    )
    app.cleanup_ctx.append(_session_storage)
    if reminders:
        app.cleanup_ctx.append(reminders_ctx(svc))
    app.on_response_prepare.append(security.add_security_headers)
    app.router.add_get("/", page)
    app.router.add_post("/chat", form_post)
    app.router.add_get("/api/messages", api_history)
    app.router.add_post("/api/messages", api_post)
    app.router.add_get("/files/{file_id}", download)
    setup_dashboard(app, svc)
    app.router.add_static("/static", HERE / "static", append_version=False)
    add_health_routes(app, health or Health(svc.repo))
    return app


async def _session_storage(app: web.Application) -> AsyncIterator[None]:
    """Build the cookie sessions from the configured or stored secret; nothing to tear down."""
    settings = app[SERVICES].settings
    key = await security.cookie_key(app[SERVICES].repo, settings.web_secret_key)
    app[STATE].cookies = CookieSessions(
        key, name=COOKIE_NAME, max_age=COOKIE_MAX_AGE, secure=settings.web_cookie_secure
    )
    yield


async def _actor(request: web.Request, session: WebSession) -> Actor:
    return await request.app[STATE].chat.actor(session.sid)


def _in_wechat(request: web.Request) -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


def _refusal(request: web.Request, status: int, text: str, *, api: bool, **headers: str) -> web.Response:
    if api:
        return web.json_response({"error": text}, status=status, headers=headers, dumps=_dumps)
    return aiohttp_jinja2.render_template(
        "error.html", request, {"text": text, "title": wt.TITLE}, status=status
    )


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _guard(
    request: web.Request, session: WebSession | None, token: str | None, *, api: bool
) -> web.Response | None:
    """The refusal for a POST without the session's CSRF token, or over the session's rate; else None."""
    if session is None or not security.csrf_ok(session.csrf, token):
        return _refusal(request, 403, wt.CSRF_FAILED, api=api)
    wait = request.app[STATE].limiter.retry_after(session.sid)
    if wait > 0:
        seconds = max(1, round(wait + 0.49))
        text = wt.RATE_LIMITED.format(seconds=seconds)
        return _refusal(request, 429, text, api=api, **{"Retry-After": str(seconds)})
    return None


# -- the page ----------------------------------------------------------------------------------------------
async def page(request: web.Request) -> web.Response:
    """The whole conversation rendered on the server: works without JavaScript, and after a reload."""
    session = sessions.current(request, create=True)
    assert session is not None
    session.refresh = True  # re-issue the cookie: a year from the last visit, not from the first
    chat = request.app[STATE].chat
    actor = await _actor(request, session)
    await chat.greet(actor)
    invite = request.query.get("invite")
    if (
        invite is not None
    ):  # an invite link: the same /join as typed, then the plain page (no re-run on reload)
        await chat.send_text(actor, f"/join {invite[:200]}")
        raise web.HTTPSeeOther("/#latest")
    folded = m.fold(await chat.full_history(actor))
    context = {
        "title": wt.TITLE,
        "subtitle": wt.SUBTITLE,
        "csrf": session.csrf,
        "messages": folded.messages,
        "menu": folded.menu,
        "last_id": folded.last_id,
        "in_wechat": _in_wechat(request),
    }
    response = aiohttp_jinja2.render_template("index.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


async def form_post(request: web.Request) -> web.StreamResponse:
    """A plain HTML form: the same turn as the API, then back to the page (post/redirect/get)."""
    session = sessions.current(request, create=False)
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        return _refusal(request, 413, wt.TOO_LARGE, api=False)
    token = form.get(security.CSRF_FIELD)
    refusal = _guard(request, session, token if isinstance(token, str) else None, api=False)
    if refusal is not None:
        return refusal
    assert session is not None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    turn = await _turn(request, session, fields)
    if isinstance(turn, web.Response):
        return turn
    raise web.HTTPSeeOther("/#latest")


# -- the JSON API ------------------------------------------------------------------------------------------
async def api_history(request: web.Request) -> web.Response:
    """This session's messages after `after` (0: the whole history, for a reload), oldest first."""
    session = sessions.current(request, create=True)
    assert session is not None
    try:
        after = max(0, int(request.query.get("after", "0")))
    except ValueError:
        return _refusal(request, 400, wt.BAD_REQUEST, api=True)
    if after > MAX_ID:
        return _refusal(request, 400, wt.BAD_REQUEST, api=True)
    chat = request.app[STATE].chat
    actor = await _actor(request, session)
    if after == 0:
        await chat.greet(actor)
    stored = await chat.history(actor, after, POLL_PAGE + 1)
    body = {
        "messages": [m.view(*row) for row in stored[:POLL_PAGE]],
        "more": len(stored) > POLL_PAGE,
        "csrf": session.csrf,
    }
    return web.json_response(body, dumps=_dumps, headers={"Cache-Control": "no-store"})


async def api_post(request: web.Request) -> web.Response:
    """One user turn as JSON; returns the stored messages of the turn (the user's, then the bot's)."""
    session = sessions.current(request, create=False)
    refusal = _guard(request, session, request.headers.get(security.CSRF_HEADER), api=True)
    if refusal is not None:
        return refusal
    assert session is not None
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        return _refusal(request, 413, wt.TOO_LARGE, api=True)
    except ValueError:
        return _refusal(request, 400, wt.BAD_REQUEST, api=True)
    if not isinstance(body, dict):
        return _refusal(request, 400, wt.BAD_REQUEST, api=True)
    turn = await _turn(request, session, body)
    if isinstance(turn, web.Response):
        return turn
    return web.json_response({"messages": turn}, dumps=_dumps, headers={"Cache-Control": "no-store"})


async def _turn(
    request: web.Request, session: WebSession, body: dict[str, Any]
) -> list[dict[str, Any]] | web.Response:
    """`{"text"}` or `{"button", "message_id"}` through WebChat; a 400 refusal for anything else."""
    api = request.path.startswith("/api/")
    chat = request.app[STATE].chat
    text, button, message_id = body.get("text"), body.get("button"), body.get("message_id")
    if isinstance(text, str) and button is None:
        return await chat.send_text(await _actor(request, session), text)
    if isinstance(button, str) and 0 < len(button) <= DATA_MAX and text is None:
        try:
            pressed = int(message_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return _refusal(request, 400, wt.BAD_REQUEST, api=api)
        if 0 < pressed <= MAX_ID:
            return await chat.press(await _actor(request, session), button, pressed)
    return _refusal(request, 400, wt.BAD_REQUEST, api=api)


# -- files -------------------------------------------------------------------------------------------------
async def download(request: web.Request) -> web.Response:
    """A file offered to this session; any other session gets the same 404 as for a missing file."""
    session = sessions.current(request, create=False)
    file_id = request.match_info["file_id"]
    found = None
    if session is not None and file_id.isalnum() and len(file_id) <= 64:
        actor = await _actor(request, session)
        found = await request.app[STATE].chat.repo.get_web_file(actor.user_id, file_id)
    if found is None:
        return _refusal(request, 404, wt.NOT_FOUND, api=False)
    name, mime, data = found
    return web.Response(
        body=data,
        content_type=mime,
        headers={"Content-Disposition": content_disposition(name), "Cache-Control": "private, no-store"},
    )


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266/5987): 清单.xlsx stays 清单.xlsx."""
    suffix = Path(name).suffix if Path(name).suffix.isascii() else ""
    fallback = "download" + suffix
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- serving -----------------------------------------------------------------------------------------------
async def start_web(
    svc: Services, host: str, port: int, *, reminders: bool = False, health: Health | None = None
) -> web.AppRunner:
    """Start serving the web chat; `await runner.cleanup()` stops it. Beside Telegram (`bot.py run`) the
    JobQueue sends reminders, alone (`bot.py web`) pass `reminders=True`.
    Binding errors (port in use, no permission) raise OSError before anything is served."""
    app = build_web_app(svc, reminders=reminders, health=health)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=30.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    shown = f"[{host}]" if ":" in host else host
    print(f"网页对话已启动：请在浏览器中打开 http://{shown}:{port}/ （Ctrl-C 停止）", flush=True)
    logger.info("Web chat listening on %s:%d", host, port)
    return runner


async def serve(svc: Services, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the web chat until SIGINT/SIGTERM, then stop cleanly (open requests get a few seconds)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    runner = await start_web(svc, host, port, reminders=True)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
        await runner.cleanup()
