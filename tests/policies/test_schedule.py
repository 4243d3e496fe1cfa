"""The reminder calendar: right day, right audience, deadline stated, once per quarter."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.models import CycleWeek, DatedFact, Document, PolicyBase
from policies.schedule import due_reminders, format_upcoming, planned_reminders, upcoming

CYCLE = (
    CycleWeek(1, "发布清单", ("高校",), "高校发布清单", "s", "university", "请整理发布{quarter}清单。"),
    CycleWeek(
        2, "转发清单", ("秘书处",), "转发至企业", "s", "enterprise", "{quarter}清单已发布，请联系科创平台。"
    ),
    CycleWeek(3, "企业提交", ("企业",), "企业提交", "s", "enterprise", "本周请提交清单，截止{deadline}。"),
    CycleWeek(4, "反馈高校", ("秘书处",), "发至高校", "s"),
    CycleWeek(5, "路演交流", ("秘书处",), "路演", "s", "all", "第五周路演活动报名中。"),
    CycleWeek(6, "发布榜单", ("秘书处",), "榜单", "s", "all", "{quarter}贡献度榜单：\n{leaderboard}"),
)
FACT = DatedFact("q2-2025", "2025Q2", "deadline", dt.date(2025, 4, 18), extension_days=7)
BASE = PolicyBase(documents={"s": Document("s", "公开信")}, faqs=(), cycle=CYCLE, dated_facts=(FACT,))


def by_id(quarter: str) -> dict[str, object]:
    return {r.id: r for r in planned_reminders(BASE, quarter)}


def test_2026q4_calendar_monday_weeks_and_friday_deadline() -> None:
    plan = planned_reminders(BASE, "2026Q4")
    days = {r.id: r.when.date().isoformat() for r in plan}
    # 2026-10-01 is a Thursday: week 1 starts Monday 2026-09-28; deadline Friday 2026-10-16.
    assert days == {
        "week1": "2026-09-28",
        "week2": "2026-10-05",
        "week3": "2026-10-12",
        "deadline-3": "2026-10-13",
        "deadline-1": "2026-10-15",
        "week5": "2026-10-26",
        "week6": "2026-11-02",
    }
    assert all(r.when.hour == 9 and r.when.utcoffset() == dt.timedelta(hours=8) for r in plan)
    assert {r.dedupe_key for r in plan} >= {"week2:2026Q4", "deadline-1:2026Q4"}


def test_enterprise_reminders_in_weeks_2_and_3_state_the_deadline() -> None:
    plan = by_id("2026Q4")
    assert "2026年10月16日" in plan["week2"].text  # appended: the YAML text had no {deadline}
    assert "2026年10月23日" in plan["week2"].text  # the one-week extension
    assert plan["week3"].text == "本周请提交清单，截止2026年10月16日。"
    assert "{" not in plan["week5"].text


def test_dated_fact_overrides_the_computed_deadline() -> None:
    plan = by_id("2025Q2")
    assert plan["week3"].text.endswith("2025年4月18日。")
    assert plan["deadline-3"].when.date() == dt.date(2025, 4, 15)
    assert plan["deadline-1"].when.date() == dt.date(2025, 4, 17)
    assert plan["deadline-1"].only_unfiled and plan["deadline-1"].audience == "enterprise"
    assert "还剩1天" in plan["deadline-1"].text and "13210876217" in plan["deadline-1"].text


def test_university_reminders_are_planned_but_not_sent_by_the_bot() -> None:
    plan = by_id("2026Q4")
    assert plan["week1"].audience == "university" and not plan["week1"].sent_by_bot
    assert plan["week2"].sent_by_bot and plan["week5"].sent_by_bot


def test_week6_leaderboard_is_filled_in_at_send_time() -> None:
    week6 = by_id("2026Q4")["week6"]
    assert week6.leaderboard
    assert week6.render("1. 青岛某高校 5项") == "2026年第四季度贡献度榜单：\n1. 青岛某高校 5项"
    assert by_id("2026Q4")["week5"].render("ignored") == "第五周路演活动报名中。"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2026-09-27", set()),  # Sunday before week 1
        ("2026-09-28", {"week1:2026Q4"}),  # week 1 starts in the previous calendar quarter
        ("2026-10-04", {"week1:2026Q4"}),  # missed Monday: still due that week (catch-up)
        ("2026-10-05", {"week2:2026Q4"}),
        ("2026-10-13", {"week3:2026Q4", "deadline-3:2026Q4"}),
        ("2026-10-14", {"week3:2026Q4", "deadline-3:2026Q4"}),
        ("2026-10-15", {"week3:2026Q4", "deadline-1:2026Q4"}),  # the 3-day one is stale now
        ("2026-10-16", {"week3:2026Q4", "deadline-1:2026Q4"}),
        ("2026-10-17", {"week3:2026Q4"}),
        ("2026-10-19", set()),  # week 4 has no reminder
        ("2026-11-08", {"week6:2026Q4"}),
        ("2026-11-09", set()),
    ],
)
def test_due_reminders_for_today(today: str, expected: set[str]) -> None:
    assert {r.dedupe_key for r in due_reminders(BASE, dt.date.fromisoformat(today))} == expected


def test_upcoming_lists_each_reminder_once_in_order() -> None:
    found = upcoming(BASE, dt.date(2026, 10, 6), 100)
    keys = [r.dedupe_key for r in found]
    assert keys[:4] == ["week3:2026Q4", "deadline-3:2026Q4", "deadline-1:2026Q4", "week5:2026Q4"]
    assert "week1:2027Q1" in keys and len(keys) == len(set(keys))
    assert all(dt.date(2026, 10, 6) <= r.when.date() <= dt.date(2027, 1, 14) for r in found)


def test_format_upcoming_one_line_per_reminder() -> None:
    text = format_upcoming(BASE, dt.date(2026, 10, 12), 7)
    lines = text.splitlines()
    assert len(lines) == 4  # header + week3 + two deadline reminders
    assert lines[1].startswith("2026-10-12 星期一 09:00  2026Q4 第3周  企业  ")
    assert "本季度未填报者" in lines[2]
    empty = format_upcoming(BASE, dt.date(2026, 10, 19), 3)
    assert empty == "未来 3 天内没有计划发送的提醒。"
