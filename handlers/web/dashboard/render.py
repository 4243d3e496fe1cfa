"""The navigation every page shares, and `render` (a page, or just its fragment for an htmx request)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from handlers.web.dashboard.auth import VIEWER, Viewer
from policies.scopes import ADMIN, DISTRICT, ROLES, UNIVERSITY
from policies.settings import TIMEZONE

TITLE = "结对共建管理台"


def local_time(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as Beijing time, the `local` filter of the templates."""
    return value.astimezone(TIMEZONE).strftime(fmt) if value is not None else ""


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str
    roles: tuple[str, ...]
    order: int


# Every dashboard page; the base layout shows the ones the signed-in role may open. A page registered
# here without its route yet is not shown (see `register_route`).
NAV: list[NavItem] = [
    NavItem("/admin/", "总览", ROLES, 10),
    NavItem("/admin/entries", "项目清单", ROLES, 20),
    NavItem("/admin/exports", "导出", ROLES, 30),
    NavItem("/admin/broadcasts", "群发与提醒", (ADMIN,), 40),
    NavItem("/admin/leaderboard", "榜单", ROLES, 50),
    NavItem("/admin/members", "成员与审核", (ADMIN, DISTRICT), 60),
    NavItem("/admin/unanswered", "未答问题", (ADMIN,), 70),
    NavItem("/admin/platforms", "平台目录", (ADMIN, UNIVERSITY), 80),
    NavItem("/admin/audit", "审计", (ADMIN,), 90),
    NavItem("/admin/accounts", "账号", (ADMIN,), 100),
]

ROUTED = web.AppKey("dashboard_routed", set)  # the nav paths that have a GET route in this app


def nav_for(request: web.Request, viewer: Viewer | None) -> list[NavItem]:
    if viewer is None:
        return []
    routed: set[str] = request.app.get(ROUTED, set())
    role = viewer.scope.role
    return sorted((i for i in NAV if role in i.roles and i.path in routed), key=lambda i: i.order)


def is_htmx(request: web.Request) -> bool:
    """An htmx request for a part of the page: answer with the fragment only. A boosted navigation and a
    history restore (the back button, with htmx's history cache off) need the whole page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    title: str,
    status: int = 200,
    fragment: str | None = None,
) -> web.Response:
    """`template` with the layout's context (viewer, nav, csrf, title); an htmx request gets `fragment`
    (a template rendering only the part it swaps) when given. Never cached: everything is per account."""
    viewer = request.get(VIEWER)
    full = {
        "title": title,
        "site_title": TITLE,
        "viewer": viewer,
        "nav": nav_for(request, viewer),
        "csrf": viewer.csrf if viewer else "",
        "path": request.path,
        **context,
    }
    chosen = fragment if fragment is not None and is_htmx(request) else template
    response = aiohttp_jinja2.render_template(chosen, request, full, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response
