"""Export figures: 100,000 entries to xlsx, the writer alone and end to end through the repository.

Run: python bench/export.py [--entries N] [--url DATABASE_URL] [--keep DIR] [--tracemalloc]

Goal: 100,000 entries exported to xlsx in < 10 s with bounded memory. Phases:
1. writer alone: Entry records generated lazily in memory, streamed through `export()` (no database);
2. bulk-insert N entries into a fresh SQLite database (not timed against the goal);
3. end to end: `export(repo, by=...)` reading through `repo.iter_entries` for university (the goal),
   ledger and enterprise.
Memory: peak RSS after each phase (ru_maxrss, monotone), plus the tracemalloc peak of phase 1 with
--tracemalloc (which slows Python down, so its time is not the figure to quote).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from policies.records import Entry  # noqa: E402
from storage import open_repository  # noqa: E402
from storage.exports import ExportResult, export  # noqa: E402
from storage.tables import EntryRow  # noqa: E402

GOAL_S = 10.0
QUARTER = "2026Q4"
UNIVERSITIES = [
    *("中国石油大学（华东）", "山东科技大学", "青岛理工大学", "山东大学（青岛）", "中国海洋大学"),
    *("青岛大学", "青岛农业大学", "青岛科技大学", "哈尔滨工程大学青岛创新发展基地", "中国科学院海洋研究所"),
]
STATUSES = ["洽谈中", "已签约", "在建", "已完成"]
FORMS = ["技术研发", "成果转化", "人才互聘", "中试验证", "实习实训基地"]


def fields_for(i: int, rng: random.Random) -> dict[str, Any]:
    ent = i % 2000
    return {
        "university": UNIVERSITIES[i % len(UNIVERSITIES)],
        "platform_name": f"海洋工程装备中试验证平台{i % 53:02d}",
        "platform_type": "中试验证平台",
        "platform_contact": "张老师",
        "platform_phone": f"0532-8698{i % 10000:04d}",
        "enterprise_name": f"青岛西海岸新区第{ent}号科技有限公司",
        "credit_code": f"91370211{ent:09d}X" if ent % 2 else f"913702110{ent:09d}",
        "enterprise_contact": "李经理",
        "enterprise_phone": f"139{i % 100_000_000:08d}",
        "district": "灵山卫街道",
        "project_name": f"海上风电防腐涂层联合研发与中试项目{i}",
        "cooperation_forms": rng.sample(FORMS, 2),
        "project_content": "围绕海上风电装备防腐需求，联合开展新型涂层材料研发、中试验证与示范应用。" * 2,
        "signed_on": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "status": rng.choice(STATUSES),
        "progress": "已完成实验室小试，正在开展中试放大和第三方检测。",
    }


def make_entry(i: int, rng: random.Random, now: dt.datetime) -> Entry:
    f = fields_for(i, rng)
    return Entry(i, 1000 + i % 2000, QUARTER, f["university"], f["enterprise_name"], f["credit_code"],
                 f["platform_name"], f["project_name"], f["status"], f, now, now)  # fmt: skip


class MemoryRepo:
    """Just enough of the Repository for `export(by="university")`: entries made on the fly, grouped
    by university as the port promises."""

    def __init__(self, n: int):
        self.n = n

    def _entries(self) -> Iterator[Entry]:
        rng, now = random.Random(7), dt.datetime.now(dt.UTC)
        pool = [make_entry(i, rng, now) for i in range(1000)]  # reused: time the writer, not random()
        for u in range(len(UNIVERSITIES)):
            for i in range(u, self.n, len(UNIVERSITIES)):
                yield pool[i % 1000]

    async def iter_entries(self, **_: Any) -> AsyncIterator[Entry]:
        for e in self._entries():
            yield e


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(label: str, coro: Any) -> tuple[float, ExportResult]:
    """Wall time, and CPU time of the whole process (all threads): the latter shows the cost even
    when other processes share the two cores."""
    start, cpu = time.perf_counter(), time.process_time()
    result = await coro
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = sum(p.stat().st_size for p in result.paths) / 1e6
    print(
        f"{label:<42} {took:6.2f} s wall {cpu:6.2f} s cpu  {result.rows:>7} rows "
        f"{len(result.paths):>3} files {size:5.1f} MB  peak RSS {rss_mb():4.0f} MB",
        flush=True,
    )
    return took, result


async def bulk_insert(url: str, n: int) -> None:
    repo = await open_repository(url)
    rng, now = random.Random(7), dt.datetime.now(dt.UTC)
    try:
        async with repo.engine.begin() as conn:
            for chunk in _batched(n):
                rows = []
                for i in chunk:
                    f = fields_for(i, rng)
                    keys = ("university", "credit_code", "enterprise_name", "platform_name", "project_name")
                    row = {k: f[k] for k in (*keys, "status")}
                    row.update(user_id=1000 + i % 2000, quarter=QUARTER, fields=f, origin_id=None)
                    rows.append({**row, "created_at": now, "updated_at": now})
                await conn.execute(insert(EntryRow), rows)
    finally:
        await repo.close()


def _batched(n: int) -> Iterator[range]:
    for start in range(0, n, 5000):
        yield range(start, min(n, start + 5000))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--url", help="database URL (default: a fresh SQLite file in a temp dir)")
    parser.add_argument("--keep", type=Path, help="write the exports here instead of a temp dir")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure phase 1 under tracemalloc")
    args = parser.parse_args(argv)
    n = args.entries
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        out = args.keep or Path(tmp) / "out"
        print(
            f"{n} entries, {len(UNIVERSITIES)} universities, 2000 enterprises; baseline RSS {rss_mb():.0f} MB"
        )
        memory_repo: Any = MemoryRepo(n)
        writer_export = export(memory_repo, by="university", quarter=QUARTER, fmt="xlsx", out=out / "mem")
        writer_s, _ = await timed("1. writer alone (by university, xlsx)", writer_export)
        if args.tracemalloc:
            tracemalloc.start()
            await export(memory_repo, by="university", quarter=QUARTER, fmt="xlsx", out=out / "tm")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"   tracemalloc peak during the writer-only export: {peak / 1e6:.1f} MB")
        url = args.url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}"
        start = time.perf_counter()
        await bulk_insert(url, n)
        print(f"2. bulk insert                          {time.perf_counter() - start:6.2f} s", flush=True)
        repo = await open_repository(url)
        try:
            phases: list[tuple[str, Any, str | None, Any]] = [
                ("3. end to end: by university, xlsx", "university", QUARTER, "xlsx"),
                ("   end to end: by university, csv", "university", QUARTER, "csv"),
                ("   end to end: ledger, xlsx", "ledger", None, "xlsx"),
                ("   end to end: by enterprise (2000), xlsx", "enterprise", QUARTER, "xlsx"),
            ]
            took = []
            for i, (label, by, quarter, fmt) in enumerate(phases):
                target = out / f"e2e{i}"
                took.append(
                    (await timed(label, export(repo, by=by, quarter=quarter, fmt=fmt, out=target)))[0]
                )
            e2e_s = took[0]
            start = time.perf_counter()
            n_read = 0
            async for _ in repo.iter_entries(quarter=QUARTER):
                n_read += 1
            print(f"   (repo.iter_entries alone: {n_read} entries in {time.perf_counter() - start:.2f} s)")
        finally:
            await repo.close()
    ok = e2e_s < GOAL_S
    verdict = "met" if ok else "MISSED"
    print(f"goal: {n} entries to xlsx < {GOAL_S:.0f} s end to end -> {verdict} ({e2e_s:.2f} s wall)")
    print(f"      writer alone {writer_s:.2f} s wall")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
