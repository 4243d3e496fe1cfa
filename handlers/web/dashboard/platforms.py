"""平台目录 (/admin/platforms): a university keeps its own platform catalogue up to date between the
quarterly imports; admins keep every university's.

    GET  /admin/platforms[?university=]         the current catalogue, entries naming each platform
    GET  /admin/platforms/new, POST             add a platform
    GET  /admin/platforms/{id}/edit, POST       edit one
    POST /admin/platforms/{id}/retire           retire (停用) or bring back (恢复) one

Every platform is checked by the importer's own rules (`policies.platform_catalogue.check_platform`: the
form's university and type lists, the phone check, lengths, the link), and goes to the university's
current catalogue version (`storage.dashboard_pages`), where 找平台 and the form's pick list find it. A
retired platform keeps the entries linked to it. A university account reaches only its own platforms: an
id of another university's platform is refused (403) like one that does not exist.

In week 1 of each cycle, when universities publish their lists, a university account sees a banner here
and on 总览 asking it to update its catalogue (`catalogue_banner`, a template global).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies.cycle import cycle_quarter, quarter_name
from policies.platform_catalogue import (
    COLUMNS,
    MAX_LENGTHS,
    TEMPLATE_FIELDS,
    check_platform,
    header_of,
    platform_types,
    resolve_university,
)
from policies.records import F_UNIVERSITY, Platform
from policies.schedule import catalogue_week
from policies.scopes import ADMIN, UNIVERSITY, Scope
from policies.validators import OTHER, ValidationError, clean_input
from storage.dashboard_pages import DuplicatePlatform
from storage.errors import NotFound

MAX_ID = 2**31 - 1
LONG_FIELDS = ("introduction", "intentions", "services")
NOT_YOURS = "没有找到这个平台，或您的账号无权修改它。"


def catalogue_banner(scope: Scope | None, today: Any) -> str | None:
    """The week-1 reminder a university account sees on 总览 and 平台目录, else None."""
    if scope is None or scope.role != UNIVERSITY:
        return None
    quarter = catalogue_week(today)
    if quarter is None:
        return None
    return (
        f"本周是{quarter_name(quarter)}结对共建周期第 1 周（高校发布清单）：请更新本校的科创平台目录"
        "（新增、修改或停用平台），企业“找平台”和填报时将据此选择平台。"
    )


def _today(request: web.Request) -> Any:
    return auth.state(request).svc.settings.today()


def _spec(request: web.Request) -> Any:
    return auth.state(request).svc.flow.spec


def _universities(request: web.Request) -> list[str]:
    field = _spec(request).get(F_UNIVERSITY)
    return [c for c in field.choices if c != OTHER] if field else []


async def _own(request: web.Request, viewer: auth.Viewer) -> Platform | None:
    """The platform named by the URL when the viewer may change it, else None (missing or not theirs)."""
    raw = request.match_info["platform_id"]
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        return None
    found = (await auth.repo(request).platform_rows([int(raw)])).get(int(raw))
    if found is None or not viewer.scope.sees(found.university, None):  # an admin's scope sees all
        return None
    return found


@auth.require(ADMIN, UNIVERSITY)
async def catalogue(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    repo = auth.repo(request)
    picked = request.query.get("university", "").strip()[:100] if viewer.is_admin else ""
    scope = viewer.scope

    def mine(university: str) -> bool:
        if not viewer.is_admin:
            return scope.sees(university, None)
        return not picked or university == picked

    platforms = await repo.catalogue_of(mine)
    counts = await repo.entries_per_platform(sorted({p.key for p in platforms}))
    everyone = sorted({p.university for p in await repo.catalogue_of(None)}) if viewer.is_admin else []
    context = {
        "platforms": platforms,
        "counts": counts,
        "universities": everyone,
        "picked": picked,
        "banner": catalogue_banner(scope, _today(request)),
        "done": request.query.get("done", ""),
        "sample_mark": COLUMNS["sample"][0],
    }
    return render(request, "dashboard/platforms.html", context, title="平台目录")


def _form_values(form: Mapping[str, Any]) -> dict[str, str]:
    values = {}
    for fid in TEMPLATE_FIELDS:
        raw = form.get(fid)
        values[fid] = clean_input(raw if isinstance(raw, str) else "").strip()
    return values


def _form_page(
    request: web.Request,
    *,
    values: Mapping[str, str],
    errors: Mapping[str, str],
    platform: Platform | None,
    viewer: auth.Viewer,
    status: int = 200,
) -> web.Response:
    fields = [
        {
            "id": fid,
            "label": header_of(fid),
            "value": values.get(fid, ""),
            "error": errors.get(fid, ""),
            "limit": MAX_LENGTHS.get(fid, 64 if fid == "contact_phone" else 100),
            "long": fid in LONG_FIELDS,
            "required": fid in ("name", "type", "contact_phone"),
        }
        for fid in TEMPLATE_FIELDS
        if fid != "university"
    ]
    context = {
        "fields": fields,
        "types": platform_types(_spec(request)),
        "platform": platform,
        "university": platform.university if platform else viewer.scope.university or "",
        "university_value": values.get("university", ""),
        "university_error": errors.get("university", ""),
        "universities": _universities(request),
        "choose_university": viewer.is_admin and platform is None,
        "general_error": errors.get("", ""),
        "banner": catalogue_banner(viewer.scope, _today(request)),
    }
    title = f"修改平台：{platform.name}" if platform else "新增平台"
    return render(request, "dashboard/platform_form.html", context, title=title, status=status)


def _check(
    request: web.Request, values: dict[str, str], university: str, quarter: str
) -> tuple[Platform | None, dict[str, str]]:
    platform, problems = check_platform(
        {**values, "university": university}, spec=_spec(request), quarter=quarter, university=university
    )
    errors: dict[str, str] = {}
    for fid, why in problems:
        errors.setdefault(fid, why)
    return platform, errors


@auth.require(ADMIN, UNIVERSITY)
async def new_form(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    return _form_page(request, values={}, errors={}, platform=None, viewer=viewer)


@auth.require(ADMIN, UNIVERSITY)
async def add(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    values = _form_values(await request.post())
    if viewer.is_admin:
        try:
            university = resolve_university(values.get("university", ""), _spec(request))
        except ValidationError as exc:
            errors = {"university": "未填写所属高校" if not values.get("university") else exc.message}
            return _form_page(request, values=values, errors=errors, platform=None, viewer=viewer, status=400)
    else:
        university = viewer.scope.university or ""
    repo = auth.repo(request)
    quarter = await repo.catalogue_quarter(university, cycle_quarter(_today(request)))
    platform, errors = _check(request, values, university, quarter)
    if platform is None:
        return _form_page(request, values=values, errors=errors, platform=None, viewer=viewer, status=400)
    try:
        added = await repo.add_platform(platform)
    except DuplicatePlatform:
        errors = {"name": f"{university}的目录中已有“{platform.name}”，请直接修改该平台。"}
        return _form_page(request, values=values, errors=errors, platform=None, viewer=viewer, status=400)
    await auth.audit(
        request, "platform_add", target=f"platform:{added.id}", detail=f"{university}·{added.name}"
    )
    raise web.HTTPSeeOther("/admin/platforms?done=added")


def _values_of(platform: Platform) -> dict[str, str]:
    return {fid: str(getattr(platform, fid)) for fid in TEMPLATE_FIELDS}


@auth.require(ADMIN, UNIVERSITY)
async def edit_form(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    platform = await _own(request, viewer)
    if platform is None:
        return await auth.forbidden(request, NOT_YOURS)
    return _form_page(request, values=_values_of(platform), errors={}, platform=platform, viewer=viewer)


@auth.require(ADMIN, UNIVERSITY)
async def edit(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    platform = await _own(request, viewer)
    if platform is None:
        return await auth.forbidden(request, NOT_YOURS)
    values = _form_values(await request.post())
    checked, errors = _check(request, values, platform.university, platform.quarter)
    if checked is None:
        return _form_page(request, values=values, errors=errors, platform=platform, viewer=viewer, status=400)
    try:
        await auth.repo(request).update_platform(platform.id, checked)
    except DuplicatePlatform:
        errors = {"name": f"{platform.university}的目录中已有“{checked.name}”。"}
        return _form_page(request, values=values, errors=errors, platform=platform, viewer=viewer, status=400)
    except NotFound:
        return auth.refusal(request, 403, NOT_YOURS)
    changed = [header_of(f) for f in TEMPLATE_FIELDS if str(getattr(platform, f)) != str(getattr(checked, f))]
    await auth.audit(
        request,
        "platform_edit",
        target=f"platform:{platform.id}",
        detail=f"{platform.university}·{checked.name}：{'、'.join(changed) or '无变化'}",
    )
    raise web.HTTPSeeOther("/admin/platforms?done=edited")


@auth.require(ADMIN, UNIVERSITY)
async def retire(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    platform = await _own(request, viewer)
    if platform is None:
        return await auth.forbidden(request, NOT_YOURS)
    form = await request.post()
    back = form.get("action") == "restore"
    try:
        await auth.repo(request).retire_platform(platform.id, retired=not back)
    except NotFound:
        return auth.refusal(request, 403, NOT_YOURS)
    action = "platform_restore" if back else "platform_retire"
    await auth.audit(
        request, action, target=f"platform:{platform.id}", detail=f"{platform.university}·{platform.name}"
    )
    raise web.HTTPSeeOther("/admin/platforms?done=" + ("restored" if back else "retired"))


def register(app: web.Application) -> None:
    app.router.add_get("/admin/platforms", catalogue)
    app.router.add_get("/admin/platforms/new", new_form)
    app.router.add_post("/admin/platforms/new", add)
    app.router.add_get(r"/admin/platforms/{platform_id:\d+}/edit", edit_form)
    app.router.add_post(r"/admin/platforms/{platform_id:\d+}/edit", edit)
    app.router.add_post(r"/admin/platforms/{platform_id:\d+}/retire", retire)
    svc = app[auth.DASHBOARD].svc
    aiohttp_jinja2.get_env(app).globals["catalogue_banner"] = lambda viewer: catalogue_banner(
        viewer.scope if viewer else None, svc.settings.today()
    )
