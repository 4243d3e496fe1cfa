"""Browser sessions: a random session id and CSRF token in an encrypted (Fernet: AES + HMAC), HttpOnly,
SameSite=Lax cookie. Nothing is stored server-side, so any worker holding the key can read it.

A small middleware of our own rather than aiohttp-session: the session is two fields, and that library
stores its state under plain string keys, which current aiohttp warns about on every request.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from cryptography.fernet import Fernet, InvalidToken

from handlers.web.security import new_token

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class WebSession:
    """`sid` is the user's identity on the web channel; `csrf` must come back with every POST."""

    sid: str
    csrf: str
    new: bool = False
    refresh: bool = False  # re-issue the cookie on this response (a new expiry)


SESSION = web.RequestKey("web_session", WebSession)


class CookieSessions:
    """Reads and writes the session cookie with one Fernet key."""

    def __init__(self, key: bytes, *, name: str, max_age: int, secure: bool) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(key))
        self.name, self.max_age, self.secure = name, max_age, secure

    def load(self, request: web.Request) -> WebSession | None:
        raw = request.cookies.get(self.name)
        if not raw:
            return None
        try:
            data = json.loads(self._fernet.decrypt(raw.encode("ascii"), ttl=self.max_age))
        except (InvalidToken, ValueError, UnicodeError):
            logger.info("Ignoring an unreadable or expired session cookie")
            return None
        sid, csrf = data.get("sid") if isinstance(data, dict) else None, data.get("csrf")
        if not isinstance(sid, str) or not isinstance(csrf, str) or not sid or not csrf:
            return None
        return WebSession(sid, csrf)

    def save(self, response: web.StreamResponse, session: WebSession) -> None:
        token = self._fernet.encrypt(json.dumps({"sid": session.sid, "csrf": session.csrf}).encode())
        response.set_cookie(
            self.name,
            token.decode("ascii"),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.secure,
        )


def current(request: web.Request, *, create: bool) -> WebSession | None:
    """This request's session; with `create` (GETs), a new one when the browser has none."""
    session = request.get(SESSION)
    if session is None and create:
        session = WebSession(new_token(), new_token(), new=True)
        request[SESSION] = session
    return session


def middleware(get_sessions: Callable[[web.Request], CookieSessions]) -> Middleware:
    """Load the cookie before the handler; write it after when the session is new or refreshed
    (redirects and error responses included)."""

    @web.middleware
    async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
        store = get_sessions(request)
        loaded = store.load(request)
        if loaded is not None:
            request[SESSION] = loaded
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            _save(store, request, exc)
            raise
        _save(store, request, response)
        return response

    return sessions


def _save(store: CookieSessions, request: web.Request, response: web.StreamResponse) -> None:
    session = request.get(SESSION)
    if session is not None and (session.new or session.refresh) and not response.prepared:
        store.save(response, session)
