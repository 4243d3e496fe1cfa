"""What the dashboard's 榜单, 群发与提醒 and 平台目录 pages read: the leaderboard per catalogue platform (no
name reconciliation), the trend over quarters, broadcast lists, and a university's catalogue edits."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.leaderboard import restricted
from policies.platform_catalogue import check_platform
from storage import SqlRepository
from storage.dashboard_pages import Delivery, DuplicatePlatform
from storage.errors import NotFound
from storage.exports import collect_leaderboard, collect_trend
from tests.platforms_support import SPEC, write_csv
from tests.storage.test_exports import make_fields

OUC = "中国海洋大学"
UPC = "中国石油大学（华东）"
Q = "2026Q4"


async def _catalogue(repo: SqlRepository, tmp_path, quarter: str = Q) -> None:  # type: ignore[no-untyped-def]
    from storage.platform_files import import_file

    rows = [
        [OUC, "海洋腐蚀与防护检测中心", "中心", "", "", "", "", "陈老师", "0532 8000 0401", ""],
        [UPC, "油气储运安全重点实验室", "重点实验室", "", "", "", "", "李老师", "0532-80000102", ""],
    ]
    report = await import_file(repo, write_csv(tmp_path / f"{quarter}.csv", rows), spec=SPEC, quarter=quarter)
    assert report.check.ok, report.check.errors


async def test_linked_entries_count_for_their_catalogue_platform_whatever_the_spelling(
    repo: SqlRepository, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    await _catalogue(repo, tmp_path)
    for n, spelling in enumerate(("海洋腐蚀与防护检测中心", "海洋腐蚀与防护 检测中心", "ＡＢ测试平台")):
        await repo.create_entry(
            n + 1, Q, make_fields(OUC, f"企业{n}", f"91370211MA3C{n}XXX1", f"项目{n}", platform_name=spelling)
        )
    board = await collect_leaderboard(repo, Q)
    names = {(r.item.name, r.item.entries) for r in board.platforms}
    # the two spellings of the catalogue platform are one row under its catalogue name
    assert ("海洋腐蚀与防护检测中心", 2) in names
    assert ("ＡＢ测试平台", 1) in names
    assert len(board.platforms) == 2
    linked = next(r.item for r in board.platforms if r.item.entries == 2)
    assert linked.platform_key and linked.university == OUC


async def test_a_renamed_platform_keeps_its_entries_under_the_new_name(repo: SqlRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await _catalogue(repo, tmp_path)
    await repo.create_entry(1, Q, make_fields(OUC, platform_name="海洋腐蚀与防护检测中心"))
    platform = next(p for p in await repo.catalogue_of(lambda u: u == OUC))
    changed, problems = check_platform(
        {"university": OUC, "name": "海洋腐蚀防护中心", "type": "中心", "contact_phone": "0532 8000 0401"},
        spec=SPEC,
        quarter=Q,
        university=OUC,
    )
    assert changed is not None and not problems
    await repo.update_platform(platform.id, changed)
    board = await collect_leaderboard(repo, Q)
    assert [(r.item.name, r.item.entries) for r in board.platforms] == [("海洋腐蚀防护中心", 1)]


async def test_trend_equals_each_quarters_leaderboard(repo: SqlRepository) -> None:
    old = await repo.create_entry(1, "2026Q3", make_fields(status="洽谈中"))
    await repo.carry_forward(old.id, Q, 1, {"status": "已签约"})
    await repo.create_entry(2, Q, make_fields(OUC, "乙公司", "91370211MA3C0XXX1", "新项目"))
    await repo.create_entry(3, "2026Q2", make_fields(OUC, "丙公司", "91370211MA3C1XXX1", "旧项目"))
    quarters = ["2026Q2", "2026Q3", Q]
    trend = await collect_trend(repo, quarters)
    assert [b.quarter for b in trend] == quarters
    for board in trend:
        assert board == await collect_leaderboard(repo, board.quarter)
    assert [b.entries for b in trend] == [1, 1, 2]
    assert await repo.entry_quarters() == quarters


async def test_a_university_sees_only_its_own_rows_with_their_overall_rank(repo: SqlRepository) -> None:
    await repo.create_entry(1, Q, make_fields(OUC, "甲", "91370211MA3C0XXX1", "一", status="已签约"))
    await repo.create_entry(2, Q, make_fields(UPC, "乙", "91370211MA3C1XXX1", "二", status="洽谈中"))
    board = await collect_leaderboard(repo, Q)
    mine = restricted(board, lambda name: name == UPC)
    assert [(r.rank, r.item.name) for r in mine.universities] == [(2, UPC)]
    assert {r.item.university for r in mine.platforms} == {UPC}
    assert mine.entries == 1 and mine.signed == 0


async def test_catalogue_add_edit_retire(repo: SqlRepository, tmp_path) -> None:  # type: ignore[no-untyped-def]
    await _catalogue(repo, tmp_path)
    assert await repo.catalogue_quarter(OUC, "2027Q1") == Q
    assert await repo.catalogue_quarter("青岛理工大学", "2027Q1") == "2027Q1"
    new, problems = check_platform(
        {"name": "海洋药物中试验证平台", "type": "中试平台", "contact_phone": "13800000402"},
        spec=SPEC,
        quarter=Q,
        university=OUC,
    )
    assert new is not None and not problems
    added = await repo.add_platform(new)
    assert added.id and added.university == OUC and added.type == "中试验证平台"
    with pytest.raises(DuplicatePlatform):
        await repo.add_platform(new)
    # an entry filed earlier naming the new platform is linked when the platform is added
    entry = await repo.create_entry(5, Q, make_fields(OUC, platform_name="海洋药物中试验证平台"))
    assert entry.platform_id == added.id
    assert (await repo.entries_per_platform([added.key])) == {added.key: 1}
    retired = await repo.retire_platform(added.id)
    assert retired.retired
    assert added.id not in {p.id for p in await repo.current_platforms()}
    assert added.id in {p.id for p in await repo.catalogue_of(lambda u: u == OUC)}
    assert (await repo.get_entry(entry.id)).platform_id == added.id  # type: ignore[union-attr]
    back = await repo.retire_platform(added.id, retired=False)
    assert not back.retired and added.id in {p.id for p in await repo.current_platforms()}
    with pytest.raises(NotFound):
        await repo.retire_platform(10**6)
    assert [p.university for p in await repo.catalogue_of(lambda u: u == UPC)] == [UPC]
    assert {p.university for p in await repo.catalogue_of(None)} == {OUC, UPC}


def test_bad_platform_fields_say_which_field_and_why() -> None:
    platform, problems = check_platform(
        {"name": "X", "type": "宇宙站", "contact_phone": "12", "link": "ftp://x"},
        spec=SPEC,
        quarter=Q,
        university=OUC,
    )
    assert platform is None
    fields = dict(problems)
    assert set(fields) == {"name", "type", "contact_phone", "link"}
    assert "未知的平台类型" in fields["type"]


async def test_broadcast_lists_and_reminders_by_key(repo: SqlRepository) -> None:
    now = dt.datetime.now(dt.UTC)
    for uid in (1, 2, 3):
        await repo.upsert_subscriber(uid, uid, f"用户{uid}")
    first = await repo.create_broadcast("通知一", 7)
    reminder = await repo.create_broadcast("提醒", 0, [1, 2], kind="reminder", dedupe_key=f"week2:{Q}")
    await repo.create_broadcast("上季度提醒", 0, [1], kind="reminder", dedupe_key="week2:2026Q3")
    assert first is not None and reminder is not None
    listed = await repo.recent_broadcasts(10)
    assert [b.text for b in listed] == ["上季度提醒", "提醒", "通知一"]
    assert Delivery.of(listed[-1]) == Delivery(left=3)
    assert [b.text for b in await repo.recent_broadcasts(10, kinds=("broadcast",))] == ["通知一"]
    found = await repo.reminder_broadcasts(Q)
    assert list(found) == [f"week2:{Q}"] and found[f"week2:{Q}"].id == reminder.id
    assert now <= listed[0].created_at
