"""账号 (/admin/accounts, admins): list, create (the admin's own password asked again), disable, enable.
`create_account` is shared with `python bot.py users add`.

Scope values: a known university (form.yaml choices and aliases, the platform catalogue, universities
already on entries) or district (form.yaml choices and aliases, districts already on entries) is stored in
its canonical spelling (海大 -> 中国海洋大学). An unknown value is accepted as typed, with a warning: the
form allows "其他" names, and a misspelt scope only ever sees less (nothing), never more.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies import records as r
from policies.form import FormSpec
from policies.records import Account
from policies.scopes import ADMIN, ROLE_LABELS, ROLES, Scope, ScopeError, resolve_scope_value

NAME_RE = re.compile(r"^[\w.@-]{2,64}$")
OTHER = "其他"


class AccountError(ValueError):
    """Why an account cannot be created (Chinese, for the person creating it)."""


async def known_scopes(repo: Any, spec: FormSpec) -> tuple[list[str], list[str], dict[str, Sequence[str]]]:
    """(universities, districts, aliases) a scope value is checked against."""
    universities: list[str] = []
    districts: list[str] = []
    aliases: dict[str, Sequence[str]] = {}
    for field_id, into in ((r.F_UNIVERSITY, universities), (r.F_DISTRICT, districts)):
        field = spec.get(field_id)
        if field is not None:
            into.extend(c for c in field.choices if c != OTHER)
            aliases.update(field.aliases)
    universities.extend(p.university for p in await repo.current_platforms())
    facets = await repo.entry_facets(_ADMIN_SCOPE)
    universities.extend(facets.universities)
    districts.extend(facets.districts)
    return list(dict.fromkeys(universities)), list(dict.fromkeys(districts)), aliases


_ADMIN_SCOPE = Scope(ADMIN)


async def create_account(
    repo: Any, spec: FormSpec, *, name: str, role: str, scope: str, password: str, created_by: str
) -> tuple[Account, str | None]:
    """Validate and store a new account; returns it and a warning for an unknown scope value."""
    from storage.errors import InvalidValue

    name = name.strip()
    if not NAME_RE.match(name):
        raise AccountError("账号名需 2–64 个字符，只能包含文字、数字和 . _ - @，不能有空格")
    problem = auth.password_problem(password)
    if problem:
        raise AccountError(problem)
    universities, districts, aliases = await known_scopes(repo, spec)
    try:
        value, warning = resolve_scope_value(role, scope, universities, districts, aliases)
    except ScopeError as exc:
        raise AccountError(str(exc)) from None
    password_hash = await _hash(password)
    try:
        account = await repo.add_account(name, password_hash, role, value, created_by)
    except InvalidValue:
        raise AccountError(f"账号名“{name}”已存在") from None
    return account, warning


async def _hash(password: str) -> str:
    return await asyncio.to_thread(auth.hash_password, password)


async def _page(
    request: web.Request, *, message: str = "", error: str = "", form: Any = None, status: int = 200
) -> web.Response:
    repo = auth.repo(request)
    universities, districts, _ = await known_scopes(repo, auth.state(request).svc.flow.spec)
    context = {
        "accounts": await repo.list_accounts(),
        "roles": [(role, ROLE_LABELS[role]) for role in ROLES],
        "role_labels": ROLE_LABELS,
        "universities": universities,
        "districts": districts,
        "message": message,
        "error": error,
        "form": form or {},
    }
    return render(request, "dashboard/accounts.html", context, title="账号", status=status)


@auth.require(ADMIN)
async def accounts_page(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    return await _page(request)


def _text(form: Any, name: str, limit: int = 300) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


@auth.require(ADMIN)
async def create(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    """Create an account: the admin types their own password again (re-authentication), failures count
    towards the login throttle like a failed login."""
    from handlers.web.dashboard.login import locked_for, locked_message

    form = await request.post()
    kept = {k: _text(form, k) for k in ("name", "role", "scope")}
    repo = auth.repo(request)
    keys = [f"account:{viewer.account.name.casefold()}", f"address:{auth.client_address(request)}"]
    wait = await locked_for(request, keys)
    if wait is not None:
        return await _page(request, error=locked_message(wait), form=kept, status=429)
    found = await repo.account_with_hash(viewer.account.name)
    if found is None or not await auth.verify_password(found[1], _text(form, "current_password", 300)):
        await repo.record_login_failure(keys, older_than=dt.datetime.now(dt.UTC) - auth.FAILURE_WINDOW)
        await auth.audit(request, "reauth_failed", target=kept["name"])
        return await _page(request, error="当前密码不正确，未创建账号。", form=kept, status=403)
    password, again = _text(form, "password", 300), _text(form, "password_again", 300)
    if password != again:
        return await _page(request, error="两次输入的新密码不一致。", form=kept, status=400)
    try:
        account, warning = await create_account(
            repo,
            auth.state(request).svc.flow.spec,
            name=kept["name"],
            role=kept["role"],
            scope=kept["scope"],
            password=password,
            created_by=viewer.account.name,
        )
    except AccountError as exc:
        return await _page(request, error=str(exc), form=kept, status=400)
    await repo.touch_dashboard_session(viewer.session.token_hash, reauth=True)
    await auth.audit(
        request, "account_create", target=account.name, detail=f"{account.role} {account.scope}".strip()
    )
    scope = f"：{account.scope}" if account.scope else ""
    message = f"已创建账号“{account.name}”（{ROLE_LABELS[account.role]}{scope}）。"
    return await _page(request, message=message + (f" 注意：{warning}" if warning else ""))


@auth.require(ADMIN)
async def set_disabled(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    form = await request.post()
    name, action = _text(form, "name", 64), _text(form, "action", 16)
    if action not in ("disable", "enable"):
        return auth.refusal(request, 400, "无效的操作。")
    if name == viewer.account.name:
        return await _page(request, error="不能停用自己的账号。", status=400)
    account = await auth.repo(request).set_account_disabled(name, action == "disable")
    if account is None:
        return await _page(request, error=f"没有账号“{name}”。", status=404)
    await auth.audit(request, f"account_{action}", target=name)
    return await _page(request, message=f"已{'停用' if action == 'disable' else '启用'}账号“{name}”。")


def register(app: web.Application) -> None:
    app.router.add_get("/admin/accounts", accounts_page)
    app.router.add_post("/admin/accounts", create)
    app.router.add_post("/admin/accounts/status", set_disabled)
