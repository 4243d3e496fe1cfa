"""Which reminder goes when, and to whom: the secretariat's six-week cycle as dated messages.

Pure: computed from `PolicyBase.cycle` (each week's reminder audience and wording) and the
quarter rules in `policies.cycle`. Every reminder goes at 09:00 Asia/Shanghai:

* week N (1..6) reminders on week N's Monday, for weeks whose `reminder_audience` is set; the
  enterprise reminders of weeks 2-3 always state the deadline; week 6 carries the leaderboard,
  which the sender renders at send time (`PlannedReminder.leaderboard`);
* deadline reminders 3 days and 1 day before the week-3 deadline (or the DatedFact that
  overrides it), only for enterprises that have not filed this quarter (`only_unfiled`).

`dedupe_key` ("<id>:<quarter>") makes each reminder go once per quarter, across restarts.
A reminder missed while the bot was down is still due until `expires` (the end of its week, or
the next deadline reminder / the deadline itself), never later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from policies.cycle import (
    CYCLE_WEEKS,
    SUBMISSION_WEEK,
    WEEKDAYS,
    cycle_position,
    deadline,
    format_date,
    next_quarter,
    quarter_name,
    quarter_of,
    quarter_start,
    week_of,
    week_start,
)
from policies.models import CycleWeek, PolicyBase
from policies.settings import TIMEZONE

SEND_TIME = dt.time(9, 0)
LEADERBOARD_WEEK = CYCLE_WEEKS
DEADLINE_REMINDER_DAYS = (3, 1)

AUDIENCE_ENTERPRISE = "enterprise"
AUDIENCE_UNIVERSITY = "university"
AUDIENCE_ALL = "all"
AUDIENCE_LABELS = {
    AUDIENCE_ENTERPRISE: "企业",
    AUDIENCE_UNIVERSITY: "高校院所（线下通知，不经本助手发送）",
    AUDIENCE_ALL: "全部订阅者",
}

DEADLINE_NOTE = "（{quarter}清单提交截止日期：{deadline}{extension}）"
EXTENSION_NOTE = "，如需延期请联系秘书处，最晚可延至{extended_deadline}"
DEADLINE_REMINDER_TEXT = (
    "【截止提醒】{quarter}《科创平台产学研结对共建项目清单》将于{deadline}截止提交，还剩{days}天。"
    "您本季度还没有通过本助手填报结对共建项目，请尽快点击“填报结对项目”完成填报；"
    "如需延期，请联系高校理事会秘书处 {phone}。"
)
LEADERBOARD_PLACEHOLDER = "{leaderboard}"


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder message for one quarter. `text` is final except for the leaderboard."""

    id: str  # "week2", "deadline-3"
    quarter: str
    when: dt.datetime  # aware, Asia/Shanghai 09:00
    audience: str  # "enterprise" | "university" | "all"
    text: str
    expires: dt.date  # not sent on or after this day (a missed reminder goes late, never stale)
    week: int | None = None  # cycle week the reminder falls in
    only_unfiled: bool = False  # deadline reminders skip users who already filed `quarter`
    leaderboard: bool = False  # week 6: append the rendered leaderboard at send time

    @property
    def dedupe_key(self) -> str:
        return f"{self.id}:{self.quarter}"

    @property
    def sent_by_bot(self) -> bool:
        """Universities are not bot users; their reminders are listed, not sent."""
        return self.audience in (AUDIENCE_ENTERPRISE, AUDIENCE_ALL)

    def render(self, leaderboard: str | None = None) -> str:
        """The text to send; `leaderboard` fills the placeholder or is appended."""
        if not self.leaderboard:
            return self.text
        board = leaderboard or ""
        if LEADERBOARD_PLACEHOLDER in self.text:
            return self.text.replace(LEADERBOARD_PLACEHOLDER, board).strip()
        return f"{self.text}\n\n{board}".strip()

    def is_due(self, today: dt.date) -> bool:
        return self.when.date() <= today < self.expires


class _Fields(dict[str, str]):
    """format_map mapping that leaves unknown {names} as they are."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, fields: Mapping[str, str]) -> str:
    try:
        return template.format_map(_Fields(fields))
    except (ValueError, IndexError):  # stray braces in curated text: send it verbatim
        return template


def _at_nine(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, SEND_TIME, tzinfo=TIMEZONE)


def planned_reminders(base: PolicyBase, quarter: str) -> list[PlannedReminder]:
    """Every reminder of `quarter`'s cycle, in sending order."""
    due = deadline(quarter, base.dated_facts)
    fields = {
        "quarter": quarter_name(quarter),
        "deadline": format_date(due.date),
        "extended_deadline": format_date(due.extended_date),
        "phone": base.secretariat_phone,
        "leaderboard": LEADERBOARD_PLACEHOLDER,
    }
    fields["extension"] = _fill(EXTENSION_NOTE, fields) if due.extendable else ""
    reminders = [_week_reminder(w, quarter, fields) for w in base.cycle if w.reminder_audience]
    for days in DEADLINE_REMINDER_DAYS:
        send_on = due.date - dt.timedelta(days=days)
        later = [d for d in DEADLINE_REMINDER_DAYS if d < days]
        expires = due.date - dt.timedelta(days=max(later)) if later else due.date + dt.timedelta(days=1)
        reminders.append(
            PlannedReminder(
                id=f"deadline-{days}",
                quarter=quarter,
                when=_at_nine(send_on),
                audience=AUDIENCE_ENTERPRISE,
                text=_fill(DEADLINE_REMINDER_TEXT, {**fields, "days": str(days)}),
                expires=expires,
                week=week_of(send_on),
                only_unfiled=True,
            )
        )
    return sorted(reminders, key=lambda r: (r.when, r.id))


