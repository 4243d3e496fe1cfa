"""导出 (/admin/exports): the CLI's exports (`storage.exports.export`) as downloads, within the account's
scope: a university gets its own 清单 only; a district one package per enterprise and the 管理台账 of its
enterprises; an admin everything, the 榜单 included. A kind outside the role, or a `university` parameter
naming another university, is a 403; nothing outside the scope is ever read (`repo.scoped(scope)`)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any, cast

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.overview import period
from handlers.web.dashboard.render import render
from policies import scopes
from policies.cycle import QuarterError, parse_quarter
from policies.scopes import Scope
from storage.exports import ExportError, bundle, export, quarter_label

KIND_LABELS = {
    "university": "各高校院所清单（一校一表）",
    "enterprise": "按企业打包（一企一包）",
    "ledger": "管理台账（含变更记录）",
    "leaderboard": "榜单",
}
MIME = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv; charset=utf-8",
    ".zip": "application/zip",
}


@auth.require()
async def exports_page(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    facets = await auth.repo(request).entry_facets(viewer.scope)
    current = period(request).quarter
    quarters = facets.quarters if current in facets.quarters else [current, *facets.quarters]
    context = {
        "kinds": [(k, KIND_LABELS[k]) for k in viewer.scope.exports],
        "quarters": quarters,
        "current": current,
        "universities": facets.universities if viewer.is_admin else [],
    }
    return render(request, "dashboard/exports.html", context, title="导出")


def _export_scope(viewer: auth.Viewer, by: str, university: str) -> Scope | None:
    """The scope the file is made in, or None when the request asks beyond the account's scope."""
    if not viewer.scope.may_export(by):
        return None
    if not university:
        return viewer.scope
    if by != "university":
        return None
    if viewer.is_admin:
        return Scope(scopes.UNIVERSITY, university=university)
    if viewer.scope.role == scopes.UNIVERSITY and scopes.key(university) == scopes.key(
        viewer.scope.university
    ):
        return viewer.scope
    return None


@auth.require()
async def download(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    by = request.query.get("by", "")
    fmt = request.query.get("fmt", "xlsx")
    quarter = request.query.get("quarter", "").strip().upper() or None
    university = " ".join(request.query.get("university", "").split())[:100]
    scope = _export_scope(viewer, by, university)
    if scope is None:
        await auth.audit(request, "export_refused", target=f"{by}:{quarter or '全部'}", detail=university)
        return auth.refusal(request, 403, "您的账号无权导出此内容。")
    if fmt not in ("xlsx", "csv"):
        return auth.refusal(request, 400, "文件格式只能是 xlsx 或 csv。")
    if quarter is not None:
        try:
            parse_quarter(quarter)
        except QuarterError:
            return auth.refusal(request, 400, "季度格式不对，应为 2026Q4 这样的形式。")
    if by == "leaderboard" and quarter is None:
        return auth.refusal(request, 400, "导出榜单需要选择季度。")
    repo = auth.repo(request)
    source: Any = repo if by == "leaderboard" else repo.scoped(scope)
    work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="dashboard-export-"))
    try:
        try:
            result = await export(
                source, by=cast(Any, by), quarter=quarter, fmt=cast(Any, fmt), out=work / "out"
            )
        except ExportError as exc:
            return auth.refusal(request, 400, str(exc))
        if not result.paths:
            return auth.refusal(request, 404, "所选范围内没有可导出的记录。")
        if len(result.paths) == 1:
            path = result.paths[0]
        else:
            name = f"{quarter_label(quarter)}_{KIND_LABELS[by]}.zip"
            path = await asyncio.to_thread(bundle, result.paths, work / name)
        data = await asyncio.to_thread(path.read_bytes)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)
    from handlers.web.app import content_disposition  # here: app imports this package

    await auth.audit(
        request,
        "export",
        target=f"{by}:{quarter or '全部'}:{fmt}",
        detail=f"{path.name}；{result.rows} 行；范围：{scope.label}",
    )
    return web.Response(
        body=data,
        content_type=MIME.get(path.suffix, "application/octet-stream").split(";")[0],
        charset="utf-8" if path.suffix == ".csv" else None,
        headers={"Content-Disposition": content_disposition(path.name), "Cache-Control": "private, no-store"},
    )


def register(app: web.Application) -> None:
    app.router.add_get("/admin/exports", exports_page)
    app.router.add_get("/admin/exports/download", download)
