"""PacedRateLimiter: even spacing, per-chat buckets, RetryAfter pauses everything once."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import pytest
from telegram.error import RetryAfter

from handlers.telegram.ratelimit import PacedRateLimiter


class Recorder:
    """A fake Bot API call that records when it was dispatched; may raise RetryAfter first."""

    def __init__(self, retry_after: float = 0.0, failures: int = 0) -> None:
        self.calls: list[tuple[float, Any]] = []
        self.retry_after = retry_after
        self.failures = failures

    async def __call__(self, chat_id: Any) -> dict[str, Any]:
        self.calls.append((time.monotonic(), chat_id))
        if self.failures > 0:
            self.failures -= 1
            raise RetryAfter(dt.timedelta(seconds=self.retry_after))
        return {"ok": True}


async def send(limiter: PacedRateLimiter, rec: Recorder, chat_id: Any, endpoint: str = "sendMessage",
               retries: int | None = None) -> Any:  # fmt: skip
    return await limiter.process_request(rec, (chat_id,), {}, endpoint, {"chat_id": chat_id}, retries)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def token_bucket_violations(times: list[float], rate: float, burst: int) -> int:
    """The fake server's per-chat model: capacity `burst`, refilled at `rate` per second."""
    tokens, last, bad = float(burst), None, 0
    for t in sorted(times):
        if last is not None:
            tokens = min(burst, tokens + (t - last) * rate)
        last = t
        if tokens >= 1:
            tokens -= 1
        else:
            bad += 1
    return bad


async def test_global_pacing_is_even_with_no_initial_burst() -> None:
    limiter, rec = PacedRateLimiter(rate=100), Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(limiter, rec, 1000 + i) for i in range(40)))
    times = [t for t, _ in rec.calls]
    # On the grid: request k never earlier than k-1 intervals after the first (one late request may
    # be made up, never more), so there is no burst of 30 (or 3) at the start.
    assert all(t - times[0] >= (k - 1) * 0.01 - 0.0005 for k, t in enumerate(times))
    assert times[4] - start >= 0.029
    assert max_in_window(times, 1.0) <= 100
    assert time.monotonic() - start < 1.0  # and not much slower than the rate (loose: shared CI)


async def test_a_request_waits_a_window_after_the_completion_of_the_one_limit_places_back() -> None:
    """The server counts a request before answering it: completion times bound its sliding window."""
    limiter = PacedRateLimiter(rate=1000, window_limit=3, window_seconds=0.2)
    done: list[float] = []
    started: list[float] = []

    async def slow(chat_id: int) -> bool:
        started.append(time.monotonic())
        await asyncio.sleep(0.05)  # network + server time
        done.append(time.monotonic())
        return True

    await asyncio.gather(*(limiter.process_request(slow, (i,), {}, "sendMessage", {"chat_id": i}, None)
                           for i in range(1, 8)))  # fmt: skip
    for k in range(3, 7):
        assert started[k] >= done[k - 3] + 0.2 - 0.001


async def test_default_rate_never_puts_31_in_a_sliding_second() -> None:
    limiter, rec = PacedRateLimiter(), Recorder()
    await asyncio.gather(*(send(limiter, rec, 1000 + i) for i in range(45)))
    times = [t for t, _ in rec.calls]
    assert max_in_window(times, 1.0) == 30
    assert 28.0 <= (len(times) - 1) / (times[-1] - times[0]) <= 29.5


async def test_private_chat_gets_a_burst_of_three_then_its_own_rate() -> None:
    limiter, rec = PacedRateLimiter(rate=1000, per_chat_rate=20, per_chat_burst=3, safety=0), Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(limiter, rec, 42) for _ in range(8)))
    times = [t - start for t, _ in rec.calls]
    assert times[2] < 0.045  # the burst (the 4th is due only at 0.05)
    assert times[3] >= 0.045  # then one per 1/20 s
    assert token_bucket_violations([t for t, _ in rec.calls], 20, 3) == 0
    assert times[-1] >= 5 * 0.05 - 0.005


async def test_one_slow_chat_does_not_hold_up_the_others() -> None:
    limiter, rec = PacedRateLimiter(rate=1000, per_chat_rate=5, per_chat_burst=1), Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(limiter, rec, 7) for _ in range(3)), send(limiter, rec, 8))
    other = next(t for t, chat in rec.calls if chat == 8)
    assert other - start < 0.15  # chat 7's second message is due only at 0.2


async def test_groups_and_non_sending_methods_skip_the_chat_bucket() -> None:
    limiter, rec = PacedRateLimiter(rate=1000, per_chat_rate=1, per_chat_burst=1), Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(limiter, rec, -100123) for _ in range(5)))  # a group: global pacing only
    limiter.pause(10)  # a RetryAfter pause does not block callback answers or getUpdates
    await send(limiter, rec, 5, endpoint="answerCallbackQuery")
    await send(limiter, rec, 5, endpoint="getUpdates")
    assert time.monotonic() - start < 1.0  # the pause is 10 s


async def test_retry_after_pauses_every_sender_then_retries_once() -> None:
    limiter = PacedRateLimiter(rate=1000, max_retries=2)
    rec = Recorder(retry_after=0.3, failures=1)
    start = time.monotonic()
    first = asyncio.create_task(send(limiter, rec, 1))
    await asyncio.sleep(0.05)
    await asyncio.gather(first, send(limiter, rec, 2))  # chat 2 arrives during the pause
    assert limiter.retry_after_hits == 1
    assert sorted(chat for _, chat in rec.calls) == [1, 1, 2]
    assert all(t - start >= 0.3 for t, _ in rec.calls[1:])  # nothing went during the pause
    assert time.monotonic() - start < 0.58  # waited once (0.3 s), not twice (0.6 s)


async def test_retry_after_beyond_max_retries_raises_but_keeps_the_pause() -> None:
    limiter = PacedRateLimiter(rate=1000, max_retries=1)
    rec = Recorder(retry_after=0.2, failures=5)
    with pytest.raises(RetryAfter):
        await send(limiter, rec, 1)
    assert len(rec.calls) == 2 and limiter.retry_after_hits == 2
    assert limiter.paused_until > time.monotonic()  # the caller's retry waits in the pacer
    rec.failures = 0
    start = time.monotonic()
    await send(limiter, rec, 1, retries=0)
    assert time.monotonic() - start >= 0.15


def test_invalid_configuration_is_refused() -> None:
    with pytest.raises(ValueError):
        PacedRateLimiter(rate=0)
