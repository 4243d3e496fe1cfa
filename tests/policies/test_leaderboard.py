"""The week-6 榜单: who counts as new, signed and updated, how ties rank, what the message says."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from policies.leaderboard import FORMULA, compute_leaderboard, render_leaderboard
from policies.records import Entry

Q = "2026Q4"
_ids = itertools.count(1)
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def entry(
    university: str,
    platform: str = "中试平台",
    *,
    status: str = "洽谈中",
    quarter: str = Q,
    origin_id: int | None = None,
    code: str = "913702110000000001",
    project: str | None = None,
    entry_id: int | None = None,
) -> Entry:
    i = next(_ids) if entry_id is None else entry_id
    project = project or f"项目{i}"
    name = "青岛甲科技有限公司"
    return Entry(i, 1, quarter, university, name, code, platform, project, status, {}, NOW, NOW, origin_id)


def test_new_signed_and_updated_are_counted_per_university() -> None:
    board = compute_leaderboard(
        [
            entry("A大学", status="已签约"),  # new + signed
            entry("A大学", status="在建", origin_id=99),  # carried: updated + signed
            entry("A大学"),  # new only
            entry("B大学", status="已完成"),  # new + signed
        ],
        Q,
    )
    a, b = (r.item for r in board.universities)
    assert (a.name, a.new, a.signed, a.updated, a.score) == ("A大学", 2, 2, 1, 2 * 3 + 2 * 2 + 1)
    assert (b.name, b.new, b.signed, b.updated, b.score) == ("B大学", 1, 1, 0, 5)
    assert (board.entries, board.new, board.signed, board.updated) == (4, 3, 3, 1)


def test_refiled_pairing_of_last_quarter_is_an_update_not_new() -> None:
    before = entry("A大学", project="海上风电", quarter="2026Q3")
    again = entry("A大学", project=" 海上风电 ")  # re-filed without origin, spacing differs
    board = compute_leaderboard([again], Q, previous=[before])
    a = board.universities[0].item
    assert (a.new, a.updated) == (0, 1)


def test_a_change_recorded_this_quarter_counts_as_progress() -> None:
    e = entry("A大学")
    board = compute_leaderboard([e], Q, changed_ids={e.id})
    assert board.universities[0].item.updated == 1


def test_entries_of_other_quarters_are_ignored() -> None:
    board = compute_leaderboard([entry("A大学", quarter="2026Q3")], Q)
    assert board.entries == 0 and board.universities == ()


def test_ties_share_a_rank_and_are_listed_by_name() -> None:
    board = compute_leaderboard([entry("乙大学"), entry("甲大学"), entry("丙大学", status="已签约")], Q)
    ranking = [(r.rank, r.item.name) for r in board.universities]
    assert ranking == [(1, "丙大学"), (2, "乙大学"), (2, "甲大学")]


def test_platforms_are_ranked_within_their_university() -> None:
    board = compute_leaderboard(
        [entry("A大学", "实验室"), entry("B大学", "实验室"), entry("B大学", "实验室", status="在建")], Q
    )
    assert [(r.item.name, r.item.university, r.item.score) for r in board.platforms] == [
        ("实验室", "B大学", 8),
        ("实验室", "A大学", 3),
    ]


def test_ranking_does_not_depend_on_input_order() -> None:
    entries = [entry(f"大学{i % 4}", f"平台{i % 3}", status="在建" if i % 2 else "洽谈中") for i in range(20)]
    assert compute_leaderboard(entries, Q) == compute_leaderboard(list(reversed(entries)), Q)


def test_render_titles_the_message_and_shows_the_top_ten() -> None:
    entries = [entry(f"大学{i:02d}", status="已签约") for i in range(12)] + [entry("大学11")]
    lines = render_leaderboard(compute_leaderboard(entries, Q), Q).splitlines()
    assert lines[0].endswith("2026Q4科创平台产学研结对共建新成果和贡献度榜单")
    assert any(FORMULA in line for line in lines)
    start = lines.index("【高校/科研机构 前10名】") + 1
    ranked = list(itertools.takewhile(bool, lines[start:]))
    assert ranked[0] == "1. 大学11  贡献度 8（新增结对 2，已签约 1，进展更新 0）"
    # the eleven tied at 5 share rank 2 and are cut by name after the tenth line
    assert [line.split()[1] for line in ranked] == ["大学11"] + [f"大学{i:02d}" for i in range(9)]
    assert all(line.startswith("2. ") for line in ranked[1:])
    assert "【科创平台 前10名】" in lines and "1. 中试平台（大学11）  贡献度 8" in "\n".join(lines)


@pytest.mark.parametrize("quarter", ["2026Q4", "2025Q2"])
def test_render_empty_board_says_so(quarter: str) -> None:
    text = render_leaderboard(compute_leaderboard([], quarter), quarter)
    assert f"{quarter}科创平台产学研结对共建新成果和贡献度榜单" in text
    assert "暂无" in text
