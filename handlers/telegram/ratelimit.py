"""Smooth pacing for outgoing messages, so a broadcast never trips Telegram's flood limits.

PTB's AIORateLimiter lets 30 requests go at once and then 30/s, knows no per-private-chat limit
and retries nothing by default. `PacedRateLimiter` instead:

* spaces sending requests evenly at `rate` per second (default 29.5, no initial burst) on a grid
  that forgives up to one interval of event-loop lateness, so the rate holds under load;
* never starts a request until `window_seconds` (1 s + 5 ms) after the request `window_limit`
  (default ceil(rate) = 30) places earlier *completed*. The server counted that one before
  answering it, so this bounds what it sees in any sliding second at 30 whatever the network
  and scheduling jitter (a guard on dispatch times alone is not enough: a busy event loop or
  server bunches requests up);
* paces each private chat with a token bucket (1 message/s sustained, burst 3 - the model
  `tests/fakeapi` enforces; Telegram documents "about one message per second"), one request
  in flight per chat (so a chat also gets its messages in order), accounted at completion time;
* on RetryAfter pauses the whole pacer for `retry_after` and retries up to `max_retries` times;
  the pause is recorded even when the retries are exhausted, so a caller that retries again
  waits exactly once (the pacer does the waiting, the caller must not sleep a second time).

Only message-producing methods are paced; getUpdates, answerCallbackQuery and the like pass through.
Against a distant server the completion rule costs throughput: 30 / (1 s + latency) at most.

`PacedRateLimiter` paces one process (SQLite, or polling). Several webhook workers on PostgreSQL use
`SharedRateLimiter` instead: the same limits held by all workers together through a budget in the
database (`storage.ratebudget`), with replies ahead of broadcasts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import warnings
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
ApiResult = bool | dict[str, Any] | list[dict[str, Any]]

# Bot API methods that put a message into a chat. Compared case-insensitively.
PACED_METHODS = frozenset(
    name.lower()
    for name in (
        "sendMessage", "sendPhoto", "sendAudio", "sendDocument", "sendVideo", "sendAnimation",
        "sendVoice", "sendVideoNote", "sendMediaGroup", "sendLocation", "sendVenue", "sendContact",
        "sendPoll", "sendDice", "sendSticker", "sendInvoice", "sendPaidMedia", "sendGame",
        "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
        "editMessageText", "editMessageCaption", "editMessageMedia", "editMessageReplyMarkup",
    )
)  # fmt: skip


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter's wait in seconds, without PTB's int/timedelta deprecation warning."""
    delta = getattr(exc, "_retry_after", None)
    if delta is not None and hasattr(delta, "total_seconds"):
        return float(delta.total_seconds())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return float(value.total_seconds() if hasattr(value, "total_seconds") else value)


class _Dispatch:
    """One paced request; `done_at` is set when its answer (or error) arrived."""

    __slots__ = ("done_at", "finished")

    def __init__(self) -> None:
        self.done_at = 0.0
        self.finished = asyncio.Event()

    def finish(self, now: float) -> float:
        self.done_at = now
        self.finished.set()
        return now


@dataclass
class _ChatBucket:
    """GCRA form of a token bucket: `tat` is the theoretical arrival time of the next message."""

    lock: asyncio.Lock
    tat: float = 0.0


