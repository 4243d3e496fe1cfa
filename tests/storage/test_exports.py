"""Exports as the secretariat opens them: headers, one file per university / enterprise, text credit
codes, real dates, frozen header, no formulas, BOM'd CSV, the ledger's history, the leaderboard."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from policies.records import Entry
from storage import SqlRepository
from storage.exports import (
    LIST_COLUMNS,
    Book,
    Column,
    ExportError,
    export,
    export_to,
    plan_output,
    safe_filename,
)
from storage.xlsx import column_letter, safe_sheet_title

Q = "2026Q4"
UPC = "中国石油大学（华东）"
SDUST = "山东科技大学"
DIGITS_CODE = "913702110000000001"  # all digits: Excel would make it 9.13702E+17 if it were a number
LETTER_CODE = "91370211MA3C12345X"
INJECTION = "=cmd|' /c calc'!A1"
HEADERS = [
    "序号", "季度", "高校/科研机构", "科创平台名称", "平台类型", "平台联系人", "平台联系电话", "企业名称",
    "统一社会信用代码", "企业联系人", "企业联系电话", "所属功能区/镇街", "结对共建项目名称", "共建内容",
    "项目内容", "签约时间", "项目状态", "最新进展", "填报时间", "更新时间", "平台确认",
]  # fmt: skip


def make_fields(
    university: str = UPC,
    enterprise: str = "青岛甲科技有限公司",
    code: str = DIGITS_CODE,
    project: str = "海上风电防腐涂层中试",
    **extra: Any,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "university": university,
        "platform_name": "海洋装备中试平台",
        "platform_type": "中试验证平台",
        "platform_contact": "张老师",
        "platform_phone": "0532-86981234",
        "enterprise_name": enterprise,
        "credit_code": code,
        "enterprise_contact": "李经理",
        "enterprise_phone": "13900000000",
        "district": "灵山卫街道",
        "project_name": project,
        "cooperation_forms": ["技术研发", "成果转化"],
        "project_content": "联合开发海上风电防腐涂层并完成中试",
        "signed_on": "2026-10-08",
        "status": "在建",
        "progress": "已完成小试",
    }
    fields.update(extra)
    return fields


async def seed(repo: SqlRepository) -> dict[str, Entry]:
    """Three entries of 2026Q4 at two universities, one carried forward from 2026Q3 with changes."""
    old = await repo.create_entry(1, "2026Q3", make_fields(status="洽谈中"))
    carried = await repo.carry_forward(old.id, Q, 1, {"status": "已签约", "progress": "签订协议"})
    b = await repo.create_entry(
        2, Q, make_fields(SDUST, "青岛乙有限公司", LETTER_CODE, "智能网箱监测", progress=INJECTION)
    )
    c = await repo.create_entry(
        2, Q, make_fields(UPC, "青岛乙有限公司", LETTER_CODE, "深海传感器", signed_on="")
    )
    return {"old": old, "carried": carried, "b": b, "c": c}


def data_rows(ws: Any) -> list[list[Any]]:
    return [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]


def col(name: str) -> int:
    return HEADERS.index(name)


# ----------------------------------------------------------------------------------- 清单 by university
async def test_university_export_one_workbook_per_university(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)

    names = sorted(p.name for p in result.paths)
    assert names == sorted([f"{Q}_{UPC}_结对共建项目清单.xlsx", f"{Q}_{SDUST}_结对共建项目清单.xlsx"])
    assert (result.rows, result.groups) == (3, 2)
    wb = openpyxl.load_workbook(tmp_path / f"{Q}_{UPC}_结对共建项目清单.xlsx")
    ws = wb.active
    assert [c.value for c in ws[1]] == HEADERS
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["C"].width > 15  # 高校/科研机构 is wide enough to read
    rows = data_rows(ws)
    assert [r[0] for r in rows] == [1, 2]
    assert {r[col("高校/科研机构")] for r in rows} == {UPC}
    assert {r[col("季度")] for r in rows} == {Q}
    assert {r[col("结对共建项目名称")] for r in rows} == {"海上风电防腐涂层中试", "深海传感器"}
    assert rows[0][col("共建内容")] == "技术研发、成果转化"


async def test_credit_code_is_text_and_signing_date_is_a_date(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)
    ws = openpyxl.load_workbook(tmp_path / f"{Q}_{UPC}_结对共建项目清单.xlsx").active
    by_code = {ws.cell(r, col("统一社会信用代码") + 1).value: r for r in range(2, ws.max_row + 1)}
    code_cell = ws.cell(by_code[DIGITS_CODE], col("统一社会信用代码") + 1)
    assert code_cell.data_type == "s" and code_cell.value == DIGITS_CODE and len(code_cell.value) == 18
    assert code_cell.number_format == "@"
    signed = ws.cell(by_code[DIGITS_CODE], col("签约时间") + 1)
    assert signed.is_date and signed.number_format == "yyyy-mm-dd"
    assert signed.value.date() == dt.date(2026, 10, 8)
    # an entry without a signing date leaves the cell empty instead of writing ''
    assert ws.cell(by_code[LETTER_CODE], col("签约时间") + 1).value is None
    filed = ws.cell(by_code[DIGITS_CODE], col("填报时间") + 1)
    assert filed.is_date and isinstance(filed.value, dt.datetime)


async def test_formula_is_neutralised_in_xlsx(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)
    path = next(p for p in result.paths if SDUST in p.name)
    ws = openpyxl.load_workbook(path).active
    cell = ws.cell(2, col("最新进展") + 1)
    assert cell.value == INJECTION  # the text is kept exactly ...
    assert cell.data_type != "f"  # ... but it is not a formula
    assert cell.quotePrefix  # and stays text if someone edits it in Excel/WPS
    with zipfile.ZipFile(path) as zf:
        sheet_xml = zf.read("xl/worksheets/sheet1.xml").decode()
        assert all(i.extract_version <= 20 for i in zf.infolist())  # no Zip64 headers Excel may refuse
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml


async def test_csv_has_bom_crlf_headers_and_neutralised_formula(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="university", quarter=Q, fmt="csv", out=tmp_path)
    path = next(p for p in result.paths if SDUST in p.name)
    assert path.suffix == ".csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADERS
    assert rows[1][col("最新进展")] == "'" + INJECTION
    assert rows[1][col("统一社会信用代码")] == LETTER_CODE
    assert rows[1][col("签约时间")] == "2026-10-08"


async def test_university_export_into_a_zip(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    out = tmp_path / "out" / "清单.zip"
    result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=out)
    assert result.paths == [out]
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        assert sorted(i.filename for i in infos) == sorted(
            [f"{Q}_{UPC}_结对共建项目清单.xlsx", f"{Q}_{SDUST}_结对共建项目清单.xlsx"]
        )
        assert all(i.flag_bits & 0x800 for i in infos)  # names flagged UTF-8
    assert [p.name for p in out.parent.iterdir()] == ["清单.zip"]  # no work files left behind


async def test_no_entries_writes_nothing(repo: SqlRepository, tmp_path: Path) -> None:
    for by in ("university", "enterprise", "ledger", "leaderboard"):
        result = await export(repo, by=by, quarter=Q, fmt="xlsx", out=tmp_path / "out" / by)  # type: ignore[arg-type]
        assert (result.paths, result.rows) == ([], 0)
    assert not any(p.is_file() for p in (tmp_path / "out").rglob("*"))


# ----------------------------------------------------------------------------------- per enterprise
async def test_enterprise_export_one_file_each_in_one_zip(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="enterprise", quarter=Q, fmt="xlsx", out=tmp_path)
    assert len(result.paths) == 1 and result.paths[0].suffix == ".zip"
    assert result.groups == 2
    with zipfile.ZipFile(result.paths[0]) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(
            [
                f"{Q}_青岛甲科技有限公司_{DIGITS_CODE}_结对共建项目清单.xlsx",
                f"{Q}_青岛乙有限公司_{LETTER_CODE}_结对共建项目清单.xlsx",
            ]
        )
        body = zf.read(f"{Q}_青岛乙有限公司_{LETTER_CODE}_结对共建项目清单.xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(body))
    # The enterprise works with two universities: two lists, not merged (one sheet each).
    assert sorted(wb.sheetnames) == sorted([UPC, SDUST])
    for ws in wb:
        rows = data_rows(ws)
        assert len(rows) == 1 and rows[0][col("高校/科研机构")] == ws.title
        assert rows[0][col("统一社会信用代码")] == LETTER_CODE


async def test_enterprise_csv_packages(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    out = tmp_path / "企业.zip"
    result = await export(repo, by="enterprise", quarter=Q, fmt="csv", out=out)
    with zipfile.ZipFile(result.paths[0]) as zf:
        assert len(zf.namelist()) == 2
        body = zf.read(f"{Q}_青岛乙有限公司_{LETTER_CODE}_结对共建项目清单.csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADERS and len(rows) == 3


# ----------------------------------------------------------------------------------- ledger
async def test_ledger_has_every_quarter_and_the_change_history(repo: SqlRepository, tmp_path: Path) -> None:
    e = await seed(repo)
    result = await export(repo, by="ledger", quarter=None, fmt="xlsx", out=tmp_path)
    assert (result.rows, result.history_rows) == (4, 2)
    wb = openpyxl.load_workbook(result.paths[0])
    assert wb.sheetnames == ["台账", "变更记录"]
    ledger = wb["台账"]
    header = [c.value for c in ledger[1]]
    assert header[:2] == ["序号", "记录编号"] and "延续自记录编号" in header
    rows = data_rows(ledger)
    ids = [r[1] for r in rows]
    # by enterprise (乙 sorts before 甲 by code point), then project (智 before 深), then quarter
    assert ids == [e["b"].id, e["c"].id, e["old"].id, e["carried"].id]
    assert rows[3][header.index("延续自记录编号")] == e["old"].id
    assert [r[header.index("季度")] for r in rows[2:]] == ["2026Q3", Q]

    history = wb["变更记录"]
    assert [c.value for c in history[1]][:8] == ["序号", "记录编号", "季度", "企业名称", "结对共建项目名称",
                                                 "修改字段", "原值", "新值"]  # fmt: skip
    changes = {r[5]: r for r in data_rows(history)}
    assert set(changes) == {"项目状态", "最新进展"}  # field ids shown as the 清单's Chinese headers
    status = changes["项目状态"]
    assert status[1] == e["carried"].id and status[2] == Q and status[3] == "青岛甲科技有限公司"
    assert (status[6], status[7]) == ("洽谈中", "已签约")
    assert history.freeze_panes == "A2"


async def test_ledger_csv_is_two_files(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="ledger", quarter=Q, fmt="csv", out=tmp_path)
    assert sorted(p.name for p in result.paths) == sorted(
        [f"{Q}_结对共建项目管理台账_台账.csv", f"{Q}_结对共建项目管理台账_变更记录.csv"]
    )
    assert result.rows == 3  # only 2026Q4's entries


# ----------------------------------------------------------------------------------- leaderboard
async def test_leaderboard_export_has_two_ranked_sheets(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="leaderboard", quarter=Q, fmt="xlsx", out=tmp_path)
    wb = openpyxl.load_workbook(result.paths[0])
    assert wb.sheetnames == ["高校榜", "平台榜"]
    unis = data_rows(wb["高校榜"])
    # UPC: 深海传感器 new and 在建 (3 + 2) + the carried entry signed and updated (2 + 1) = 8;
    # SDUST: one new 在建 entry = 5
    assert [(r[0], r[1], r[-1]) for r in unis] == [(1, UPC, 8), (2, SDUST, 5)]
    assert [c.value for c in wb["平台榜"][1]][:3] == ["排名", "科创平台名称", "高校/科研机构"]


async def test_leaderboard_needs_a_quarter_and_quarters_are_checked(
    repo: SqlRepository, tmp_path: Path
) -> None:
    with pytest.raises(ExportError):
        await export(repo, by="leaderboard", quarter=None, fmt="xlsx", out=tmp_path)
    with pytest.raises(ExportError, match="2026Q9"):
        await export(repo, by="university", quarter="2026Q9", fmt="xlsx", out=tmp_path)


# ----------------------------------------------------------------------------------- edge cases
class _Unordered:
    """A repository stub whose stream breaks the university grouping the port promises."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries

    async def iter_entries(self, **_: Any) -> AsyncIterator[Entry]:
        for e in self.entries:
            yield e


