"""Quarters, the six cycle weeks and submission deadlines as concrete dates."""

from __future__ import annotations

import datetime as dt

import pytest

from policies import cycle
from policies.models import DatedFact

D = dt.date


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (D(2026, 1, 1), "2026Q1"),
        (D(2026, 3, 31), "2026Q1"),
        (D(2026, 4, 1), "2026Q2"),
        (D(2026, 12, 31), "2026Q4"),
    ],
)
def test_quarter_of(day: dt.date, quarter: str) -> None:
    assert cycle.quarter_of(day) == quarter


def test_next_and_previous_quarter_wrap_years() -> None:
    assert cycle.next_quarter("2026Q4") == "2027Q1"
    assert cycle.next_quarter("2026Q1") == "2026Q2"
    assert cycle.previous_quarter("2027Q1") == "2026Q4"


@pytest.mark.parametrize("bad", ["2026Q5", "2026-Q1", "Q1", ""])
def test_bad_quarter_rejected(bad: str) -> None:
    with pytest.raises(cycle.QuarterError):
        cycle.parse_quarter(bad)


def test_week_one_contains_quarter_first_day() -> None:
    # 2026-10-01 is a Thursday: week 1 starts on Monday 2026-09-28.
    assert cycle.week_start("2026Q4", 1) == D(2026, 9, 28)
    assert cycle.week_start("2026Q4", 5) == D(2026, 10, 26)
    assert cycle.week_range("2026Q4", 5) == (D(2026, 10, 26), D(2026, 11, 1))
    # A quarter starting on a Monday: week 1 starts that day.
    assert cycle.week_start("2024Q1", 1) == D(2024, 1, 1)
    # Starting on a Sunday: week 1 is almost entirely in the previous quarter.
    assert cycle.week_start("2023Q1", 1) == D(2022, 12, 26)


def test_published_2025q2_deadline_is_reproduced() -> None:
    d = cycle.deadline("2025Q2")
    assert d.date == D(2025, 4, 18)
    assert d.extended_date == D(2025, 4, 25)
    assert d.date.weekday() == 4


def test_dated_fact_overrides_computed_deadline() -> None:
    fact = DatedFact(id="x", quarter="2026Q4", kind="deadline", date=D(2026, 10, 20), extension_days=0)
    other = DatedFact(id="y", quarter="2026Q4", kind="roadshow", date=D(2026, 10, 30))
    d = cycle.deadline("2026Q4", [other, fact])
    assert d.date == D(2026, 10, 20)
    assert not d.extendable
    assert cycle.deadline("2026Q4", [other]).date == D(2026, 10, 16)


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (D(2026, 9, 28), 1),  # still calendar Q3, but already week 1 of 2026Q4
        (D(2026, 10, 1), 1),
        (D(2026, 10, 16), 3),
        (D(2026, 11, 8), 6),
        (D(2026, 11, 9), None),
        (D(2026, 12, 20), None),
        (D(2026, 12, 31), 1),  # 2027-01-01 is a Friday: week 1 of 2027Q1 starts 2026-12-28
    ],
)
def test_week_of(day: dt.date, week: int | None) -> None:
    assert cycle.week_of(day) == week


def test_cycle_quarter_rolls_over_in_week_one() -> None:
    assert cycle.cycle_quarter(D(2026, 9, 28)) == "2026Q4"
    assert cycle.cycle_quarter(D(2026, 9, 20)) == "2026Q3"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 10, 1), D(2026, 10, 16)),
        (D(2026, 10, 16), D(2026, 10, 16)),
        (D(2026, 10, 17), D(2027, 1, 15)),  # 2027-01-01 is a Friday: week 1 starts 2026-12-28
        (D(2026, 9, 29), D(2026, 10, 16)),
    ],
)
def test_next_deadline(today: dt.date, expected: dt.date) -> None:
    assert cycle.next_deadline(today).date == expected


def test_every_deadline_is_friday_of_week_three() -> None:
    quarter = "2024Q1"
    for _ in range(40):
        d = cycle.deadline(quarter).date
        assert d.weekday() == 4
        assert cycle.week_start(quarter, 3) <= d < cycle.week_start(quarter, 4)
        quarter = cycle.next_quarter(quarter)


def test_formatting() -> None:
    assert cycle.format_date(D(2026, 10, 16)) == "2026年10月16日"
    assert cycle.format_range(D(2026, 10, 26), D(2026, 11, 1)) == "2026年10月26日—11月1日"
    assert cycle.format_range(D(2026, 12, 28), D(2027, 1, 3)) == "2026年12月28日—2027年1月3日"
    assert cycle.quarter_name("2025Q2") == "2025年第二季度"