class PacedRateLimiter(BaseRateLimiter[int]):
    """Evenly spaced global pacing + per-private-chat token buckets + RetryAfter pauses.

    `rate_limit_args` (an int) overrides `max_retries` for one call, as with AIORateLimiter.
    `clock` and `sleep` are injectable for tests.
    """

    pauses_on_retry_after = True  # OutboxSender: the limiter does the waiting

    def __init__(
        self,
        rate: float = 29.5,
        *,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        max_retries: int = 3,
        window_limit: int | None = None,
        window_seconds: float = 1.005,
        safety: float = 0.01,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or per_chat_rate <= 0 or per_chat_burst < 1 or max_retries < 0:
            raise ValueError("rates must be > 0, per_chat_burst >= 1, max_retries >= 0")
        self.rate = rate
        self._interval = 1.0 / rate
        self._chat_interval = 1.0 / per_chat_rate + safety
        self._chat_tolerance = (per_chat_burst - 1) * self._chat_interval
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._global_lock = asyncio.Lock()
        self._next_at = float("-inf")  # grid slot of the next paced request
        self._window_seconds = window_seconds
        limit = max(1, window_limit if window_limit is not None else math.ceil(rate))
        self._recent: deque[_Dispatch] = deque(maxlen=limit)  # the latest paced requests
        self._paused_until = float("-inf")
        self._chats: dict[int, _ChatBucket] = {}
        # Figures for benchmarks and tests.
        self.dispatched = 0
        self.retry_after_hits = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    @property
    def paused_until(self) -> float:
        """Clock time until which a RetryAfter holds every paced request back."""
        return self._paused_until

    def pause(self, seconds: float) -> None:
        """Hold every paced request back for `seconds` (from now)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        if endpoint.lower() not in PACED_METHODS:
            return await callback(*args, **kwargs)
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat_id = _private_chat_id(data.get("chat_id"))
        for attempt in range(max_retries + 1):
            try:
                async with self._slot(chat_id):
                    return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_after_seconds(exc)
                self.retry_after_hits += 1
                self.pause(seconds)
                if attempt == max_retries:
                    logger.warning("RetryAfter %.1fs on %s; giving up after %d retries", seconds,
                                   endpoint, max_retries)  # fmt: skip
                    raise
                logger.info("RetryAfter %.1fs on %s; pausing all sending", seconds, endpoint)
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def _slot(self, chat_id: int | None) -> AsyncIterator[None]:
        """Wait for the chat's bucket (if private) and the global pacer; account the completion."""
        bucket = self._bucket(chat_id) if chat_id is not None else None
        async with bucket.lock if bucket else contextlib.nullcontext():
            if bucket is not None:
                while (wait := bucket.tat - self._chat_tolerance - self._clock()) > 0:
                    await self._sleep(wait)
            dispatch = await self._acquire_global()
            try:
                yield
            finally:
                done = dispatch.finish(self._clock())
                if bucket is not None:  # the server consumed the token no later than this
                    bucket.tat = max(bucket.tat, done) + self._chat_interval

    async def _acquire_global(self) -> _Dispatch:
        """FIFO on an even grid, and `window_seconds` after the `window_limit`-th last completion."""
        async with self._global_lock:
            while True:
                target = max(self._next_at, self._paused_until)
                if len(self._recent) == self._recent.maxlen:
                    oldest = self._recent[0]
                    await oldest.finished.wait()
                    target = max(target, oldest.done_at + self._window_seconds)
                wait = target - self._clock()
                if wait <= 0:
                    break
                await self._sleep(wait)
            now = self._clock()
            # Lateness up to one interval is made up by the next request; more is lost (no bursts).
            self._next_at = (target if target >= now - self._interval else now) + self._interval
            dispatch = _Dispatch()
            self._recent.append(dispatch)
            self.dispatched += 1
            return dispatch

    def _bucket(self, chat_id: int) -> _ChatBucket:
        if len(self._chats) > 4096:
            self._forget_idle_chats()
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = _ChatBucket(asyncio.Lock())
        return bucket

    def _forget_idle_chats(self) -> None:
        """Drop buckets that are full again (their state no longer matters)."""
        now = self._clock()
        for chat_id, bucket in list(self._chats.items()):
            if bucket.tat <= now and not bucket.lock.locked():
                del self._chats[chat_id]


def _private_chat_id(chat_id: object) -> int | None:
    """Positive numeric chat ids are private chats; groups/channels are negative or @names."""
    with contextlib.suppress(TypeError, ValueError):
        value = int(chat_id)  # type: ignore[call-overload]
        return value if value > 0 else None
    return None


# ---------------------------------------------------------------------------------- several workers
_BULK: ContextVar[bool] = ContextVar("pairing_bulk_send", default=False)


@contextlib.contextmanager
def bulk_sending() -> Iterator[None]:
    """Mark the messages sent inside as bulk (a broadcast or reminder): under `SharedRateLimiter` they
    yield to replies (see `storage.ratebudget`). Context-local: other tasks are unaffected."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


class Budget(Protocol):
    """The shared rate budget (`storage.ratebudget.RateBudget`)."""

    bulk_horizon: float
    interval: float

    async def ticket(self, *, bulk: bool = False) -> Any: ...  # a Ticket, or None when bulk is refused
    async def wait_for(self, ticket: Any, sleep: Sleep = ...) -> None: ...
    async def finish(self, seq: int, completed_at: float | None = None) -> None: ...
    async def reserve_chat(self, chat_id: int) -> float: ...
    async def pause(self, seconds: float) -> None: ...
    async def close(self) -> None: ...


class SharedRateLimiter(BaseRateLimiter[int]):
    """Telegram's limits for all workers together: every paced request reserves its private chat's next
    time and a slot of the bot's grid in the database (`Budget`), waits for them and goes. Replies take
    the next slot; bulk sends (`bulk_sending`) only while the grid is booked less than `bulk_horizon`
    ahead, asking again after half of it when refused (one request at a time per worker asks). A
    request also waits until 1.005 s after the one 30 places earlier (in any worker) completed, so
    jitter never bunches 31 into one second. A RetryAfter pauses the shared grid, so every worker waits
    it out. Within this worker one request per private chat is in flight at a time, so a chat gets its
    messages in order.
    """

    pauses_on_retry_after = True  # OutboxSender: the limiter does the waiting

    def __init__(self, budget: Budget, *, max_retries: int = 3, sleep: Sleep = asyncio.sleep) -> None:
        self.budget = budget
        self._max_retries = max_retries
        self._sleep = sleep
        self._bulk_lock = asyncio.Lock()
        self._chats: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.dispatched = 0
        self.retry_after_hits = 0

    async def initialize(self) -> None:
        """Nothing to set up: the budget connects on first use."""

    async def shutdown(self) -> None:
        await self.budget.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        if endpoint.lower() not in PACED_METHODS:
            return await callback(*args, **kwargs)
        max_retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat_id = _private_chat_id(data.get("chat_id"))
        bulk = _BULK.get()
        lock = self._chat_lock(chat_id) if chat_id is not None else None
        async with lock if lock is not None else contextlib.nullcontext():
            for attempt in range(max_retries + 1):
                if chat_id is not None:
                    await self._wait(await self.budget.reserve_chat(chat_id))
                ticket = await self._ticket(bulk)
                completed_at: float | None = None
                try:
                    await self.budget.wait_for(ticket, self._sleep)
                    self.dispatched += 1
                    try:
                        return await callback(*args, **kwargs)
                    finally:
                        completed_at = asyncio.get_running_loop().time()
                except RetryAfter as exc:
                    seconds = retry_after_seconds(exc)
                    self.retry_after_hits += 1
                    await self.budget.pause(seconds)
                    if attempt == max_retries:
                        logger.warning("RetryAfter %.1fs on %s; giving up after %d retries", seconds,
                                       endpoint, max_retries)  # fmt: skip
                        raise
                    logger.info("RetryAfter %.1fs on %s; every worker pauses", seconds, endpoint)
                finally:
                    await asyncio.shield(self.budget.finish(ticket.seq, completed_at))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ticket(self, bulk: bool) -> Any:
        if not bulk:
            return await self.budget.ticket()  # a reply is never refused
        async with self._bulk_lock:
            while (ticket := await self.budget.ticket(bulk=True)) is None:
                await self._sleep(max(self.budget.bulk_horizon / 2, self.budget.interval))
            return ticket

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            await self._sleep(seconds)

    def _chat_lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._chats.get(chat_id)
        if lock is None:
            lock = self._chats[chat_id] = asyncio.Lock()
        return lock


def rate_limiter_for(repo: object, settings: Any) -> BaseRateLimiter[int]:
    """The limiter for `bot.py run` and the broadcast command: the shared budget when the repository
    offers one (PostgreSQL, any number of workers), else in-process pacing (SQLite, one process)."""
    make = getattr(repo, "rate_budget", None)
    rates = {"rate": settings.telegram_rate, "chat_rate": settings.telegram_chat_rate}
    budget = make(bot_id(settings.token), **rates) if make is not None else None
    if budget is not None:
        return SharedRateLimiter(budget)
    return PacedRateLimiter(settings.telegram_rate, per_chat_rate=settings.telegram_chat_rate)


def bot_id(token: str) -> int:
    """The bot's id, the token's prefix (the budget is per bot); 0 without a token."""
    head = token.split(":", 1)[0]
    return int(head) if head.isdigit() else 0