def _entry(i: int, university: str) -> Entry:
    now = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    f = make_fields(university)
    return Entry(i, 1, Q, university, f["enterprise_name"], f["credit_code"], f["platform_name"],
                 f["project_name"], f["status"], f, now, now)  # fmt: skip


async def test_out_of_order_stream_is_refused_not_overwritten(tmp_path: Path) -> None:
    repo = _Unordered([_entry(1, UPC), _entry(2, SDUST), _entry(3, UPC)])
    with pytest.raises(ExportError):
        await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)  # type: ignore[arg-type]


async def test_many_rows_stream_in_batches(tmp_path: Path) -> None:
    repo = _Unordered([_entry(i, UPC) for i in range(1, 4502)])
    result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)  # type: ignore[arg-type]
    wb = openpyxl.load_workbook(result.paths[0], read_only=True)
    seqs = [r[0] for r in wb.active.iter_rows(min_row=2, values_only=True)]
    wb.close()
    assert seqs == list(range(1, 4502))  # 序号 continues across batches


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("中国石油大学（华东）", "中国石油大学（华东）"),
        ("A/B:大学*?", "A_B_大学_"),
        ("..", "未命名"),
        ("", "未命名"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_sheet_titles_are_valid_and_unique() -> None:
    assert safe_sheet_title("a[b]:c") == "a_b__c"
    assert len(safe_sheet_title("很" * 40)) == 31
    assert safe_sheet_title("台账", ["台账"]) == "台账_2"


def test_column_letters_and_spec_match() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    assert [c.header for c in LIST_COLUMNS] == HEADERS


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_awkward_text_survives_and_never_becomes_a_formula(tmp_path: Path, fmt: str) -> None:
    values = [
        "A&B<C>",
        "  两端空格  ",
        "\t=1+2",
        "+8613800000000",
        "-",
        "@SUM(A1)",
        "第一行\n第二行",
        "响\x07铃",
    ]
    book = Book(tmp_path, "edge", fmt)  # type: ignore[arg-type]
    book.add_sheet("清单", [Column(f"c{i}", f"c{i}") for i in range(len(values))]).append_rows([values])
    book.close()
    expected = [*values[:-1], "响铃"]  # a control character XML cannot carry is dropped (xlsx only)
    if fmt == "csv":
        with book.paths[0].open(encoding="utf-8-sig", newline="") as f:
            row = list(csv.reader(f))[1]
        triggers = ("=", "+", "-", "@", "\t", "\r")
        assert row == [("'" + v if v.startswith(triggers) else v) for v in values]
        return
    ws = openpyxl.load_workbook(book.paths[0]).active
    cells = list(ws[2])
    assert [c.value for c in cells] == expected
    assert all(c.data_type == "s" for c in cells)
    assert [c.quotePrefix for c in cells] == [False, False, True, True, True, True, False, False]


async def test_colliding_names_get_a_suffix_and_reruns_overwrite(tmp_path: Path) -> None:
    repo: Any = _Unordered([_entry(1, "A/B大学"), _entry(2, "A:B大学")])
    for _ in range(2):
        result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path)
        assert [p.name for p in result.paths] == [
            f"{Q}_A_B大学_结对共建项目清单.xlsx",
            f"{Q}_A_B大学_结对共建项目清单_2.xlsx",
        ]
    assert len(list(tmp_path.iterdir())) == 2  # noqa: ASYNC240


