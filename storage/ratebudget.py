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
* A 429 (RetryAfter) from Telegram pushes the whole grid back (`pause`): every worker waits.

A chat's slot is reserved (and waited for) before its global slot, so a chat-limited message never
books a global slot it cannot use. Each reservation is one statement on one connection kept by the
budget (not the pool: an update holding a pooled connection while its replies wait for slots must
never wait for another pooled connection to reserve them). About 1 ms per reservation locally
(`bench/ratebudget.py`), well below the 34 ms between two messages.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

_SLOT = text(
    "INSERT INTO rate_slots (bot_id, next_at) "
    "VALUES (:bot, clock_timestamp() + make_interval(secs => :iv)) "
    "ON CONFLICT (bot_id) DO UPDATE "
    "SET next_at = greatest(rate_slots.next_at, clock_timestamp()) + make_interval(secs => :iv) "
    "WHERE rate_slots.next_at <= clock_timestamp() + make_interval(secs => :horizon) "
    "RETURNING extract(epoch FROM next_at - clock_timestamp())::float8"
)
_CHAT = text(
    "INSERT INTO rate_chats (bot_id, chat_id, next_at) "
    "VALUES (:bot, :chat, clock_timestamp() + make_interval(secs => :iv)) "
    "ON CONFLICT (bot_id, chat_id) DO UPDATE "
    "SET next_at = greatest(rate_chats.next_at, clock_timestamp()) + make_interval(secs => :iv) "
    "RETURNING extract(epoch FROM next_at - clock_timestamp())::float8"
)
_PAUSE = text(
    "INSERT INTO rate_slots (bot_id, next_at) VALUES (:bot, clock_timestamp() + make_interval(secs => :s)) "
    "ON CONFLICT (bot_id) DO UPDATE "
    "SET next_at = greatest(rate_slots.next_at, clock_timestamp() + make_interval(secs => :s))"
)
_PRUNE = text(
    "DELETE FROM rate_chats WHERE bot_id = :bot AND next_at < clock_timestamp() - interval '1 minute'"
)
_UNBOUNDED = 1e9  # seconds: a reply's reservation is never refused


class RateBudget:
    """The shared budget of bot `bot_id` (see the module docstring). Methods return seconds to wait."""

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
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self.reservations = 0  # figures for tests and benchmarks
        self.refusals = 0

    async def _scalar(self, statement: Any, **params: Any) -> Any:
        async with self._lock:  # one statement at a time on the budget's own connection
            if self._conn is None:
                conn = await self._engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            try:
                result = await self._conn.execute(statement, {"bot": self.bot_id, **params})
                return result.scalar_one_or_none() if result.returns_rows else None
            except BaseException:
                conn, self._conn = self._conn, None  # a broken connection: the next call reconnects
                try:
                    await conn.invalidate()
                except Exception:  # already gone
                    log.debug("Could not invalidate the rate budget's connection", exc_info=True)
                raise

    async def reserve(self, *, bulk: bool = False) -> float | None:
        """Reserve the next global slot; seconds until it. None: a bulk request refused because replies
        (or other bulk requests) have the grid booked more than `bulk_horizon` ahead."""
        horizon = self.bulk_horizon if bulk else _UNBOUNDED
        ahead = await self._scalar(_SLOT, iv=self.interval, horizon=horizon)
        if ahead is None:
            self.refusals += 1
            return None
        self.reservations += 1
        return max(0.0, float(ahead) - self.interval)

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
            result = await conn.execute(_PRUNE, {"bot": self.bot_id})
            return int(getattr(result, "rowcount", 0) or 0)

    async def close(self) -> None:
        async with self._lock:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