def _week_reminder(week: CycleWeek, quarter: str, fields: Mapping[str, str]) -> PlannedReminder:
    monday = week_start(quarter, week.week)
    template = week.reminder_text or f"【{fields['quarter']}第{week.week}周 {week.title}】{week.action}"
    mentions_deadline = "{deadline}" in template
    text = _fill(template, fields)
    if (
        week.reminder_audience in (AUDIENCE_ENTERPRISE, AUDIENCE_ALL)
        and 2 <= week.week <= SUBMISSION_WEEK
        and not mentions_deadline
    ):
        text += _fill(DEADLINE_NOTE, fields)
    return PlannedReminder(
        id=f"week{week.week}",
        quarter=quarter,
        when=_at_nine(monday),
        audience=week.reminder_audience,
        text=text,
        expires=monday + dt.timedelta(days=7),
        week=week.week,
        leaderboard=week.week == LEADERBOARD_WEEK,
    )


def _quarters_from(day: dt.date) -> Iterator[str]:
    quarter = quarter_of(day)
    while True:
        yield quarter
        quarter = next_quarter(quarter)


def due_reminders(base: PolicyBase, today: dt.date) -> list[PlannedReminder]:
    """Reminders that should have gone by `today` and are not stale yet (catch-up included).

    Week 1 of the next quarter may begin before that quarter does, so both are looked at.
    """
    quarters = (quarter_of(today), next_quarter(quarter_of(today)))
    return [r for q in quarters for r in planned_reminders(base, q) if r.is_due(today)]


def upcoming(base: PolicyBase, today: dt.date, horizon_days: int) -> list[PlannedReminder]:
    """Reminders planned from `today` to `today + horizon_days` inclusive, in order."""
    end = today + dt.timedelta(days=horizon_days)
    found: list[PlannedReminder] = []
    # A quarter's week 1 can begin up to 6 days before the quarter does.
    for quarter in _quarters_from(today):
        if quarter_start(quarter) - dt.timedelta(days=7) > end:
            break
        found.extend(r for r in planned_reminders(base, quarter) if today <= r.when.date() <= end)
    return sorted(found, key=lambda r: (r.when, r.id))


def describe(reminder: PlannedReminder) -> str:
    """One line for `python bot.py schedule`: date, weekday, week, audience, text."""
    day = reminder.when.date()
    week = f"{reminder.quarter} 第{reminder.week}周" if reminder.week else reminder.quarter
    audience = AUDIENCE_LABELS.get(reminder.audience, reminder.audience)
    if reminder.only_unfiled:
        audience += "（本季度未填报者）"
    text = " ".join(reminder.text.replace(LEADERBOARD_PLACEHOLDER, "").split())
    if reminder.leaderboard:
        text += " [附本季度贡献度榜单]"
    return f"{day.isoformat()} {WEEKDAYS[day.weekday()]} {reminder.when:%H:%M}  {week}  {audience}  {text}"


def format_upcoming(base: PolicyBase, today: dt.date, horizon_days: int) -> str:
    """The `python bot.py schedule` listing."""
    reminders = upcoming(base, today, horizon_days)
    if not reminders:
        return f"未来 {horizon_days} 天内没有计划发送的提醒。"
    header = f"{format_date(today)}起 {horizon_days} 天内的提醒（每天 09:00 北京时间发送）："
    return "\n".join([header, *(describe(r) for r in reminders)])


# -- the dashboard's 群发与提醒 page: what has gone out ----------------------------------------------------
CATALOGUE_WEEK = 1  # universities publish (and update) their platform lists in week 1


@dataclass(frozen=True)
class ScheduleLine:
    """One planned reminder of a quarter and what became of it. `sent_id`: its broadcast, when created."""

    reminder: PlannedReminder
    state: str  # 已发送 / 发送中 / 待发送 / 计划中 / 未发送（已过期） / 线下通知
    sent_id: int | None = None
    recipients: int = 0
    left: int = 0


def schedule_status(
    base: PolicyBase, quarter: str, today: dt.date, created: Mapping[str, tuple[int, Mapping[str, int]]]
) -> list[ScheduleLine]:
    """`quarter`'s reminders with their state on `today`; `created` maps a dedupe key to the broadcast
    made for it: (id, outbox status -> count)."""
    lines = []
    for r in planned_reminders(base, quarter):
        found = created.get(r.dedupe_key)
        if found is not None:
            sent_id, totals = found
            left = totals.get("pending", 0) + totals.get("sending", 0)
            lines.append(ScheduleLine(r, "发送中" if left else "已发送", sent_id, sum(totals.values()), left))
        elif not r.sent_by_bot:
            lines.append(
                ScheduleLine(r, "线下通知" + ("；仪表盘提示更新平台目录" if r.week == CATALOGUE_WEEK else ""))
            )
        elif r.is_due(today):
            lines.append(ScheduleLine(r, "待发送"))
        elif today >= r.expires:
            lines.append(ScheduleLine(r, "未发送（已过期）"))
        else:
            lines.append(ScheduleLine(r, "计划中"))
    return lines


def catalogue_week(today: dt.date) -> str | None:
    """The quarter whose week 1 `today` falls in (universities update their platform catalogue), else None."""
    pos = cycle_position(today)
    return pos[0] if pos is not None and pos[1] == CATALOGUE_WEEK else None
