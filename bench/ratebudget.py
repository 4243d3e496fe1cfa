"""What a shared rate-budget reservation costs (PostgreSQL): one `ticket` + `finish` (and a chat's
`reserve_chat`) per message, one at a time and from 16 tasks at once, as a worker's sender does.
Decides whether reservations need batching: at 30 msg/s a message has 34 ms.

    python bench/ratebudget.py [--count 2000] [--database-url postgresql+asyncpg://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import make_url

from storage import open_repository
from tests.conftest import create_pg_database, drop_pg_database


async def main(count: int, server_url: str) -> int:
    server = make_url(server_url).set(drivername="postgresql+asyncpg")
    url = await create_pg_database(server)
    try:
        repo = await open_repository(url.render_as_string(hide_password=False))
        budget = repo.rate_budget(1, rate=1e6, chat_rate=1e6)  # no waiting: the cost of asking only
        assert budget is not None
        try:
            for tasks in (1, 16):
                times: list[float] = []

                async def one(i: int, times: list[float] = times) -> None:
                    started = time.perf_counter()
                    await budget.reserve_chat(10_000 + i)
                    ticket = await budget.ticket(bulk=True)
                    assert ticket is not None
                    await budget.finish(ticket.seq)
                    times.append(time.perf_counter() - started)

                started = time.perf_counter()
                for start in range(0, count, tasks):
                    await asyncio.gather(*(one(i) for i in range(start, min(count, start + tasks))))
                elapsed = time.perf_counter() - started
                times.sort()
                p50, p99 = statistics.median(times) * 1000, times[int(len(times) * 0.99)] * 1000
                print(
                    f"{tasks:2d} at once: {count / elapsed:.0f} messages/s through the budget, "
                    f"per message p50 {p50:.2f} ms, p99 {p99:.2f} ms"
                )
        finally:
            await budget.close()
            await repo.close()
    finally:
        await drop_pg_database(server, url)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url or set TEST_DATABASE_URL (a PostgreSQL server)")
    sys.exit(asyncio.run(main(args.count, args.database_url)))
