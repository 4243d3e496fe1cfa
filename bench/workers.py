"""Webhook updates per second and p99 latency with 1 and with 2 `bot.py run` workers on PostgreSQL.

Each simulated user sends /start and /fill, types every field of the form and submits, one message after
the previous one was answered (as a person does); `--users` users do so at once. Updates are POSTed
round-robin to the workers' webhooks, as a load balancer would; a 200 means the update's replies were
sent and its effects committed. The fake Bot API runs without flood limits, so the figure is the
workers' own throughput. Each run uses a fresh database on the PostgreSQL server given by
--database-url (or TEST_DATABASE_URL), dropped afterwards.

    python bench/workers.py [--users 40] [--database-url postgresql+asyncpg://postgres@127.0.0.1/test]

`--broadcast 3000` instead: 3 workers (`--workers`) send one broadcast of that many recipients together
through the shared rate budget to a fake Bot API enforcing Telegram's limits (30 msg/s, 1/s per chat);
prints the overall rate (first to last message), 429s and duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from sqlalchemy.engine import make_url

from tests.conftest import create_pg_database, drop_pg_database
from tests.fakeapi.core import Limits
from tests.fakeapi.server import FakeBotApiServer
from tests.test_workers import QUIET_DAY, answers, start_workers
from tests.workers import Balancer, file_one_entry


async def run(workers_count: int, users: int, server_url: str) -> tuple[float, float, float, int]:
    server = make_url(server_url).set(drivername="postgresql+asyncpg")
    url = await create_pg_database(server)
    limits = Limits(global_per_second=100_000, chat_per_second=1000, chat_burst=1000)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with FakeBotApiServer(limits=limits) as api, aiohttp.ClientSession() as http:
                fake = api.fake
                workers = await start_workers(
                    workers_count, url, api.base_url, Path(tmp), http, BOT_TODAY=QUIET_DAY
                )
                balancer = Balancer(workers, http)

                async def user(i: int) -> None:
                    await file_one_entry(fake, balancer.deliver, 9_000_000 + i, answers(i))

                try:
                    started = time.perf_counter()
                    await asyncio.gather(*(user(i) for i in range(users)))
                    elapsed = time.perf_counter() - started
                finally:
                    for worker in workers:
                        await worker.stop()
                latencies = sorted(balancer.latencies)
                p50 = statistics.median(latencies) * 1000
                p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
                return len(latencies) / elapsed, p50, p99, len(latencies)
    finally:
        await drop_pg_database(server, url)


async def broadcast(workers_count: int, recipients: int, server_url: str) -> int:
    from storage import open_repository

    server = make_url(server_url).set(drivername="postgresql+asyncpg")
    url = await create_pg_database(server)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with FakeBotApiServer() as api, aiohttp.ClientSession() as http:
                fake = api.fake
                workers = await start_workers(
                    workers_count, url, api.base_url, Path(tmp), http, BOT_TODAY=QUIET_DAY
                )
                repo = await open_repository(url.render_as_string(hide_password=False))
                try:
                    await repo.create_broadcast("通知", 0, [5_000_000 + i for i in range(recipients)])
                finally:
                    await repo.close()
                try:
                    while len(fake.deliveries) < recipients:  # noqa: ASYNC110 - polls the fake
                        await asyncio.sleep(0.2)
                finally:
                    for worker in workers:
                        await worker.stop()
                sends = sorted(e.at for e in fake.events if e.kind == "send")
                rate = (len(sends) - 1) / (sends[-1] - sends[0])
                doubled = sum(1 for n in fake.deliveries.values() if n > 1)
                refused = fake.responses[("sendMessage", 429)]
                print(f"{workers_count} workers, {recipients} recipients: {rate:.2f} msg/s "
                      f"({rate / 30:.1%} of 30), 429s {refused}, duplicates {doubled}")  # fmt: skip
    finally:
        await drop_pg_database(server, url)
    return 0


async def main(users: int, server_url: str) -> int:
    print(f"{users} users filling the form at once, webhook round-robin, PostgreSQL")
    for count in (1, 2):
        rate, p50, p99, updates = await run(count, users, server_url)
        print(f"{count} worker(s): {updates} updates, {rate:.0f}/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--broadcast", type=int, default=0, metavar="RECIPIENTS")
    parser.add_argument("--workers", type=int, default=3, help="with --broadcast")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    args = parser.parse_args()
    if not args.database_url:
        parser.error("give --database-url or set TEST_DATABASE_URL (a PostgreSQL server)")
    if args.broadcast:
        sys.exit(asyncio.run(broadcast(args.workers, args.broadcast, args.database_url)))
    sys.exit(asyncio.run(main(args.users, args.database_url)))
