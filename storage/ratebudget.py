"""One Telegram rate budget for every worker of a bot, kept in PostgreSQL (no other infrastructure).

Telegram allows a bot about 30 messages/s in all and about 1/s per private chat. With N workers each
pacing itself, N x 29.5/s would go out; so every outgoing message first reserves its send time here:

* `rate_slots` (one row per bot) is an even grid: `next_at` is the earliest time of the next message.
  A reservation is one atomic upsert, `next_at = greatest(next_at, clock_timestamp()) + 1/rate`, that
  returns the reserved slot as *seconds from now* (the database's clock, so workers on machines with
  skewed clocks still space their requests correctly). Concurrent reservations serialise on the row.
* `rate_chats` (per bot and private chat, pruned after a minute idle) is a GCRA token bucket: the
  theoretical arrival time of the chat's next message; 1/s (+10 ms safety) with a burst of 3.
* Priority: a reply to a user who is waiting always takes the next free slot. A broadcast (bulk) takes
  one only while the grid is booked less than `bulk_horizon` seconds ahead (default 0.25 s, about 7
  slots); otherwise it is refused and asks again a little later. So replies wait behind at most
  `bulk_horizon` of broadcast traffic, and a broadcast gets every slot no reply wants.
* Jitter: Telegram counts requests as they *arrive* in any sliding second, and a busy machine delays
  some requests more than others, bunching them up. So, as `PacedRateLimiter` does in one process,
  every reservation gets a number (`rate_slots.seq`, logged in `rate_sends`), and request k may only
  go `window_seconds` (1.005 s) after request k-30 *completed* (`finish`), whichever worker sent it:
  Telegram counted k-30 before answering it, so no 31 requests ever arrive within one second, however
  late any of them went. A request 30 places earlier that never completes because its worker died is
  not waited for: each send records the reserving connection's `pg_backend_pid()`, and once that
  backend is gone (the kernel closed the dead worker's socket, so PostgreSQL ended it) the send counts
  as completed then - it arrived, if ever, before its connection closed. Any other request still in
  flight is waited for at most `stale_after` seconds: 10 s, longer than a healthy request takes even on
  a loaded machine (with 3 s, a slow answer on a 2-core machine at load 6 once let two requests go
  early: 429).
* A 429 (RetryAfter) from Telegram pushes the whole grid back (`pause`): every worker waits.

A chat's slot is reserved (and waited for) before its global slot, so a chat-limited message never
books a global slot it cannot use. Each reservation is one statement on one connection kept by the
budget (not the pool: an update holding a pooled connection while its replies wait for slots must
never wait for another pooled connection to reserve them; `storage.db.side_engine`). No batching is
needed: `bench/ratebudget.py` measured a message's three statements (chat, ticket, finish) at p50 8 ms
one at a time and 252 messages/s through one worker's connection with 16 at once - on a loaded 2-core
machine - against the 30 messages/s Telegram allows the whole bot.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

_SLOT = text(
    "WITH slot AS ("
    " INSERT INTO rate_slots (bot_id, next_at, seq) "
    " VALUES (:bot, clock_timestamp() + make_interval(secs => :iv), 1) "
    " ON CONFLICT (bot_id) DO UPDATE "
    " SET next_at = greatest(rate_slots.next_at, clock_timestamp()) + make_interval(secs => :iv), "
    "     seq = rate_slots.seq + 1 "
    " WHERE rate_slots.next_at <= clock_timestamp() + make_interval(secs => :horizon) "
    " RETURNING seq, next_at), "
    "logged AS (INSERT INTO rate_sends (bot_id, seq, backend_pid) "
    "           SELECT :bot, seq, pg_backend_pid() FROM slot) "
    "SELECT slot.seq, extract(epoch FROM slot.next_at - clock_timestamp())::float8, "
    "       earlier.seq IS NOT NULL, "
    "       extract(epoch FROM earlier.done_at - clock_timestamp())::float8 "
    "FROM slot LEFT JOIN rate_sends earlier ON earlier.bot_id = :bot AND earlier.seq = slot.seq - :limit"
)
# (seconds since it completed or None, whether its worker's connection is gone)
_EARLIER = text(
    "SELECT extract(epoch FROM done_at - clock_timestamp())::float8, "
    "       backend_pid IS NOT NULL AND NOT EXISTS "
    "         (SELECT 1 FROM pg_stat_activity WHERE pid = rate_sends.backend_pid) "
    "FROM rate_sends WHERE bot_id = :bot AND seq = :seq"
)
_FINISH = text(
    "UPDATE rate_sends SET done_at = clock_timestamp() - make_interval(secs => :ago) "
    "WHERE bot_id = :bot AND seq = :seq"
)
_CHAT = text(
    "INSERT INTO rate_chats (bot_id, chat_id, next_at) "
    "VALUES (:bot, :chat, clock_timestamp() + make_interval(secs => :iv)) "
    "ON CONFLICT (bot_id, chat_id) DO UPDATE "
    "SET next_at = greatest(rate_chats.next_at, clock_timestamp()) + make_interval(secs => :iv) "
    "RETURNING extract(epoch FROM next_at - clock_timestamp())::float8"
)
_PAUSE = text(
    "INSERT INTO rate_slots (bot_id, next_at, seq) "
    "VALUES (:bot, clock_timestamp() + make_interval(secs => :s), 0) "
    "ON CONFLICT (bot_id) DO UPDATE "
    "SET next_at = greatest(rate_slots.next_at, clock_timestamp() + make_interval(secs => :s))"
)
_PRUNE = text(
    "DELETE FROM rate_chats WHERE bot_id = :bot AND next_at < clock_timestamp() - interval '1 minute'"
)
_PRUNE_SENDS = text(
    "DELETE FROM rate_sends WHERE bot_id = :bot "
    "AND seq < (SELECT seq FROM rate_slots WHERE bot_id = :bot) - 1000"
)
_UNBOUNDED = 1e9  # seconds: a reply's reservation is never refused


@dataclass(frozen=True)
class Ticket:
    """A reserved send: `wait` seconds until its slot. `earlier_done` is how many seconds ago (negative)
    the request `window_limit` places earlier completed, None while that one is still in flight;
    `earlier` says whether there was one at all."""

    seq: int
    wait: float
    earlier: bool
    earlier_done: float | None


class RateBudget:
    """The shared budget of bot `bot_id` (see the module docstring): `ticket` + `wait_for` + `finish`
    for every send (after `reserve_chat` for a private chat), `pause` on RetryAfter."""

    def __init__(
        self,
        engine: AsyncEngine,
        bot_id: int,
        *,
        rate: float = 29.5,
        chat_rate: float = 1.0,
        chat_burst: int = 3,
        bulk_horizon: float = 0.25,
        safety: float = 0.01,
        window_limit: int = 30,
        window_seconds: float = 1.005,
        stale_after: float = 10.0,
    ) -> None:
        if rate <= 0 or chat_rate <= 0 or chat_burst < 1 or bulk_horizon < 0:
            raise ValueError("rates must be > 0, chat_burst >= 1, bulk_horizon >= 0")
        self._engine = engine
        self.bot_id = bot_id
        self.rate = rate
        self.interval = 1.0 / rate
        self.chat_interval = 1.0 / chat_rate + safety
        self._chat_tolerance = (chat_burst - 1) * self.chat_interval
        self.bulk_horizon = bulk_horizon
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        self.stale_after = stale_after
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self.reservations = 0  # figures for tests and benchmarks
        self.refusals = 0
        self.window_waits = 0
        self.abandoned = 0  # earlier sends whose worker died in flight (not waited for)

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        return self._conn

    async def _drop(self) -> None:
        """A broken connection: invalidate it, the next call reconnects."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.invalidate()
            except Exception:  # already gone
                log.debug("Could not invalidate the rate budget's connection", exc_info=True)

    async def _run(self, statement: Any, **params: Any) -> Any:
        """Run one statement for this bot on the budget's own connection (one at a time; a failure
        drops the connection); the result is buffered, so it is read after the lock is released."""
        async with self._lock:
            conn = await self._connection()
            try:
                return await conn.execute(statement, {"bot": self.bot_id, **params})
            except BaseException:
                await self._drop()
                raise

    async def _scalar(self, statement: Any, **params: Any) -> Any:
        result = await self._run(statement, **params)
        return result.scalar_one_or_none() if result.returns_rows else None

    async def ticket(self, *, bulk: bool = False) -> Ticket | None:
        """Reserve the next global slot. None: a bulk request refused because replies (or other bulk
        requests) have the grid booked more than `bulk_horizon` ahead."""
        horizon = self.bulk_horizon if bulk else _UNBOUNDED
        result = await self._run(_SLOT, iv=self.interval, horizon=horizon, limit=self.window_limit)
        row = result.first()
        if row is None:
            self.refusals += 1
            return None
        self.reservations += 1
        seq, ahead, earlier, earlier_done = row
        return Ticket(int(seq), max(0.0, float(ahead) - self.interval), bool(earlier), earlier_done)

    async def wait_for(self, ticket: Ticket, sleep: Any = asyncio.sleep) -> None:
        """Sleep until `ticket`'s slot and until `window_seconds` after the request `window_limit`
        places earlier completed (if that one is still in flight at the slot, poll for it until it
        completes or its worker's connection is gone, at most `stale_after` seconds)."""
        loop = asyncio.get_running_loop()
        asked = loop.time()
        target = asked + ticket.wait
        done = ticket.earlier_done
        if ticket.earlier and done is None:
            await _sleep_until(loop, target, sleep)
            give_up = loop.time() + self.stale_after
            while (done := await self._earlier_done(ticket.seq - self.window_limit)) is None:
                if loop.time() > give_up:
                    log.warning("Send %d never completed; not waiting for it any longer",
                                ticket.seq - self.window_limit)  # fmt: skip
                    break
                await sleep(0.02)
            asked = loop.time()
        if done is not None and asked + float(done) + self.window_seconds > target:
            self.window_waits += 1
            target = asked + float(done) + self.window_seconds
        await _sleep_until(loop, target, sleep)

    async def _earlier_done(self, seq: int) -> float | None:
        """Seconds since send `seq` completed (<= 0); 0.0 (now) if its worker died with it in flight;
        None while it is in flight on a live worker."""
        row = (await self._run(_EARLIER, seq=seq)).first()
        if row is None:  # pruned long ago
            return 0.0
        done, worker_gone = row
        if done is not None:
            return float(done)
        if worker_gone:
            self.abandoned += 1
            return 0.0
        return None

    async def finish(self, seq: int, completed_at: float | None = None) -> None:
        """Send `seq` got its answer (or was given up) at `completed_at` (the event loop's clock; default
        now): later sends count their second from then. The time is taken here, not when the statement
        runs, so waiting for the connection does not make the next sends wait longer."""
        loop = asyncio.get_running_loop()
        at = loop.time() if completed_at is None else completed_at
        async with self._lock:
            conn = await self._connection()
            try:
                ago = max(0.0, loop.time() - at)
                await conn.execute(_FINISH, {"bot": self.bot_id, "seq": seq, "ago": ago})
            except BaseException:
                await self._drop()
                raise

    async def reserve_chat(self, chat_id: int) -> float:
        """Reserve private chat `chat_id`'s next message; seconds until it may go."""
        ahead = await self._scalar(_CHAT, chat=chat_id, iv=self.chat_interval)
        return max(0.0, float(ahead) - self.chat_interval - self._chat_tolerance)

    async def pause(self, seconds: float) -> None:
        """Telegram said RetryAfter: no worker sends for `seconds`."""
        await self._scalar(_PAUSE, s=seconds)

    async def prune(self) -> int:
        """Forget chats idle for a minute (their bucket is full again)."""
        async with self._engine.begin() as conn:
            await conn.execute(_PRUNE_SENDS, {"bot": self.bot_id})
            result = await conn.execute(_PRUNE, {"bot": self.bot_id})
            return int(getattr(result, "rowcount", 0) or 0)

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()


async def _sleep_until(loop: asyncio.AbstractEventLoop, when: float, sleep: Any) -> None:
    if (delay := when - loop.time()) > 0:
        await sleep(delay)
