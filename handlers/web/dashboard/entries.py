"""项目清单: /admin/entries (filters, sort, paging; htmx swaps the results only) and /admin/entries/<id>
(every field and the full change history; a university account confirms or flags the platform)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies.scopes import PLATFORM_CONFIRMED, PLATFORM_FLAGGED, EntryQuery, Scope
from policies.validators import clean_input
from storage.exports import FIELD_LABELS

PER_PAGE = 50
NOTE_LIMIT = 500
NOT_FOUND = "未找到该记录，或您的账号无权查看。"
COLUMNS = (
    ("id", "编号"),
    ("quarter", "季度"),
    ("university", "高校/科研机构"),
    ("", "科创平台"),
    ("enterprise_name", "企业"),
    ("district", "功能区/镇街"),
    ("", "项目名称"),
    ("status", "状态"),
    ("", "平台确认"),
    ("updated_at", "更新时间"),
)


def _entry_id(request: web.Request) -> int:
    raw = request.match_info["entry_id"]
    return int(raw) if raw.isdigit() and len(raw) <= 10 else 0


@auth.require()
async def entries(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    query = EntryQuery.parse(request.query, per_page=PER_PAGE)
    repo = auth.repo(request)
    rows, total = await repo.entries_page(viewer.scope, query)
    facets = await repo.entry_facets(viewer.scope)
    pages = max(1, -(-total // PER_PAGE))

    def link(**changes: Any) -> str:
        params = query.params(**changes)
        return "/admin/entries" + ("?" + urlencode(params) if params else "")

    def sort_link(column: str) -> str:
        descending = not (query.sort == column and query.descending)
        return link(sort=column, dir="desc" if descending else "asc", page=1)

    context = {
        "query": query,
        "rows": rows,
        "total": total,
        "page": query.page,
        "pages": pages,
        "facets": facets,
        "columns": COLUMNS,
        "link": link,
        "sort_link": sort_link,
        "statuses": facets.statuses,
    }
    return render(
        request,
        "dashboard/entries.html",
        context,
        title="项目清单",
        fragment="dashboard/_entries_results.html",
    )


def _labels(request: web.Request) -> dict[str, str]:
    spec = auth.state(request).svc.flow.spec
    return {f.id: f.label for f in spec.fields}


@auth.require()
async def entry(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    entry_id = _entry_id(request)
    repo = auth.repo(request)
    found = await repo.scoped_entry(viewer.scope, entry_id)
    history = await repo.scoped_history(viewer.scope, entry_id) if found else None
    if found is None or history is None:
        await auth.audit(request, "entry_refused", target=f"entry:{request.match_info['entry_id'][:20]}")
        return auth.refusal(request, 403, NOT_FOUND)
    labels = _labels(request)
    fields = [(labels.get(k) or FIELD_LABELS.get(k, k), _display(v)) for k, v in found.fields.items()]
    changes = [(c, labels.get(c.field) or FIELD_LABELS.get(c.field, c.field)) for c in history]
    context = {
        "entry": found,
        "fields": fields,
        "changes": changes,
        "may_check": _may_check(viewer.scope),
        "note_limit": NOTE_LIMIT,
        "done": request.query.get("done", ""),
    }
    return render(request, "dashboard/entry.html", context, title=f"记录 {found.id}")


def _may_check(scope: Scope) -> bool:
    return scope.may_check_platforms


def _display(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return "" if value is None else str(value)


ACTIONS = {"confirm": PLATFORM_CONFIRMED, "flag": PLATFORM_FLAGGED, "clear": None}


@auth.require()
async def check(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    """A university confirms (平台已确认) or flags an entry naming its platform; anyone else: 403."""
    form = await request.post()
    action = form.get("action")
    note = clean_input(str(form.get("note") or ""))[:NOTE_LIMIT]
    if not isinstance(action, str) or action not in ACTIONS:
        return auth.refusal(request, 400, "无效的操作。")
    if not viewer.scope.may_check_platforms:
        return await auth.forbidden(request, "只有高校院所账号可以确认平台。")
    entry_id = _entry_id(request)
    updated = await auth.repo(request).set_platform_check(
        viewer.scope, entry_id, ACTIONS[action], viewer.account.name, note
    )
    if updated is None:
        await auth.audit(request, "entry_refused", target=f"entry:{entry_id}")
        return auth.refusal(request, 403, NOT_FOUND)
    await auth.audit(
        request,
        f"platform_{action}",
        target=f"entry:{entry_id}",
        detail=f"{updated.university} / {updated.platform_name} / {updated.project_name}"
        + (f"；备注：{note}" if note else ""),
    )
    raise web.HTTPSeeOther(f"/admin/entries/{entry_id}?done={action}")


def register(app: web.Application) -> None:
    app.router.add_get("/admin/entries", entries)
    app.router.add_get("/admin/entries/{entry_id}", entry)
    app.router.add_post("/admin/entries/{entry_id}/check", check)
