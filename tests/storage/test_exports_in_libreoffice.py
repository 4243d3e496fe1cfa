"""Open the produced workbooks in a real spreadsheet application (LibreOffice, when installed).

openpyxl reading a file back proves it is well-formed SpreadsheetML; this proves a spreadsheet
program opens it and shows what the secretariat expects: text credit codes with all 18 characters,
real dates, and an injected formula kept as plain text. Skipped where `soffice` is not installed
(`apt-get install libreoffice-calc-nogui`).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
from pathlib import Path

import pytest

from storage import SqlRepository
from storage.exports import export
from tests.storage.test_exports import DIGITS_CODE, INJECTION, Q, seed

SOFFICE = shutil.which("soffice")
pytestmark = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


async def to_csv(xlsx: Path, out: Path) -> list[list[str]]:
    """Convert the first sheet with LibreOffice; cells as LibreOffice formats them."""
    assert SOFFICE is not None
    proc = await asyncio.create_subprocess_exec(
        SOFFICE, f"-env:UserInstallation=file://{out}/profile", "--headless",
        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(out), str(xlsx),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert await asyncio.wait_for(proc.wait(), timeout=120) == 0
    with (out / f"{xlsx.stem}.csv").open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


async def test_university_list_opens_in_libreoffice(repo: SqlRepository, tmp_path: Path) -> None:
    await seed(repo)
    result = await export(repo, by="university", quarter=Q, fmt="xlsx", out=tmp_path / "out")
    rows: list[list[str]] = []
    for path in result.paths:
        copy = tmp_path / f"book{len(rows)}.xlsx"  # ASCII name: the converter's output name follows it
        shutil.copy(path, copy)
        rows += (await to_csv(copy, tmp_path))[1:]
    header = (await to_csv(copy, tmp_path))[0]
    assert header[:3] == ["序号", "季度", "高校/科研机构"]
    by_header = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(by_header) == result.rows
    assert DIGITS_CODE in {r["统一社会信用代码"] for r in by_header}  # 18 digits, not 9.13702E+17
    assert INJECTION in {r["最新进展"] for r in by_header}  # shown as typed, never evaluated
    assert {r["签约时间"] for r in by_header} - {""} == {"2026-10-08"}  # a real date, shown as such