# ----------------------------------------------------------------------------------- the CLI's --out
async def test_export_to_a_file_path_writes_exactly_that_file(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_output(out / "台账.xlsx", by="ledger", fmt="xlsx")
    result = await export_to(repo, plan, by="ledger", quarter=None, fmt="xlsx")
    assert result.paths == [out / "台账.xlsx"] and result.rows == 4
    assert openpyxl.load_workbook(result.paths[0]).sheetnames == ["台账", "变更记录"]
    assert [p.name for p in out.iterdir()] == ["台账.xlsx"]
    with pytest.raises(ExportError, match="--force"):
        plan_output(out / "台账.xlsx", by="ledger", fmt="xlsx")


async def test_export_to_a_file_refuses_several_files_and_leaves_nothing(
    repo: SqlRepository, tmp_path: Path
) -> None:
    await seed(repo)  # two universities: two 清单
    out = tmp_path / "out"
    out.mkdir()
    plan = plan_output(out / "清单.xlsx", by="university", fmt="xlsx")
    with pytest.raises(ExportError, match="2 个文件"):
        await export_to(repo, plan, by="university", quarter=Q, fmt="xlsx")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "by", "fmt", "message"),
    [
        ("x.csv", "ledger", "xlsx", "不符"),
        ("x.xlsx", "enterprise", "xlsx", ".zip"),
        ("x.csv", "leaderboard", "csv", "2 个文件"),
        ("x", "ledger", "xlsx", "不存在"),
        ("no/x.xlsx", "ledger", "xlsx", "不存在"),
    ],
)
def test_plan_output_refuses_what_cannot_work(
    tmp_path: Path, name: str, by: str, fmt: str, message: str
) -> None:
    with pytest.raises(ExportError, match=message):
        plan_output(tmp_path / name, by=by, fmt=fmt)
