"""Helpers for the platform catalogue tests: load the shipped sample, write small catalogue files."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from policies.form import FormSpec
from policies.platform_catalogue import SAMPLE_PATH
from policies.records import Platform
from storage.platform_files import ImportReport, import_file

SPEC = FormSpec.load()
HEADER = [
    "所属高校",
    "科创平台名称",
    "平台类型",
    "平台简介",
    "结对共建意向",
    "服务内容",
    "研究领域",
    "联系人",
    "联系电话",
    "链接",
]


async def load_sample(repo: object, quarter: str = "2026Q4") -> ImportReport:
    report = await import_file(repo, SAMPLE_PATH, spec=SPEC, quarter=quarter, sample=True)  # type: ignore[arg-type]
    assert report.check.ok, report.check.errors
    return report


def write_csv(
    path: Path, rows: Sequence[Sequence[str]], header: Sequence[str] = HEADER, encoding: str = "utf-8-sig"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def by_name(platforms: Sequence[Platform], name: str) -> Platform:
    return next(p for p in platforms if p.name == name)
