"""GET/POST /admin/login and POST /admin/logout.

Throttle: failures are counted in the database per account name and per address over FAILURE_WINDOW;
at MAX_FAILURES either key is locked until LOCKOUT after its latest failure, whatever the password.
The login form's CSRF token is a random value in a SameSite=Strict cookie and the form (double submit).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from aiohttp import web

from handlers.web import security
from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render

LOGIN_TITLE = "登录"
BAD_CREDENTIALS = "账号或密码错误。"
DISABLED = "该账号已停用，请联系秘书处。"


def _keys(name: str, address: str) -> list[str]:
    return [f"account:{name.casefold()}", f"address:{address}"]


def _safe_next(raw: object) -> str:
    """Only a path of the dashboard itself: never another site (no //host, no scheme)."""
    text = raw if isinstance(raw, str) else ""
    if text.startswith("/admin/") and not text.startswith("//") and "\\" not in text and len(text) < 500:
        return text
    return "/admin/"


def _login_page(
    request: web.Request, *, message: str = "", name: str = "", next_: str = "/admin/", status: int = 200
) -> web.Response:
    token = request.cookies.get(auth.LOGIN_COOKIE) or ""
    if not (token.isascii() and 20 <= len(token) <= 64):
        token = secrets.token_urlsafe(24)
    context = {
        "login_csrf": token,
        "message": message,
        "name": name,
        "next": next_,
        "max_failures": auth.MAX_FAILURES,
        "lock_minutes": int(auth.LOCKOUT.total_seconds() // 60),
    }
    response = render(request, "dashboard/login.html", context, title=LOGIN_TITLE, status=status)
    response.set_cookie(
        auth.LOGIN_COOKIE,
        token,
        path="/admin/login",
        httponly=True,
        samesite="Strict",
        secure=auth.cookie_secure(request),
    )
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    if await auth.load_viewer(request) is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return _login_page(request, next_=_safe_next(request.query.get("next")))


async def locked_for(request: web.Request, keys: list[str]) -> dt.timedelta | None:
    """How long these keys stay locked, or None when login may be tried."""
    now = dt.datetime.now(dt.UTC)
    failures = await auth.repo(request).login_failures(keys, now - auth.FAILURE_WINDOW)
    waits = [last + auth.LOCKOUT - now for count, last in failures.values() if count >= auth.MAX_FAILURES]
    wait = max(waits, default=None)
    return wait if wait is not None and wait > dt.timedelta(0) else None


def locked_message(wait: dt.timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"登录失败次数过多，账号或当前网络已被暂时锁定，请 {minutes} 分钟后再试。"


async def login_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    given = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(
        request.cookies.get(auth.LOGIN_COOKIE), given if isinstance(given, str) else None
    ):
        return auth.refusal(request, 403, "登录页面已过期，请刷新后重新登录。")
    raw_name, password = form.get("name"), form.get("password")
    name = " ".join(raw_name.split())[:64] if isinstance(raw_name, str) else ""
    password = password if isinstance(password, str) else ""
    next_ = _safe_next(form.get("next"))
    address = auth.client_address(request)
    keys = _keys(name, address)
    repo = auth.repo(request)
    wait = await locked_for(request, keys)
    if wait is not None:
        await auth.audit(request, "login_locked", target=name, account=name, role="")
        return _login_page(request, message=locked_message(wait), name=name, next_=next_, status=429)
    found = await repo.account_with_hash(name) if name else None
    ok = await auth.verify_password(found[1] if found else None, password)
    if not ok or found is None:
        await repo.record_login_failure(keys, older_than=dt.datetime.now(dt.UTC) - auth.FAILURE_WINDOW)
        await auth.audit(request, "login_failed", target=name, account=name, role="")
        wait = await locked_for(request, keys)
        message = locked_message(wait) if wait is not None else BAD_CREDENTIALS
        return _login_page(request, message=message, name=name, next_=next_, status=401)
    account = found[0]
    if account.disabled:
        await auth.audit(request, "login_disabled", target=name, account=name, role=account.role)
        return _login_page(request, message=DISABLED, name=name, next_=next_, status=403)
    await repo.clear_login_failures(keys)
    await repo.prune_dashboard_sessions(dt.datetime.now(dt.UTC) - auth.IDLE_TIMEOUT)  # abandoned ones
    token = secrets.token_urlsafe(32)
    await repo.create_dashboard_session(
        account.id, auth.token_hash(token), secrets.token_urlsafe(24), address
    )
    await auth.audit(request, "login", target=name, account=name, role=account.role)
    response = web.HTTPSeeOther(next_)
    auth.set_session_cookie(request, response, token)
    response.del_cookie(auth.LOGIN_COOKIE, path="/admin/login")
    raise response


@auth.require()
async def logout(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    await auth.repo(request).end_dashboard_session(viewer.session.token_hash)
    await auth.audit(request, "logout")
    response = web.HTTPSeeOther("/admin/login")
    auth.clear_session_cookie(response)
    raise response


def register(app: web.Application) -> None:
    app.router.add_get("/admin/login", login_form)
    app.router.add_post("/admin/login", login_post)
    app.router.add_post("/admin/logout", logout)
