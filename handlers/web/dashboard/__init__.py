"""The dashboard (/admin/): the secretariat, universities and district offices at a desk, in a browser.

Mounted in the web chat's aiohttp app (`handlers.web.app.build_web_app` calls `setup_dashboard`), so one
server and one port serve both. Server-rendered with aiohttp-jinja2 (autoescape on: user text is always
escaped); htmx (vendored in static/vendor, no CDN) swaps fragments for filters and paging, and every page
works without JavaScript.

Modules: `auth` (passwords, throttle, sessions, `require`, `audit`), `render` (layout, nav, `render`),
one module per page (`overview`, `entries`, `exports`, `accounts`, `audit_log`, `login`).

How to add a page
-----------------
1. Write `handlers/web/dashboard/<page>.py` with handlers guarded by `auth.require`::

       from handlers.web.dashboard import auth
       from handlers.web.dashboard.render import render
       from policies.scopes import ADMIN

       @auth.require(ADMIN)                      # roles allowed; `auth.require()` = any signed-in role
       async def page(request, viewer):          # viewer: account, session, scope (policies.scopes.Scope)
           rows = await auth.repo(request).<query>(viewer.scope, ...)   # storage applies the scope
           return render(request, "dashboard/<page>.html", {"rows": rows}, title="…",
                         fragment="dashboard/_<page>_part.html")         # htmx gets the fragment only

       def register(app):
           app.router.add_get("/admin/<page>", page)

   and add the module to `PAGES` below. Its nav item is in `render.NAV` (path, label, roles, order):
   the layout shows it to those roles once the GET route exists.
2. Scope: never query entries without the viewer's scope. `storage.dashboard` takes a `Scope` on every
   entry query (`entries_page`, `scoped_entry`, `entry_counts`, `scoped(scope)` for exports); an id or
   filter outside it gives nothing (answer 403, the same as for a missing id, so ids reveal nothing).
3. Template: `templates/dashboard/<page>.html` extends "dashboard/base.html" and fills `{% block main %}`;
   Simplified Chinese; tables inside `<div class="table-wrap">` so they scroll on a phone.
4. Forms: POST only, with `<input type="hidden" name="csrf" value="{{ csrf }}">`; `require` checks it
   (htmx requests send it as the X-CSRF-Token header, set on <body> by the layout). A missing or wrong
   token is a 403. Actions that create accounts ask for the password again (see `accounts`).
5. Audit: every login, approval, export, broadcast and change calls
   `await auth.audit(request, "<action>", target="…", detail="…")` (append-only `dashboard_audit`).
6. Tests: a scope test per role (tests/web/test_dashboard_scopes.py pattern) and, for a user-visible
   flow, a browser test (tests/web/test_dashboard_browser.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType

import aiohttp_jinja2
from aiohttp import web

from handlers.services import Services
from handlers.web import security
from handlers.web.dashboard import (
    accounts,
    audit_log,
    broadcasts,
    entries,
    exports,
    leaderboard,
    login,
    members,
    overview,
    platforms,
    unanswered,
)
from handlers.web.dashboard.auth import DASHBOARD, DashboardState, Signer
from handlers.web.dashboard.render import NAV, ROUTED, local_time

PAGES: list[ModuleType] = [
    login,
    overview,
    entries,
    exports,
    broadcasts,
    leaderboard,
    members,
    unanswered,
    platforms,
    audit_log,
    accounts,
]

__all__ = ["PAGES", "setup_dashboard"]


def setup_dashboard(app: web.Application, svc: Services) -> None:
    """Register every dashboard page on `app` (which already has aiohttp-jinja2 set up)."""
    app[DASHBOARD] = DashboardState(svc)
    aiohttp_jinja2.get_env(app).filters["local"] = local_time
    for module in PAGES:
        module.register(app)
    routed = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if isinstance(path, str) and any(item.path == path for item in NAV):
            routed.add(path)
    app[ROUTED] = routed
    app.router.add_get("/admin", _to_slash)
    app.cleanup_ctx.append(_signer)


async def _to_slash(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect("/admin/")


async def _signer(app: web.Application) -> AsyncIterator[None]:
    """The cookie signer from the same secret as the web chat's cookies (WEB_SECRET_KEY or the stored one)."""
    svc = app[DASHBOARD].svc
    key = await security.cookie_key(svc.repo, svc.settings.web_secret_key)
    app[DASHBOARD].signer = Signer(key)
    yield
