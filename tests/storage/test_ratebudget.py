"""The rate budget all workers share (PostgreSQL): an even grid of send times per bot, per-chat buckets,
replies ahead of broadcasts, RetryAfter pausing everyone; and `SharedRateLimiter` sending through it.
Rates are slow (1-2 messages/s) so every assertion is about order and whole seconds, not timing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from handlers.telegram.ratelimit import SharedRateLimiter, bulk_sending
from storage import SqlRepository, open_repository
from storage.ratebudget import RateBudget
from tests.conftest import _truncate_all


@pytest.fixture
async def pg_repo(pg_session_url: URL) -> AsyncIterator[SqlRepository]:
    await _truncate_all(pg_session_url)
    repo = await open_repository(pg_session_url.render_as_string(hide_password=False))
    try:
        yield repo
    finally:
        await repo.close()


def budget(repo: SqlRepository, bot: int = 1, **options: Any) -> RateBudget:
    made = repo.rate_budget(bot, **options)
    assert made is not None
    return made


async def wait(b: RateBudget, *, bulk: bool = False) -> float:
    ticket = await b.ticket(bulk=bulk)
    assert ticket is not None
    return ticket.wait


async def test_window_counts_from_the_completion_30_sends_earlier(pg_repo: SqlRepository) -> None:
    """However late a request went, the one 30 places later waits 1.005 s after it completed."""
    b = budget(pg_repo, rate=1000.0, window_limit=3, window_seconds=2.0)
    try:
        tickets = [await b.ticket() for _ in range(3)]
        fourth = await b.ticket()
        assert fourth is not None and fourth.earlier and fourth.earlier_done is None  # #1 in flight
        for t in tickets:
            assert t is not None
            await b.finish(t.seq)
        fifth = await b.ticket()
        assert fifth is not None and fifth.earlier_done is not None and -1 < fifth.earlier_done <= 0
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        await b.wait_for(fifth, sleep)
        assert slept and round(slept[-1]) == 2  # 2 s after #2 completed, not at its grid slot
    finally:
        await b.close()


async def one_in_flight_one_done(sender: RateBudget, live: RateBudget) -> None:
    """`sender` reserves a send and never finishes it; `live` reserves the next one and finishes it."""
    in_flight = await sender.ticket()
    second = await live.ticket()
    assert in_flight is not None and second is not None
    await live.finish(second.seq)


async def test_a_send_whose_worker_died_in_flight_is_not_waited_for(
    pg_repo: SqlRepository, pg_session_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    """Worker A reserves a send and dies before it completes (its connection closes, as the kernel
    closes a SIGKILLed process's socket): the send 2 places later counts its window from the moment
    A's connection is seen gone, instead of waiting `stale_after` (here 60 s) for an answer that never
    comes."""
    other = await open_repository(pg_session_url.render_as_string(hide_password=False))
    dying = budget(other, rate=1000.0, window_limit=2, window_seconds=2.0)
    live = budget(pg_repo, rate=1000.0, window_limit=2, window_seconds=2.0, stale_after=60.0)
    try:
        await one_in_flight_one_done(dying, live)
        await dying.close()
        third = await live.ticket()
        assert third is not None and third.earlier and third.earlier_done is None
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await asyncio.sleep(min(seconds, 0.02))  # the poll for the backend to go; never the window

        await live.wait_for(third, sleep)
        assert live.abandoned == 1
        assert round(slept[-1]) == 2  # the window counted from when the dead send was given up
        assert "never completed" not in caplog.text
    finally:
        await live.close()
        await other.close()


async def test_a_send_in_flight_on_a_live_worker_is_waited_for(
    pg_repo: SqlRepository, caplog: pytest.LogCaptureFixture
) -> None:
    """The same in-flight send on a worker that is alive (slow answer) is polled for until `stale_after`:
    the budget does not go early just because an answer is late."""
    slow = budget(pg_repo, rate=1000.0, window_limit=2, window_seconds=2.0)
    live = budget(pg_repo, rate=1000.0, window_limit=2, window_seconds=2.0, stale_after=0.3)
    try:
        await one_in_flight_one_done(slow, live)
        third = await live.ticket()
        assert third is not None and third.earlier_done is None

        async def sleep(seconds: float) -> None:
            await asyncio.sleep(min(seconds, 0.02))

        with caplog.at_level("WARNING", logger="storage.ratebudget"):
            await live.wait_for(third, sleep)
        assert live.abandoned == 0
        assert "never completed" in caplog.text
    finally:
        await live.close()
        await slow.close()


async def test_sqlite_has_no_shared_budget(tmp_path: Any) -> None:
    repo = await open_repository(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    try:
        assert repo.rate_budget(1) is None  # one process: it paces itself
    finally:
        await repo.close()


async def test_slots_are_spaced_across_workers_and_bots(pg_repo: SqlRepository) -> None:
    first, second = budget(pg_repo, rate=1.0), budget(pg_repo, rate=1.0)  # two workers of bot 1
    other_bot = budget(pg_repo, bot=2, rate=1.0)
    try:
        tickets = [await first.ticket(), await second.ticket(), await first.ticket(), await second.ticket()]
        assert [round(t.wait) for t in tickets if t] == [0, 1, 2, 3]  # one grid, whoever asks
        assert [t.seq for t in tickets if t] == [1, 2, 3, 4]
        assert round(await wait(other_bot)) == 0  # another bot has its own budget
    finally:
        for b in (first, second, other_bot):
            await b.close()


async def test_bulk_only_takes_a_slot_while_the_grid_is_not_booked_ahead(pg_repo: SqlRepository) -> None:
    b = budget(pg_repo, rate=1.0, bulk_horizon=0.5)
    try:
        assert round(await wait(b, bulk=True)) == 0  # idle grid: a broadcast goes at once
        assert await b.ticket(bulk=True) is None  # booked 1 s ahead > 0.5 s: the broadcast waits
        assert round(await wait(b)) == 1  # a reply still gets the next slot
        assert (b.reservations, b.refusals) == (2, 1)
    finally:
        await b.close()


async def test_chat_bucket_burst_then_one_per_second(pg_repo: SqlRepository) -> None:
    b = budget(pg_repo, chat_rate=1.0, chat_burst=3)
    try:
        waits = [round(await b.reserve_chat(42)) for _ in range(5)]
        assert waits == [0, 0, 0, 1, 2]
        assert round(await b.reserve_chat(43)) == 0  # another chat is not held back
    finally:
        await b.close()


async def test_retry_after_pauses_every_worker(pg_repo: SqlRepository) -> None:
    one, two = budget(pg_repo, rate=10.0), budget(pg_repo, rate=10.0)
    try:
        await one.pause(5)
        assert round(await wait(two)) == 5
    finally:
        await one.close()
        await two.close()


async def test_idle_chats_are_pruned(pg_repo: SqlRepository) -> None:
    b = budget(pg_repo)
    try:
        await b.reserve_chat(7)
        assert await b.prune() == 0  # still within its minute
        async with pg_repo.engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE rate_chats SET next_at = next_at - interval '2 minutes'")
        assert await b.prune() == 1
    finally:
        await b.close()


async def test_replies_overtake_a_broadcast_in_the_shared_limiter(pg_repo: SqlRepository) -> None:
    limiter = SharedRateLimiter(budget(pg_repo, rate=4.0, bulk_horizon=0.3))
    order: list[str] = []

    async def call(label: str) -> dict[str, Any]:
        order.append(label)
        return {"ok": True}

    async def send(label: str, chat_id: int) -> None:
        await limiter.process_request(call, (label,), {}, "sendMessage", {"chat_id": chat_id}, None)

    async def broadcast() -> None:
        with bulk_sending():
            await asyncio.gather(*(send(f"b{i}", 100 + i) for i in range(8)))

    try:
        sending = asyncio.create_task(broadcast())
        while len(order) < 2:  # noqa: ASYNC110 - the limiter offers no event to wait on
            await asyncio.sleep(0.05)
        await send("reply", 1)
        await sending
    finally:
        await limiter.shutdown()
    assert order.index("reply") <= 4  # not behind the 6 broadcast messages still queued
    assert sorted(order) == sorted(["reply", *(f"b{i}" for i in range(8))])
