"""Catalogue files: read a university's list (xlsx or csv) as header + rows of text, write the template.

CSV from Chinese Excel/WPS is often GB18030 rather than UTF-8; both are read. A leading apostrophe that
our own exports add against formula injection is dropped again on the way in. Blocking: call from a
worker thread.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from policies.form import FormSpec
from policies.platform_catalogue import (
    SAMPLE_MARK,
    TEMPLATE_FIELDS,
    CatalogueCheck,
    check_rows,
    header_of,
    template_row,
)
from policies.records import ImportCounts, Platform
from storage.exports import neutralise_csv
from storage.xlsx import FORMULA_TRIGGERS, TEXT, ColumnFormat, XlsxWriter

if TYPE_CHECKING:
    from storage.repository import SqlRepository

Table = tuple[list[str], list[tuple[int, list[str]]]]
WIDTHS = {"university": 24, "name": 30, "type": 12, "introduction": 50, "intentions": 36, "services": 36,
          "keywords": 24, "contact_name": 10, "contact_phone": 16, "link": 30}  # fmt: skip


class CatalogueFileError(ValueError):
    """The file cannot be read as a table (missing, wrong format, no header row)."""


def read_table(path: Path) -> Table:
    """(header, [(row number, cells)]) of the first sheet; row numbers as a spreadsheet shows them."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise CatalogueFileError(f"{path}: 文件不存在")
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise CatalogueFileError(f"{path}: 无法识别文件编码（请另存为 UTF-8 CSV）")
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    elif suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path)
    else:
        raise CatalogueFileError(f"{path}: 只支持 .xlsx 或 .csv 文件")
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise CatalogueFileError(f"{path}: 文件为空（第1行应为列名）")
    return rows[0], [(n, [_unquote(c) for c in cells]) for n, cells in enumerate(rows[1:], 2)]


def _xlsx_rows(path: Path) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise CatalogueFileError(f"{path}: 不是有效的 xlsx 文件（{type(exc).__name__}）") from None
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone typed as a number
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value)


def _unquote(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_TRIGGERS else cell


def write_template(path: Path, platforms: Sequence[Platform]) -> int:
    """The import template with `platforms` as rows (the current catalogue; none: just the header).
    A 示例数据 column is added when any row is sample data, so it stays marked after a round trip."""
    headers = [header_of(f) for f in TEMPLATE_FIELDS]
    sample = any(p.sample for p in platforms)
    rows = [template_row(p) + ([SAMPLE_MARK if p.sample else ""] if sample else []) for p in platforms]
    if sample:
        headers.append(SAMPLE_MARK)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            writer.writerows([neutralise_csv(c) for c in row] for row in rows)
        return len(rows)
    if suffix != ".xlsx":
        raise CatalogueFileError(f"{path}: 模板只能导出为 .xlsx 或 .csv")
    columns = [
        ColumnFormat(h, WIDTHS.get(f, 12), TEXT)
        for h, f in zip(headers, [*TEMPLATE_FIELDS, "sample"], strict=False)
    ]
    with XlsxWriter(path) as book:
        sheet = book.add_sheet("科创平台清单", columns)
        sheet.append_rows(rows)
        sheet.close()
    return len(rows)


@dataclass
class ImportReport:
    """What `import_file` found and (unless a dry run) did."""

    check: CatalogueCheck
    quarter: str
    dry_run: bool
    counts: ImportCounts | None = None

    def lines(self, source: str) -> list[str]:
        """The summary printed by `bot.py platforms import` (errors are printed before it)."""
        check = self.check
        if not check.ok:
            return [f"导入失败：{source} 共 {len(check.errors)} 处错误，未导入任何平台（请修改后重新导入）。"]
        per = Counter(p.university for p in check.platforms)
        lines = [
            f"{source}：{check.rows} 行，{len(check.platforms)} 个平台，季度 {self.quarter}"
            + ("（示例数据）" if any(p.sample for p in check.platforms) else "")
            + "；"
            + "、".join(f"{u}（{n}）" for u, n in sorted(per.items()))
        ]
        if self.counts is not None:
            c = self.counts
            verb = "试运行，未写入：将" if self.dry_run else "已导入："
            lines.append(f"{verb}新增 {c.added}、更新 {c.updated}、删除 {c.removed} 个平台")
            if not self.dry_run and c.linked:
                lines.append(f"已关联本季度填报记录 {c.linked} 条")
        return lines


async def import_file(
    repo: SqlRepository,
    path: Path,
    *,
    spec: FormSpec,
    quarter: str,
    university: str | None = None,
    sample: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Read, check and (unless `dry_run` or any row is bad) import one catalogue file in one transaction."""
    header, rows = await asyncio.to_thread(read_table, path)
    check = check_rows(
        path.name, header, rows, spec=spec, quarter=quarter, university=university, sample=sample
    )
    report = ImportReport(check, quarter, dry_run)
    if not check.ok:
        return report
    universities = check.universities()
    if dry_run:
        existing = {p.key: p for p in await repo.platforms_of(quarter) if p.university in universities}
        new = {p.key: p for p in check.platforms}
        changed = sum(1 for k, p in new.items() if k in existing and _differs(existing[k], p))
        report.counts = ImportCounts(
            added=len(new.keys() - existing.keys()),
            updated=changed,
            removed=len(existing.keys() - new.keys()),
        )
        return report
    report.counts = await repo.import_platforms(quarter, check.platforms, universities=universities)
    return report


def _differs(old: Platform, new: Platform) -> bool:
    return any(getattr(old, f) != getattr(new, f) for f in (*TEMPLATE_FIELDS, "sample"))
