"""Smooth pacing for outgoing messages, so a broadcast never trips Telegram's flood limits.

PTB's AIORateLimiter lets 30 requests go at once and then 30/s, knows no per-private-chat limit
and retries nothing by default. `PacedRateLimiter` instead:

* spaces sending requests evenly at `rate` per second (default 29.5, no initial burst), measured
  between *actual* dispatch times, so a server counting 30 in any sliding second never trips even
  when the event loop is late;
* paces each private chat with a token bucket (1 message/s sustained, burst 3) - the model
  `handlers/fakeapi` enforces and Telegram documents ("about one message per second");
* on RetryAfter pauses the whole pacer for `retry_after` and retries up to `max_retries` times;
  the pause is recorded even when the retries are exhausted, so a caller that retries again
  waits exactly once (the pacer does the waiting, the caller must not sleep a second time).

Only message-producing methods are paced; getUpdates, answerCallbackQuery and the like pass through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

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

    def __init__(
        self,
        rate: float = 29.5,
        *,
        per_chat_rate: float = 1.0,
        per_chat_burst: int = 3,
        max_retries: int = 3,
        safety: float = 0.01,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or per_chat_rate <= 0 or per_chat_burst < 1 or max_retries < 0:
            raise ValueError("rate, per_chat_rate must be > 0, per_chat_burst >= 1, max_retries >= 0")
        self.rate = rate
        self._interval = 1.0 / rate
        self._chat_interval = 1.0 / per_chat_rate + safety
        self._chat_tolerance = (per_chat_burst - 1) * self._chat_interval
        self._max_retries = max_retries
        self._clock = clock
        self._sleep = sleep
        self._global_lock = asyncio.Lock()
        self._next_at = float("-inf")  # earliest dispatch time of the next paced request
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
            await self._acquire(chat_id)
            try:
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

    async def _acquire(self, chat_id: int | None) -> None:
        """Wait for the chat's bucket (if private), then for the global slot; record the dispatch."""
        if chat_id is None:
            await self._acquire_global()
            return
        bucket = self._bucket(chat_id)
        async with bucket.lock:
            while (wait := bucket.tat - self._chat_tolerance - self._clock()) > 0:
                await self._sleep(wait)
            await self._acquire_global()
            bucket.tat = max(bucket.tat, self._clock()) + self._chat_interval

    async def _acquire_global(self) -> None:
        """FIFO: each dispatch is at least one interval after the previous actual dispatch."""
        async with self._global_lock:
            while (wait := max(self._next_at, self._paused_until) - self._clock()) > 0:
                await self._sleep(wait)
            self._next_at = self._clock() + self._interval
            self.dispatched += 1

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
