"""The platform catalogue import (`bot.py platforms import`): good files, every kind of bad row, nothing
half-imported, the template round trip, quarters as versions that keep old entries' links."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from policies.platform_catalogue import TEMPLATE_FIELDS, header_of
from policies.records import F_PLATFORM_NAME, F_UNIVERSITY
from storage import SqlRepository
from storage.platform_files import import_file, read_table, write_template
from tests.platforms_support import SPEC, by_name, load_sample, write_csv

GOOD = [
    [
        "中国海洋大学",
        "海洋腐蚀与防护检测中心",
        "中心",
        "海洋腐蚀环境试验",
        "与海工企业合作",
        "腐蚀检测",
        "海洋腐蚀",
        "陈老师",
        "0532 8000 0401",
        "https://example.cn/1",
    ],
    [
        "海大",
        "海洋药物中试验证平台",
        "中试平台",
        "海洋药物中试",
        "与医药企业共建",
        "中试放大",
        "海洋药物",
        "褚老师",
        "13800000402",
        "",
    ],
    [
        "石大",
        "油气储运安全重点实验室",
        "重点实验室",
        "管道完整性",
        "联合实验室",
        "管道检测",
        "油气储运",
        "李老师",
        "0532-80000102",
        "",
    ],
]


async def _import(repo: SqlRepository, path: Path, quarter: str = "2026Q4", **kw: object):  # type: ignore[no-untyped-def]
    return await import_file(repo, path, spec=SPEC, quarter=quarter, **kw)  # type: ignore[arg-type]


async def test_a_well_formed_file_with_a_university_own_headers(repo: SqlRepository, tmp_path: Path) -> None:
    report = await _import(repo, write_csv(tmp_path / "list.csv", GOOD))
    assert report.check.errors == []
    assert report.counts is not None and report.counts.added == 3
    platforms = await repo.current_platforms()
    assert {p.university for p in platforms} == {"中国海洋大学", "中国石油大学（华东）"}  # 海大/石大 resolved
    lab = by_name(platforms, "油气储运安全重点实验室")
    assert lab.type == "实验室" and lab.contact_phone == "0532-80000102"
    assert by_name(platforms, "海洋腐蚀与防护检测中心").contact_phone == "0532-80000401"  # normalised
    assert by_name(platforms, "海洋药物中试验证平台").type == "中试验证平台"
    assert not any(p.sample for p in platforms)


async def test_every_kind_of_bad_row_is_one_line_and_nothing_is_imported(
    repo: SqlRepository, tmp_path: Path
) -> None:
    rows = [
        *GOOD,
        ["", "无主平台", "实验室", "", "", "", "", "王老师", "13800000001", ""],
        ["中国海洋大学", "奇怪平台", "工作室", "", "", "", "", "王老师", "13800000002", ""],
        ["中国海洋大学", "电话错误平台", "中心", "", "", "", "", "王老师", "12345", ""],
        ["中国海洋大学", "海洋腐蚀与防护检测中心", "中心", "", "", "", "", "王老师", "13800000003", ""],
        ["中国海洋大学", "没有电话的中心", "中心", "", "", "", "", "王老师", "", ""],
    ]
    report = await _import(repo, write_csv(tmp_path / "bad.csv", rows))
    assert report.counts is None
    errors = report.check.errors
    assert len(errors) == 5, errors
    assert errors[0] == "bad.csv: 第5行: 所属高校: 未填写所属高校"
    assert errors[1].startswith("bad.csv: 第6行: 平台类型: 未知的平台类型“工作室”（可选：实验室、中心、")
    assert errors[2].startswith("bad.csv: 第7行: 联系电话: ") and "12345" in errors[2]
    assert errors[3] == (
        "bad.csv: 第8行: 科创平台名称: 重复的平台：与第2行是同一平台（中国海洋大学·海洋腐蚀与防护检测中心）"
    )
    assert errors[4] == "bad.csv: 第9行: 联系电话: 未填写联系电话"
    assert await repo.current_platforms() == []  # the three good rows were not imported either
    assert report.lines("bad.csv") == ["导入失败：bad.csv 共 5 处错误，未导入任何平台（请修改后重新导入）。"]


async def test_a_missing_column_is_named_with_the_headers_that_would_do(
    repo: SqlRepository, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "x.csv", [["海大", "某中心", "13800000001"]], header=["高校", "平台名称", "电话"]
    )
    report = await _import(repo, path)
    assert report.check.errors == ["x.csv: 第1行: 缺少“平台类型”列（可用列名：平台类型、类型、科创平台类型）"]


async def test_university_option_fills_and_checks_the_column(repo: SqlRepository, tmp_path: Path) -> None:
    header = ["平台名称", "平台类型", "联系电话"]
    path = write_csv(tmp_path / "one.csv", [["海洋药物中试验证平台", "中试验证平台", "13800000402"]], header)
    report = await _import(repo, path, university="海大")
    assert report.check.ok and report.check.platforms[0].university == "中国海洋大学"
    mixed = write_csv(tmp_path / "mixed.csv", [GOOD[0], GOOD[2]])
    report = await _import(repo, mixed, university="中国海洋大学")
    assert report.check.errors == ["mixed.csv: 第3行: 所属高校: 与 --university 中国海洋大学 不一致：石大"]


async def test_dry_run_reports_and_writes_nothing(repo: SqlRepository, tmp_path: Path) -> None:
    report = await _import(repo, write_csv(tmp_path / "list.csv", GOOD), dry_run=True)
    assert report.counts is not None and report.counts.added == 3
    assert report.lines("list.csv")[-1] == "试运行，未写入：将新增 3、更新 0、删除 0 个平台"
    assert await repo.current_platforms() == []


async def test_template_round_trip_xlsx_and_csv(repo: SqlRepository, tmp_path: Path) -> None:
    await load_sample(repo)
    before = sorted(await repo.current_platforms(), key=lambda p: p.key)
    for name in ("template.xlsx", "template.csv"):
        path = tmp_path / name
        assert write_template(path, before) == 25
        header, _rows = read_table(path)
        assert header[:3] == ["所属高校", "平台名称", "平台类型"] and header[-1] == "示例数据"
        report = await _import(repo, path)
        assert report.check.ok and report.counts is not None
        assert (report.counts.added, report.counts.updated, report.counts.removed) == (0, 0, 0)
        assert sorted(await repo.current_platforms(), key=lambda p: p.key) == before
    book = load_workbook(tmp_path / "template.xlsx", read_only=True)
    assert (
        book.worksheets[0]["I2"].value == by_name(before, str(book.worksheets[0]["B2"].value)).contact_phone
    )
    book.close()
    empty = tmp_path / "empty.xlsx"
    write_template(empty, [])
    header, rows = read_table(empty)
    assert rows == [] and header == [header_of(f) for f in TEMPLATE_FIELDS]


async def test_gb18030_csv_from_chinese_excel(repo: SqlRepository, tmp_path: Path) -> None:
    report = await _import(repo, write_csv(tmp_path / "gbk.csv", GOOD, encoding="gb18030"))
    assert report.check.ok and len(report.check.platforms) == 3


async def test_new_quarter_keeps_old_entries_links_and_links_new_entries(
    repo: SqlRepository, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "list.csv", GOOD)
    await _import(repo, path, quarter="2026Q4")
    old_version = by_name(await repo.current_platforms(), "海洋腐蚀与防护检测中心")
    fields = {
        F_UNIVERSITY: "中国海洋大学",
        F_PLATFORM_NAME: "海洋腐蚀与防护检测中心",
        "project_name": "腐蚀检测",
    }
    entry = await repo.create_entry(1, "2026Q4", fields)
    unknown = await repo.create_entry(1, "2026Q4", {**fields, F_PLATFORM_NAME: "不在目录的平台"})
    assert entry.platform_id == old_version.id and unknown.platform_id is None

    changed = [
        [*GOOD[0][:7], "新联系人", "13800000999", ""],
        GOOD[1],
    ]  # 2027Q1: a new liaison, one platform gone
    report = await _import(repo, write_csv(tmp_path / "q1.csv", changed), quarter="2027Q1")
    assert report.counts is not None and report.counts.added == 2
    new_version = by_name(await repo.current_platforms(), "海洋腐蚀与防护检测中心")
    assert new_version.id != old_version.id and new_version.key == old_version.key
    assert new_version.contact_name == "新联系人" and new_version.quarter == "2027Q1"

    kept = await repo.get_entry(entry.id)
    assert kept is not None and kept.platform_id == old_version.id  # the old entry keeps its version
    assert await repo.get_platform(old_version.id) == old_version
    carried = await repo.carry_forward(entry.id, "2027Q1", 1, {})
    assert carried.platform_id == new_version.id  # carried into 2027Q1: that quarter's version


async def test_reimport_of_a_quarter_updates_in_place_and_links_earlier_entries(
    repo: SqlRepository, tmp_path: Path
) -> None:
    fields = {
        F_UNIVERSITY: "中国海洋大学",
        F_PLATFORM_NAME: "海洋药物中试验证平台",
        "project_name": "药物中试",
    }
    entry = await repo.create_entry(1, "2026Q4", fields)  # filed before the catalogue existed
    assert entry.platform_id is None
    await _import(repo, write_csv(tmp_path / "a.csv", GOOD))
    first = by_name(await repo.current_platforms(), "海洋药物中试验证平台")
    linked = await repo.get_entry(entry.id)
    assert linked is not None and linked.platform_id == first.id
    report = await _import(
        repo, write_csv(tmp_path / "b.csv", [[*GOOD[1][:7], "新老师", "13800000402", ""], GOOD[2]])
    )
    assert report.counts is not None
    assert (report.counts.added, report.counts.updated, report.counts.removed) == (0, 1, 1)
    again = by_name(await repo.current_platforms(), "海洋药物中试验证平台")
    assert again.id == first.id and again.contact_name == "新老师"
