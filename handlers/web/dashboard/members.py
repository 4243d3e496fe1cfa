"""成员与审核 (/admin/members): requests to file for an enterprise that wait for approval, and invite codes.

    GET  /admin/members                 pending requests (同意 / 拒绝) and the invite form
    POST /admin/members/decide          approve or reject one request (credit code + user id)
    POST /admin/members/invite          a new invite code for one enterprise, shown once with its links

Admins decide every request; a district office only those of the enterprises registered in its district
(the enterprises with entries there: `storage.dashboard_pages.credit_codes_in`), and may invite to an
enterprise unless it has filed in another district. A request or enterprise outside the scope is refused
with 403, whatever code and user id are posted. The requester is told the outcome in their chat, as when a
member decides there (`MembershipFlow.tell_outcome`), and every decision and invite is audited.
Only the invite's hash is stored (`storage.membership`): the code is shown on this one response and never
again.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.overview import DASHBOARD_SENDER
from handlers.web.dashboard.render import render
from policies.conversation.membership import INVITE_PREFIX
from policies.scopes import ADMIN, DISTRICT
from policies.settings import TIMEZONE
from policies.validators import ValidationError, clean_input, validate_name, validate_uscc
from storage.membership import INVITE_USES

MAX_USER_ID = 2**63 - 1
DEFAULT_DAYS = 30
NOT_YOURS = "没有找到这条申请，或它不属于您的功能区/镇街。"


async def _codes(request: web.Request, viewer: auth.Viewer) -> set[str] | None:
    """The credit codes the viewer decides for: None for an admin (all)."""
    if viewer.is_admin:
        return None
    return await auth.repo(request).credit_codes_in(viewer.scope)


async def _page(
    request: web.Request,
    viewer: auth.Viewer,
    *,
    invite: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    error: str = "",
    done: str = "",
    status: int = 200,
) -> web.Response:
    codes = await _codes(request, viewer)
    pending = await auth.repo(request).pending_members(credit_codes=codes)
    context = {
        "pending": [
            {
                "code": p.credit_code,
                "user_id": p.user_id,
                "enterprise": p.enterprise_name or p.credit_code,
                "name": p.name or "（未提供）",
                "phone": p.phone,
                "at": p.requested_at.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M"),
            }
            for p in pending
        ],
        "invite": invite,
        "form": form or {"days": str(DEFAULT_DAYS), "uses": str(INVITE_USES)},
        "error": error,
        "done": done or request.query.get("done", ""),
    }
    response = render(request, "dashboard/members.html", context, title="成员与审核", status=status)
    return response


@auth.require(ADMIN, DISTRICT)
async def members(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    return await _page(request, viewer)


@auth.require(ADMIN, DISTRICT)
async def decide(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    form = await request.post()
    code = str(form.get("credit_code", ""))[:64]
    raw_user = str(form.get("user_id", ""))
    approve = form.get("decision") == "approve"
    if (
        not raw_user.isdigit()
        or not 0 < int(raw_user) <= MAX_USER_ID
        or form.get("decision")
        not in (
            "approve",
            "reject",
        )
    ):
        return auth.refusal(request, 400, "请求无效，请刷新页面后重试。")
    user_id = int(raw_user)
    repo = auth.repo(request)
    codes = await _codes(request, viewer)
    pending = {(p.credit_code, p.user_id): p for p in await repo.pending_members(credit_codes=codes)}
    request_row = pending.get((code, user_id))
    if request_row is None:
        if codes is not None:  # a district: say nothing about other districts' requests
            return await auth.forbidden(request, NOT_YOURS, target=f"member:{code}:{user_id}")
        raise web.HTTPSeeOther("/admin/members?done=already")
    by = f"account:{viewer.account.name}"
    decided = await (repo.approve_member if approve else repo.reject_member)(code, user_id, by)
    if not decided:
        raise web.HTTPSeeOther("/admin/members?done=already")
    name = request_row.enterprise_name or code
    members_flow = auth.state(request).svc.conversation.members
    await members_flow.tell_outcome(user_id, name, approve, sender=DASHBOARD_SENDER)
    await auth.audit(
        request,
        "member_approve" if approve else "member_reject",
        target=f"member:{code}:{user_id}",
        detail=f"{name}：{request_row.name or '（未提供姓名）'}",
    )
    raise web.HTTPSeeOther("/admin/members?done=" + ("approved" if approve else "rejected"))


def _number(raw: object, low: int, high: int, default: int) -> int | None:
    text = str(raw or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        return None
    return int(text)


@auth.require(ADMIN, DISTRICT)
async def invite(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    form = await request.post()
    typed = {
        k: clean_input(str(form.get(k, ""))).strip()[:100] for k in ("credit_code", "name", "days", "uses")
    }
    try:
        code = validate_uscc(typed["credit_code"])
        name = validate_name(typed["name"], label="企业名称", max_length=100) if typed["name"] else ""
    except ValidationError as exc:
        return await _page(request, viewer, form=typed, error=exc.message, status=400)
    days = _number(typed["days"], 1, 365, DEFAULT_DAYS)
    uses = _number(typed["uses"], 1, 10_000, INVITE_USES)
    if days is None or uses is None:
        error = "有效天数须在 1–365 之间，可用次数须在 1–10000 之间。"
        return await _page(request, viewer, form=typed, error=error, status=400)
    repo = auth.repo(request)
    if not viewer.is_admin and await repo.filed_outside(viewer.scope, code):
        return await auth.forbidden(
            request,
            "该企业已在其他功能区/镇街填报，请由其所在功能区/镇街或秘书处发放邀请码。",
            target=f"invite:{code}",
        )
    plain = await repo.create_invite(code, name, f"account:{viewer.account.name}", days=days, max_uses=uses)
    await auth.audit(
        request, "invite_create", target=f"enterprise:{code}", detail=f"{name or code}，{days} 天，{uses} 人"
    )
    settings = auth.state(request).svc.settings
    shown = {
        "code": plain,
        "credit_code": code,
        "name": name,
        "days": days,
        "uses": uses,
        "telegram": f"https://t.me/{settings.bot_username}?start={INVITE_PREFIX}{plain}"
        if settings.bot_username
        else "",
        "web": f"{settings.web_base()}/?invite={plain}",
    }
    return await _page(request, viewer, invite=shown)


def register(app: web.Application) -> None:
    app.router.add_get("/admin/members", members)
    app.router.add_post("/admin/members/decide", decide)
    app.router.add_post("/admin/members/invite", invite)
