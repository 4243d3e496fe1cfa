"""Dashboard sign-in: argon2 passwords, the login throttle, server-side sessions behind a signed cookie,
the `require(...)` guard with CSRF, and the audit writer.

The cookie carries a random token and its HMAC (key derived from the web chat's cookie secret); the
database keeps only the token's SHA-256, with the account, the CSRF token and the last request's time. So
logging out, disabling an account or an idle timeout ends the session in every worker at once.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from handlers.services import Services
from handlers.web import security
from policies.records import Account, DashboardSession
from policies.scopes import ROLE_LABELS, Scope, ScopeError

COOKIE = "pairing_admin"
LOGIN_COOKIE = "pairing_admin_login"  # the login form's CSRF token, before there is a session
IDLE_TIMEOUT = dt.timedelta(minutes=30)
TOUCH_EVERY = dt.timedelta(seconds=60)  # last_seen_at is written at most this often per session
REAUTH_WINDOW = dt.timedelta(minutes=5)
MAX_FAILURES = 5
FAILURE_WINDOW = dt.timedelta(minutes=15)  # failures older than this no longer count
LOCKOUT = dt.timedelta(minutes=15)  # after MAX_FAILURES, from the last failure
MIN_PASSWORD = 10
MAX_PASSWORD = 256

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))  # verified for unknown names: same cost, no oracle


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_problem(password: str) -> str | None:
    """A Chinese reason to refuse a new password, or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 个字符"
    if password.strip() != password or not password.isprintable():
        return "密码不能以空格开头或结尾，也不能含控制字符"
    return None


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """argon2 in a worker thread (it is deliberately slow); a missing hash still costs one verify."""
    if len(password) > MAX_PASSWORD:
        return False
    ok = await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password)
    return ok and stored is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Signer:
    """HMAC-SHA256 over the session token: a cookie we did not issue is rejected before any query."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"pairing-dashboard-cookie\x00" + key).digest()

    def _mac(self, token: str) -> str:
        digest = hmac.new(self._key, token.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, token: str) -> str:
        return f"{token}.{self._mac(token)}"

    def unsign(self, value: str | None) -> str | None:
        if not value or value.count(".") != 1 or len(value) > 200:
            return None
        token, mac = value.split(".")
        if not token.isascii() or not mac.isascii():
            return None
        return token if hmac.compare_digest(mac, self._mac(token)) else None


@dataclass
class DashboardState:
    """Shared by the dashboard's requests; `signer` is set on startup, once the cookie key is known."""

    svc: Services
    signer: Signer | None = None

    def require_signer(self) -> Signer:
        if self.signer is None:
            raise web.HTTPServiceUnavailable()
        return self.signer


DASHBOARD = web.AppKey("dashboard", DashboardState)


def state(request: web.Request) -> DashboardState:
    return request.app[DASHBOARD]


def repo(request: web.Request) -> Any:
    return state(request).svc.repo


@dataclass(frozen=True)
class Viewer:
    """The signed-in account of this request, its session and its scope."""

    account: Account
    session: DashboardSession
    scope: Scope

    @property
    def csrf(self) -> str:
        return self.session.csrf

    @property
    def role_label(self) -> str:
        return self.scope.label

    @property
    def is_admin(self) -> bool:
        return self.scope.is_admin


VIEWER = web.RequestKey("dashboard_viewer", Viewer)


def client_address(request: web.Request) -> str:
    """The client's address for the throttle and the audit (the real one behind a trusted proxy)."""
    return security.client_address(request, state(request).svc.settings.web_trusted_proxies)


def cookie_secure(request: web.Request) -> bool:
    return bool(state(request).svc.settings.web_cookie_secure)


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE,
        state(request).require_signer().sign(token),
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=cookie_secure(request),
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/admin")


async def load_viewer(request: web.Request) -> Viewer | None:
    """This request's signed-in account, or None (no cookie, bad signature, ended, idle, disabled)."""
    if VIEWER in request:
        return request[VIEWER]
    token = state(request).require_signer().unsign(request.cookies.get(COOKIE))
    if token is None:
        return None
    digest = token_hash(token)
    found = await repo(request).dashboard_session(digest)
    if found is None:
        return None
    session, account = found
    now = dt.datetime.now(dt.UTC)
    if now - session.last_seen_at > IDLE_TIMEOUT:
        await repo(request).end_dashboard_session(digest)
        return None
    try:
        scope = Scope.of(account.role, account.scope)
    except ScopeError:
        return None  # an account row edited into nonsense sees nothing
    if now - session.last_seen_at > TOUCH_EVERY:
        await repo(request).touch_dashboard_session(digest)
    viewer = Viewer(account, session, scope)
    request[VIEWER] = viewer
    return viewer


def session_token_hash(request: web.Request) -> str | None:
    token = state(request).require_signer().unsign(request.cookies.get(COOKIE))
    return None if token is None else token_hash(token)


PageHandler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]


def refusal(request: web.Request, status: int, text: str) -> web.Response:
    """A Chinese error page (or fragment for htmx) with `status`."""
    import aiohttp_jinja2

    template = "dashboard/error.html"
    context = {"title": "出错了", "text": text, "viewer": request.get(VIEWER), "status": status}
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def forbidden(request: web.Request, text: str, *, target: str | None = None) -> web.Response:
    """Refuse with 403 and record the attempt in the audit log (`target`: the request's path by default)."""
    await audit(request, "forbidden", target=request.path_qs if target is None else target)
    return refusal(request, 403, text)


def _to_login(request: web.Request) -> web.StreamResponse:
    target = request.path_qs if request.method == "GET" else "/admin/"
    location = "/admin/login?" + _urlencode({"next": target})
    if request.headers.get("HX-Request"):
        return web.Response(status=401, headers={"HX-Redirect": location})
    raise web.HTTPSeeOther(location)


def _urlencode(values: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(values)


def csrf_token_of(request: web.Request, form: Any) -> str | None:
    given = request.headers.get(security.CSRF_HEADER)
    if given is None and form is not None:
        value = form.get(security.CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return given


def require(*roles: str) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Guard a page: a signed-in, enabled account (of one of `roles` when given), and on any method
    but GET/HEAD the session's CSRF token (form field `csrf` or header X-CSRF-Token). Not signed in:
    to the login page; wrong role or token: 403."""

    def wrap(handler: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            viewer = await load_viewer(request)
            if viewer is None:
                return _to_login(request)
            if request.method not in ("GET", "HEAD"):
                form = await request.post() if request.content_type in _FORM_TYPES else None
                if not security.csrf_ok(viewer.csrf, csrf_token_of(request, form)):
                    await audit(request, "csrf_refused", target=request.path)
                    return refusal(request, 403, "页面已过期或请求来源无效，请刷新页面后重试。")
            if roles and viewer.scope.role not in roles:
                return await forbidden(request, "您的账号无权访问此页面。")
            return await handler(request, viewer)

        return guarded

    return wrap


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def audit(
    request: web.Request,
    action: str,
    *,
    target: str = "",
    detail: str = "",
    account: str | None = None,
    role: str | None = None,
) -> None:
    """Append one line to the dashboard audit log: who (the signed-in account unless given), from where,
    did what to what."""
    viewer = request.get(VIEWER)
    await repo(request).write_audit(
        account=account if account is not None else (viewer.account.name if viewer else ""),
        role=role if role is not None else (viewer.account.role if viewer else ""),
        address=client_address(request),
        action=action,
        target=target,
        detail=detail,
    )


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)
