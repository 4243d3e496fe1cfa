"""The dashboard's reminder schedule: what went out, what is due, what was missed, and week 1's catalogue
reminder for the universities."""

from __future__ import annotations

import datetime as dt

from policies.schedule import catalogue_week, schedule_status
from tests.policies.test_schedule import BASE


def test_each_reminder_has_its_state_on_the_day() -> None:
    today = dt.date(2026, 10, 13)  # week 3 of 2026Q4, the day of deadline-3
    created = {
        "week2:2026Q4": (7, {"sent": 40, "failed": 1}),
        "deadline-3:2026Q4": (9, {"pending": 5, "sent": 2}),
    }
    lines = {line.reminder.id: line for line in schedule_status(BASE, "2026Q4", today, created)}
    assert lines["week1"].state == "线下通知；仪表盘提示更新平台目录"
    assert (lines["week2"].state, lines["week2"].sent_id, lines["week2"].recipients) == ("已发送", 7, 41)
    assert lines["week3"].state == "待发送"  # due this week, not created yet
    assert (lines["deadline-3"].state, lines["deadline-3"].left) == ("发送中", 5)
    assert lines["deadline-1"].state == "计划中"
    assert lines["week5"].state == "计划中"
    later = {
        line.reminder.id: line.state for line in schedule_status(BASE, "2026Q4", dt.date(2026, 11, 30), {})
    }
    assert later["week2"] == "未发送（已过期）"


def test_the_catalogue_week_is_week_one_of_a_cycle() -> None:
    assert catalogue_week(dt.date(2026, 9, 28)) == "2026Q4"  # Monday of 2026Q4's week 1, still in Q3
    assert catalogue_week(dt.date(2026, 10, 4)) == "2026Q4"
    assert catalogue_week(dt.date(2026, 10, 5)) is None
