"""The quarterly six-week cycle as dates (docs/DESIGN.md, "Quarter and cycle rule").

A quarter is a calendar quarter written "2026Q4". Week N of a quarter is the Monday-based
calendar week, week 1 being the week that contains the quarter's first day (so week 1 may start
a few days before the quarter). Enterprises submit in week 3; the deadline is the Friday of
week 3, extendable by one week on request. A DatedFact of kind "deadline" for a quarter
overrides the computed date (it is what the source documents actually published). After the
extended deadline the quarter's lists have gone back to the universities, so an entry filed
then belongs on the next quarter's list (`filing_quarter`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from policies.models import DatedFact

CYCLE_WEEKS = 6
SUBMISSION_WEEK = 3
DEFAULT_EXTENSION_DAYS = 7
WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

_QUARTER_RE = re.compile(r"^(\d{4})Q([1-4])$")


class QuarterError(ValueError):
    """A quarter label is not of the form 2026Q4."""


@dataclass(frozen=True)
class Deadline:
    """When enterprises must submit their lists for `quarter`; `extended_date` is the latest
    date on request (equal to `date` when the deadline cannot be extended)."""

    date: dt.date
    extended_date: dt.date
    quarter: str
    fact: DatedFact | None = None  # the published fact this comes from, None when computed

    @property
    def extendable(self) -> bool:
        return self.extended_date > self.date


def parse_quarter(quarter: str) -> tuple[int, int]:
    """'2026Q4' -> (2026, 4)."""
    m = _QUARTER_RE.match(quarter.strip().upper())
    if not m:
        raise QuarterError(f"{quarter!r} is not a quarter like 2026Q4")
    return int(m.group(1)), int(m.group(2))


def quarter_label(year: int, q: int) -> str:
    return f"{year}Q{q}"


def quarter_of(day: dt.date) -> str:
    """The calendar quarter of `day`."""
    return quarter_label(day.year, (day.month - 1) // 3 + 1)


def next_quarter(quarter: str) -> str:
    year, q = parse_quarter(quarter)
    return quarter_label(year + 1, 1) if q == 4 else quarter_label(year, q + 1)


def previous_quarter(quarter: str) -> str:
    year, q = parse_quarter(quarter)
    return quarter_label(year - 1, 4) if q == 1 else quarter_label(year, q - 1)


def quarter_start(quarter: str) -> dt.date:
    year, q = parse_quarter(quarter)
    return dt.date(year, 3 * (q - 1) + 1, 1)


def week_start(quarter: str, n: int) -> dt.date:
    """Monday of week `n` (1-based) of `quarter`."""
    first = quarter_start(quarter)
    monday = first - dt.timedelta(days=first.weekday())
    return monday + dt.timedelta(weeks=n - 1)


def week_range(quarter: str, n: int) -> tuple[dt.date, dt.date]:
    """Monday and Sunday of week `n` of `quarter`."""
    start = week_start(quarter, n)
    return start, start + dt.timedelta(days=6)


def cycle_position(day: dt.date) -> tuple[str, int] | None:
    """(quarter, week) of the cycle `day` falls in, or None between cycles (after week 6).

    The last days of a calendar quarter can already be week 1 of the next quarter's cycle.
    """
    for quarter in (next_quarter(quarter_of(day)), quarter_of(day)):
        week = (day - week_start(quarter, 1)).days // 7 + 1
        if 1 <= week <= CYCLE_WEEKS:
            return quarter, week
    return None


def week_of(day: dt.date) -> int | None:
    """Week 1..6 of the cycle `day` falls in, None after week 6 (see `cycle_position`)."""
    pos = cycle_position(day)
    return pos[1] if pos else None


def cycle_quarter(day: dt.date) -> str:
    """The quarter whose cycle is current on `day`: the next one once its week 1 has begun."""
    pos = cycle_position(day)
    return pos[0] if pos else quarter_of(day)


def deadline(quarter: str, facts: Iterable[DatedFact] = ()) -> Deadline:
    """The submission deadline of `quarter`: a published DatedFact, else the Friday of week 3."""
    parse_quarter(quarter)
    for fact in facts:
        if fact.kind == "deadline" and fact.quarter == quarter:
            return Deadline(fact.date, fact.date + dt.timedelta(days=fact.extension_days), quarter, fact)
    friday = week_start(quarter, SUBMISSION_WEEK) + dt.timedelta(days=4)
    return Deadline(friday, friday + dt.timedelta(days=DEFAULT_EXTENSION_DAYS), quarter)


def next_deadline(today: dt.date, facts: Iterable[DatedFact] = ()) -> Deadline:
    """This cycle's deadline, or the next quarter's once it has passed (extension not counted)."""
    facts = tuple(facts)
    quarter = quarter_of(today)
    current = deadline(quarter, facts)
    return current if today <= current.date else deadline(next_quarter(quarter), facts)


@dataclass(frozen=True)
class Filing:
    """Which quarter's list an entry filed on a given day goes into.

    `missed` is the deadline of the calendar quarter that day falls in when its extended date has
    passed (its lists have gone back to the universities), so the entry goes to the next quarter."""

    quarter: str
    missed: Deadline | None = None

    @property
    def late(self) -> bool:
        return self.missed is not None


def filing_quarter(today: dt.date, facts: Iterable[DatedFact] = ()) -> Filing:
    """The list still open on `today`: this quarter's until its extended deadline (a published
    deadline fact for the quarter decides it), the next quarter's after that."""
    facts = tuple(facts)
    quarter = quarter_of(today)
    closed = deadline(quarter, facts)
    if today <= closed.extended_date:
        return Filing(quarter)
    return Filing(next_quarter(quarter), closed)


def format_date(day: dt.date, with_year: bool = True) -> str:
    """'2026年10月16日' (or '10月16日')."""
    return f"{day.year}年{day.month}月{day.day}日" if with_year else f"{day.month}月{day.day}日"


def format_range(start: dt.date, end: dt.date) -> str:
    """'2026年10月26日—11月1日'; the year is repeated only when it changes."""
    return f"{format_date(start)}—{format_date(end, with_year=end.year != start.year)}"


def quarter_name(quarter: str) -> str:
    """'2026Q4' -> '2026年第四季度'."""
    year, q = parse_quarter(quarter)
    return f"{year}年第{'一二三四'[q - 1]}季度"
