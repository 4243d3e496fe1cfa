"""Platform catalogue figures: 找平台 search latency over 5,000 platforms, and importing 5,000 rows.

Run: python bench/platforms.py [--platforms N] [--queries N]

Goal: search p99 < 10 ms over 5,000 platforms. Phases:
1. a catalogue of N platforms: the shipped sample's 25 recombined (names, keywords, services and
   introductions drawn from different platforms, so the vocabulary and posting lists grow as a real
   catalogue's would), written as a CSV with the universities' Chinese headers;
2. import: read + check + one transaction into a fresh SQLite database (`storage.platform_files`), and
   a dry run of the same file (no write);
3. search: the index built from the stored catalogue, then each query of a mixed set (Simplified,
   Traditional, colloquial, policy questions that find nothing) timed one by one: p50, p99, max.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from policies.form import FormSpec  # noqa: E402
from policies.platform_catalogue import SAMPLE_PATH  # noqa: E402
from policies.platform_search import PlatformIndex  # noqa: E402
from storage import open_repository  # noqa: E402
from storage.platform_files import import_file  # noqa: E402

GOAL_MS = 10.0
QUERIES = [
    "有没有做防腐涂层中试的平台",
    "哪个平台能做海洋腐蚀检测",
    "有沒有做防腐塗層中試的平台",
    "哪個平台能做海洋腐蝕檢測",
    "想找个地方做涂层的中试",
    "我们公司搞海水腐蚀的，谁能帮忙做挂片试验",
    "石大有没有管道泄漏监测的实验室",
    "水下机器人",
    "动力电池检测",
    "芯片封装测试",
    "跨境电商人才培训",
    "每季度第几周提交清单？",
    "创新联合体需要几家企业？",
    "海洋",
]


def synthetic_csv(path: Path, n: int, seed: int = 7) -> None:
    """N platforms recombined from the sample: each field from a random sample row, numbered names."""
    with SAMPLE_PATH.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, sample = rows[0][:10], [r[:10] for r in rows[1:]]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for i in range(n):
            base = rng.choice(sample)
            mix = [rng.choice(sample) for _ in range(4)]
            name = f"{mix[0][1].removesuffix('平台')}{i:04d}"
            keywords = "、".join({*base[6].split("、")[:2], *mix[1][6].split("、")[:2]})
            phone = f"0532-8{i:07d}"
            writer.writerow(
                [base[0], name, base[2], mix[2][3], base[4], mix[3][5], keywords, base[7], phone, ""]
            )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--platforms", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000, help="timed searches (the set, repeated)")
    args = parser.parse_args()
    spec = FormSpec.load()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalogue.csv"
        synthetic_csv(path, args.platforms)
        repo = await open_repository(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        try:
            start = time.perf_counter()
            report = await import_file(repo, path, spec=spec, quarter="2026Q4", dry_run=True)
            dry = time.perf_counter() - start
            assert report.check.ok, report.check.errors[:5]
            start = time.perf_counter()
            report = await import_file(repo, path, spec=spec, quarter="2026Q4")
            imported = time.perf_counter() - start
            assert report.counts is not None and report.counts.added == args.platforms, report.counts
            platforms = await repo.current_platforms()
        finally:
            await repo.close()
    start = time.perf_counter()
    index = PlatformIndex(platforms)
    built = time.perf_counter() - start
    for q in QUERIES:  # warm-up (OpenCC, regexes)
        index.search(q)
    times: list[float] = []
    for i in range(args.queries):
        q = QUERIES[i % len(QUERIES)]
        start = time.perf_counter()
        index.search(q)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"catalogue: {len(platforms)} platforms")
    print(f"import {args.platforms} rows (read + check + one transaction, SQLite): {imported:.2f} s")
    print(f"dry run of the same file (read + check + compare): {dry:.2f} s")
    print(f"index build: {built * 1000:.0f} ms")
    print(
        f"search over {len(platforms)} platforms, {len(times)} queries: p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
        f"max {times[-1]:.2f} ms (goal p99 < {GOAL_MS:.0f} ms: {'met' if p99 < GOAL_MS else 'NOT met'})"
    )


if __name__ == "__main__":
    asyncio.run(main())
