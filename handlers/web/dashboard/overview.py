"""总览 (/admin/): the cycle week and the next deadline, this quarter's entries by university and by
district (within the account's scope), who has not filed yet, and (admins) one button that reminds
exactly those people through the broadcast outbox (`create_broadcast`; the sender worker delivers it)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from aiohttp import web

from handlers.web.dashboard import auth
from handlers.web.dashboard.render import render
from policies import cycle
from policies.records import Subscriber
from policies.scopes import ADMIN
from policies.validators import clean_input
from storage.dashboard import Lapsed

REMIND_LIMIT = 2000  # characters of a reminder text
DASHBOARD_SENDER = 0  # broadcasts.created_by of dashboard broadcasts (the audit log names the account)
SHOWN = 200  # rows of each "not filed" list shown on the page (the count is always complete)


@dataclass(frozen=True)
class Period:
    """Where today is in the programme's cycle."""

    today: dt.date
    quarter: str  # the quarter whose list is open (entries filed today go there)
    previous: str
    cycle_quarter: str | None
    week: int | None
    deadline: cycle.Deadline

    @property
    def quarter_name(self) -> str:
        return cycle.quarter_name(self.quarter)

    @property
    def previous_name(self) -> str:
        return cycle.quarter_name(self.previous)

    @property
    def days_left(self) -> int:
        return (self.deadline.date - self.today).days


def period(request: web.Request) -> Period:
    svc = auth.state(request).svc
    today = svc.settings.today()
    facts = svc.policies.base.dated_facts
    quarter = cycle.filing_quarter(today, facts).quarter
    position = cycle.cycle_position(today)
    return Period(
        today=today,
        quarter=quarter,
        previous=cycle.previous_quarter(quarter),
        cycle_quarter=position[0] if position else None,
        week=position[1] if position else None,
        deadline=cycle.next_deadline(today, facts),
    )


async def not_filed(
    request: web.Request, viewer: auth.Viewer, when: Period
) -> tuple[list[Lapsed], list[Subscriber]]:
    """Enterprises in scope that filed last quarter but not this one; (admins) subscribers who never filed."""
    repo = auth.repo(request)
    lapsed = await repo.lapsed_enterprises(viewer.scope, when.quarter, when.previous)
    never = await repo.never_filed_subscribers() if viewer.is_admin else []
    return lapsed, never


def default_reminder(when: Period) -> str:
    return (
        f"【结对共建提醒】{when.quarter_name}的《科创平台产学研结对共建项目清单》已开始填报，"
        f"截止日期为{cycle.format_date(when.deadline.date)}。贵单位尚未填报，请尽快在本助手中点击“填报项目”完成填报；"
        "如有疑问，可直接在此提问。"
    )


@auth.require()
async def overview(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    when = period(request)
    by_university, by_district = await auth.repo(request).entry_counts(viewer.scope, when.quarter)
    lapsed, never = await not_filed(request, viewer, when)
    recipients = len({u for item in lapsed for u in item.user_ids} | {s.user_id for s in never})
    context = {
        "when": when,
        "deadline_text": cycle.format_date(when.deadline.date),
        "extended_text": cycle.format_date(when.deadline.extended_date),
        "by_university": by_university,
        "by_district": by_district,
        "total": sum(n for _, n in by_university),
        "lapsed": lapsed[:SHOWN],
        "lapsed_count": len(lapsed),
        "never": never[:SHOWN],
        "never_count": len(never),
        "recipients": recipients,
        "reminder": default_reminder(when),
        "nonce": secrets.token_urlsafe(12),
        "sent": sent if (sent := request.query.get("sent", "")).isdigit() or sent == "again" else "",
    }
    return render(request, "dashboard/overview.html", context, title="总览")


@auth.require(ADMIN)
async def remind(request: web.Request, viewer: auth.Viewer) -> web.StreamResponse:
    """One broadcast to exactly the people the overview lists as not filed (computed again now, never
    taken from the form). The nonce makes a double submit one broadcast."""
    form = await request.post()
    raw_text, nonce = form.get("text"), form.get("nonce")
    text = clean_input(raw_text if isinstance(raw_text, str) else "")
    if not text or len(text) > REMIND_LIMIT:
        return auth.refusal(request, 400, f"提醒内容不能为空，且不超过 {REMIND_LIMIT} 字。")
    if not isinstance(nonce, str) or not nonce.isascii() or not 8 <= len(nonce) <= 40:
        return auth.refusal(request, 400, "页面已过期，请刷新后重试。")
    when = period(request)
    lapsed, never = await not_filed(request, viewer, when)
    user_ids = sorted({u for item in lapsed for u in item.user_ids} | {s.user_id for s in never})
    if not user_ids:
        return auth.refusal(request, 400, "目前没有需要提醒的对象。")
    created = await auth.repo(request).create_broadcast(
        text, DASHBOARD_SENDER, user_ids, dedupe_key=f"dashboard-remind:{nonce}"
    )
    if created is None:  # the same form submitted twice
        raise web.HTTPSeeOther("/admin/?sent=again")
    await auth.audit(
        request,
        "broadcast",
        target=f"broadcast:{created.id}",
        detail=f"未填报提醒 {when.quarter}：{len(user_ids)} 位接收人"
        f"（企业 {len(lapsed)}，从未填报 {len(never)}）",
    )
    raise web.HTTPSeeOther(f"/admin/?sent={created.id}")


def register(app: web.Application) -> None:
    app.router.add_get("/admin/", overview)
    app.router.add_post("/admin/remind", remind)
