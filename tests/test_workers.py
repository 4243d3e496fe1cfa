"""Several webhook workers on one PostgreSQL database (issue 12): users fill and submit the form through
three `bot.py run` processes fed round-robin, two of them are SIGKILLed mid-run and restarted, failed
deliveries are retried on the next worker and some accepted ones delivered again - and every user ends
with exactly the entry they submitted, sees the form's confirmations in the order they typed, and no
update takes effect twice. Reminders with three workers reach each subscriber once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL

from storage.db import create_engine
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakeapi.core import Limits
from tests.fakeapi.server import FakeBotApiServer
from tests.forms import PRESSED, TYPED, credit_code
from tests.workers import Balancer, Worker, file_one_entry, free_port, worker_env

pytestmark = pytest.mark.slow

USERS = 36
UNIVERSITY = PRESSED["驻区高校/科研机构"]
MULTI = "技术研发、中试验证"
QUIET_DAY = "2026-10-28"  # week 5 of 2026Q4: no reminder arrives between a prompt and its answer


def answers(i: int) -> dict[str, str]:
    """What user `i` types for each field (choices typed as their label, which the form accepts)."""
    return {
        **TYPED,
        **PRESSED,
        "共建形式": MULTI,
        "科创平台名称": f"海洋实验室{i}号",
        "共建项目名称": f"防腐涂层中试{i}",
        "统一社会信用代码": credit_code(i + 1),
    }


@pytest.fixture
async def pg_url(pg_server_url: URL) -> AsyncIterator[URL]:
    url = await create_pg_database(pg_server_url)  # pristine: the workers race to migrate it
    yield url
    await drop_pg_database(pg_server_url, url)


async def start_workers(
    count: int, url: URL, base_url: str, tmp_path: Path, http: aiohttp.ClientSession, **extra: str
) -> list[Worker]:
    database_url = url.render_as_string(hide_password=False)
    workers = []
    for n in range(count):
        port = free_port()
        env = worker_env(database_url, base_url, port, **extra)
        workers.append(Worker(env, port, tmp_path / f"worker{n}.log"))
    for worker in workers:
        await worker.start()
    await asyncio.gather(*(w.wait_ready(http) for w in workers))
    return workers


async def test_three_workers_two_kills_every_entry_once_replies_in_order(pg_url: URL, tmp_path: Path) -> None:
    rng = random.Random(12)
    async with (
        FakeBotApiServer(
            limits=Limits(global_per_second=10_000, chat_per_second=100, chat_burst=100)
        ) as server,
        aiohttp.ClientSession() as http,
    ):
        fake = server.fake
        workers = await start_workers(3, pg_url, server.base_url, tmp_path, http, BOT_TODAY=QUIET_DAY)
        balancer = Balancer(workers, http)
        turns_expected = USERS * 20
        turns = 0
        typed_labels: dict[int, list[str]] = {}
        redelivered = 0

        kill_at = {turns_expected // 4, turns_expected * 3 // 5}
        kills: list[asyncio.Task[None]] = []

        async def kill_one() -> None:
            victim = rng.choice(workers)
            await victim.kill()
            await asyncio.sleep(0.5)
            await victim.start()  # the balancer keeps retrying the others meanwhile

        async def deliver(update: dict[str, Any]) -> None:
            nonlocal turns, redelivered
            await balancer.deliver(update)
            turns += 1
            if turns in kill_at:
                kills.append(asyncio.create_task(kill_one()))
            if rng.random() < 0.1:  # the 200 was lost on the way back: Telegram delivers it again
                redelivered += 1
                await balancer.deliver(update)

        async def user(i: int) -> None:
            uid = 7_000_000 + i
            typed_labels[uid] = []
            await file_one_entry(fake, deliver, uid, answers(i), typed=typed_labels[uid].append)

        try:
            await asyncio.gather(*(user(i) for i in range(USERS)))
            await asyncio.wait_for(asyncio.gather(*kills), 120)
        finally:
            codes = [await w.stop() for w in workers]
        assert codes == [0, 0, 0], [w.log.read_text()[-2000:] for w in workers]
        assert sum(w.kills for w in workers) == 2
        assert redelivered > 0

        # every user's confirmations came in the order of their answers (a reply sent just before a
        # kill may come twice in a row: replies are at-least-once)
        for uid, labels in typed_labels.items():
            seen: list[str] = []
            for message in fake.messages(uid):
                first = message.text.splitlines()[0] if message.text else ""
                if first.startswith("已记录 "):
                    label = first.removeprefix("已记录 ").split("：", 1)[0]
                    if not seen or seen[-1] != label:
                        seen.append(label)
            assert seen == labels, uid

    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text(
                        "SELECT i.external_id, e.university, e.platform_name, e.project_name, e.fields "
                        "FROM entries e JOIN identities i ON i.user_id = e.user_id AND i.channel = 'telegram'"
                    )
                )
            ).all()
            drafts = (await conn.execute(text("SELECT count(*) FROM drafts"))).scalar_one()
            changes = (await conn.execute(text("SELECT count(*) FROM entry_changes"))).scalar_one()
            subscribers = (await conn.execute(text("SELECT count(*) FROM subscribers"))).scalar_one()
    finally:
        await engine.dispose()
    by_user: dict[str, list[Any]] = {}
    for row in rows:
        by_user.setdefault(row[0], []).append(row)
    assert sorted(by_user) == sorted(str(7_000_000 + i) for i in range(USERS))
    for external_id, entries in by_user.items():
        i = int(external_id) - 7_000_000
        assert len(entries) == 1, external_id  # submitted once, filed once
        (_, university, platform, project, fields) = entries[0]
        assert (university, platform, project) == (UNIVERSITY, f"海洋实验室{i}号", f"防腐涂层中试{i}")
        assert fields["platform_contact"] == TYPED["平台联系人"]  # no answer landed in the wrong field
    assert drafts == 0 and changes == 0 and subscribers == USERS


async def test_three_workers_send_the_week2_reminder_once_per_subscriber(pg_url: URL, tmp_path: Path) -> None:
    users = [8_000_000 + i for i in range(12)]
    async with FakeBotApiServer() as server, aiohttp.ClientSession() as http:
        fake = server.fake
        quiet = {"BOT_TODAY": "2026-09-28"}  # past 2026Q3's six weeks: no reminder is due
        workers = await start_workers(3, pg_url, server.base_url, tmp_path, http, **quiet)
        balancer = Balancer(workers, http)
        for uid in users:
            await balancer.deliver(fake.user_says(uid, "/start", first_name="企业", enqueue=False))
        for w in workers:
            assert await w.stop() == 0
        before = {uid: len(fake.messages(uid)) for uid in users}

        week2 = {"BOT_TODAY": "2026-10-06"}  # Tuesday of week 2 of 2026Q4
        workers = await start_workers(3, pg_url, server.base_url, tmp_path, http, **week2)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while any(len(fake.messages(uid)) == before[uid] for uid in users):
                assert loop.time() < deadline, "the reminder never reached everyone"
                await asyncio.sleep(0.2)
            await asyncio.sleep(5)  # time for any duplicate to arrive
        finally:
            codes = [await w.stop() for w in workers]
        assert codes == [0, 0, 0]
        for uid in users:
            new = [m.text for m in fake.messages(uid)][before[uid] :]
            assert len(new) == 1 and "清单已下发" in new[0], new
