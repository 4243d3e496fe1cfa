"""审计 (/admin/audit, admins): the append-only dashboard audit log, filterable by account, action, text
and date (Beijing dates), newest first, paged."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies.scopes import ADMIN
from policies.settings import TIMEZONE

PER_PAGE = 100
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "login_locked": "登录被锁定",
    "login_disabled": "停用账号尝试登录",
    "logout": "退出",
    "export": "导出",
    "export_refused": "导出被拒绝",
    "broadcast": "群发/提醒",
    "account_create": "创建账号",
    "account_disable": "停用账号",
    "account_enable": "启用账号",
    "reauth_failed": "二次验证失败",
    "platform_confirm": "确认平台",
    "platform_flag": "标记平台疑问",
    "platform_clear": "撤销平台确认",
    "entry_refused": "越权查看记录",
    "forbidden": "越权访问页面",
    "csrf_refused": "CSRF 校验失败",
}


def _day(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), TIMEZONE).astimezone(dt.UTC)


@auth.require(ADMIN)
async def audit_page(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    q = request.query
    account = q.get("account", "").strip()[:64]
    action = q.get("action", "").strip()[:64]
    text = " ".join(q.get("q", "").split())[:100]
    since, until = _day(q.get("from", "")), _day(q.get("to", ""))
    try:
        page = max(1, min(100_000, int(q.get("page", "1"))))
    except ValueError:
        page = 1
    repo = auth.repo(request)
    events, total = await repo.audit_events(
        account=account,
        action=action,
        text=text,
        since=_start_of(since) if since else None,
        until=_start_of(until + dt.timedelta(days=1)) if until else None,
        limit=PER_PAGE,
        offset=(page - 1) * PER_PAGE,
    )
    params = {
        "account": account,
        "action": action,
        "q": text,
        "from": since.isoformat() if since else "",
        "to": until.isoformat() if until else "",
    }

    def link(n: int) -> str:
        return "/admin/audit?" + urlencode({**{k: v for k, v in params.items() if v}, "page": n})

    context = {
        "events": events,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "params": params,
        "link": link,
        "actions": await repo.audit_actions(),
        "accounts": [a.name for a in await repo.list_accounts()],
        "labels": ACTION_LABELS,
    }
    return render(
        request, "dashboard/audit.html", context, title="审计", fragment="dashboard/_audit_results.html"
    )


def register(app: web.Application) -> None:
    app.router.add_get("/admin/audit", audit_page)
