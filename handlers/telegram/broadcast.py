"""The outbox sender: delivers a persisted broadcast (or reminder) to every recipient.

Delivery guarantee (README "Broadcast delivery guarantee")
-----------------------------------------------------------
Each recipient is one outbox row: pending -> sending -> sent | failed | blocked. A row is marked
`sending` (committed) just before its request goes out and `sent` (with Telegram's message_id)
just after the answer arrives. If the process dies in between, the next run - `python bot.py
broadcast --resume`, or the sender worker's `sender_loop` - sends every row left in
`sending` again. Telegram's sendMessage has no idempotency key, so a request that reached
Telegram just before the crash (or timed out after arriving) is delivered twice: delivery is
*at-least-once* for that narrow in-flight window (at most `concurrency` rows per crash) and
exactly-once otherwise. We prefer a rare duplicate to a silently missed deadline reminder.
Several workers on PostgreSQL send one broadcast together: each claims rows with SKIP LOCKED, a live
worker's in-flight rows are never taken from it, a dead one's are taken back at once (storage's presence
locks), and every message reserves its slot in the shared rate budget as *bulk*, behind replies
(`SharedRateLimiter`). On SQLite run one process only (a second one would re-send the first one's
in-flight rows; `bot.py run` refuses to start twice on one file).

Outcomes per row
----------------
* success -> sent (message_id kept);
* Forbidden (the user blocked the bot) -> blocked, and the subscriber is marked blocked; not retried;
* RetryAfter -> retried after the wait; `PacedRateLimiter` / `SharedRateLimiter` already paused every
  request for it, so the sender does not sleep a second time (it sleeps itself only under another
  limiter);
* NetworkError / TimedOut / 5xx -> released to pending and retried with exponential backoff and
  jitter, `failed` after `max_attempts` attempts;
* BadRequest (chat not found, text too long, ...) and other API errors -> failed at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import IO, Any, Protocol, runtime_checkable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from handlers.telegram.context import services_of
from handlers.telegram.ratelimit import bulk_sending, retry_after_seconds
from policies.ports import Repository
from policies.records import BroadcastTotals, OutboxItem

logger = logging.getLogger(__name__)

Totals = BroadcastTotals  # the name this module and its callers have used


Progress = Callable[[Totals], Awaitable[None]]


class BroadcastError(Exception):
    """The broadcast cannot continue at all (bad token, unknown broadcast)."""


_running: set[int] = set()  # broadcast ids being sent by this process


class OutboxSender:
    """Send one broadcast's outbox rows with `concurrency` requests in flight.

    The bot's rate limiter does the pacing (`PacedRateLimiter`, or `SharedRateLimiter` for several
    workers; the sender's requests are marked bulk); `concurrency` only has to cover the request
    latency (16 x ~300 ms to Telegram > 30 msg/s).
    """

    def __init__(
        self,
        bot: Bot,
        repo: Repository,
        *,
        concurrency: int = 16,
        max_attempts: int = 5,
        max_retry_after: int = 10,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        progress_interval: float = 3.0,
    ) -> None:
        self.bot = bot
        self.repo = repo
        self.concurrency = max(1, concurrency)
        self.max_attempts = max(1, max_attempts)
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.progress_interval = progress_interval
        limiter = getattr(bot, "rate_limiter", None)
        self._limiter_pauses = bool(getattr(limiter, "pauses_on_retry_after", False))
        self._not_before: dict[int, float] = {}  # item id -> monotonic time its retry may go
        self.retry_afters = 0  # RetryAfter errors seen by the sender (after the limiter's own retries)

    # --------------------------------------------------------------------------------- running
    async def run(self, broadcast_id: int, progress: Progress | None = None) -> Totals:
        """Send every open row of `broadcast_id`; returns the final totals."""
        if broadcast_id in _running:
            raise BroadcastError(f"broadcast {broadcast_id} is already being sent by this process")
        broadcast = await self.repo.get_broadcast(broadcast_id)
        if broadcast is None:
            raise BroadcastError(f"broadcast {broadcast_id} does not exist")
        _running.add(broadcast_id)
        reporter = asyncio.create_task(self._report(broadcast_id, progress)) if progress else None
        try:
            markup = _markup(broadcast.buttons)
            await self._send_all(broadcast_id, broadcast.text, markup)
            while progress is not None and not (await self.totals(broadcast_id)).done:
                # other workers still send their rows (or one died and left them: take them over)
                await asyncio.sleep(self.progress_interval)
                await self._send_all(broadcast_id, broadcast.text, markup)
        finally:
            _running.discard(broadcast_id)
            if reporter is not None:
                reporter.cancel()
                await asyncio.gather(reporter, return_exceptions=True)
        totals = await self.totals(broadcast_id)
        await _notify(progress, totals)
        logger.info("Broadcast %s finished: %s", broadcast_id, totals)
        return totals

    async def totals(self, broadcast_id: int) -> Totals:
        broadcast = await self.repo.get_broadcast(broadcast_id)
        return Totals.from_counts(broadcast.totals if broadcast else {})

    async def _send_all(
        self, broadcast_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """A producer claims rows into a small queue; workers send them. Released rows (retries)
        are pending again, so the producer keeps claiming until nothing is pending or in flight."""
        queue: asyncio.Queue[OutboxItem | None] = asyncio.Queue(maxsize=self.concurrency)
        in_flight = 0
        changed = asyncio.Event()

        async def worker() -> None:
            nonlocal in_flight
            with bulk_sending():  # behind replies in the shared budget
                while (item := await queue.get()) is not None:
                    try:
                        await self._deliver(item, text, markup)
                    finally:
                        in_flight -= 1
                        changed.set()

        async def producer() -> None:
            nonlocal in_flight
            while True:
                changed.clear()
                items = await self.repo.claim_outbox(broadcast_id, self.concurrency)
                if not items:
                    if in_flight == 0:
                        break
                    await changed.wait()  # a retry may put a row back to pending
                    continue
                for item in items:
                    in_flight += 1
                    await queue.put(item)
            for _ in range(self.concurrency):
                await queue.put(None)

        try:
            async with asyncio.TaskGroup() as group:  # one failure (database, token) stops them all
                group.create_task(producer())
                for _ in range(self.concurrency):
                    group.create_task(worker())
        except BaseExceptionGroup as eg:
            raise eg.exceptions[0] from None

    async def _report(self, broadcast_id: int, progress: Progress) -> None:
        while True:
            await _notify(progress, await self.totals(broadcast_id))
            await asyncio.sleep(self.progress_interval)

    # ------------------------------------------------------------------------------- one row
    async def _deliver(self, item: OutboxItem, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Send one row and record the outcome; see the module docstring."""
        delay = self._not_before.pop(item.id, 0.0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        retry_afters = 0
        while True:
            try:
                message = await self.bot.send_message(item.chat_id, text, reply_markup=markup)
            except RetryAfter as exc:
                self.retry_afters += 1
                retry_afters += 1
                if retry_afters > self.max_retry_after:
                    await self._retry_or_fail(item, exc)
                    return
                if not self._limiter_pauses:  # our rate limiters already hold everything back
                    await asyncio.sleep(retry_after_seconds(exc))
                continue
            except Forbidden as exc:
                await self.repo.finish_outbox(item.id, "blocked", error=_describe(exc))
                await self.repo.mark_blocked(item.user_id)
                logger.info("User %s blocked the bot; marked inactive", item.user_id)
            except BadRequest as exc:  # before NetworkError: BadRequest is a subclass of it
                await self.repo.finish_outbox(item.id, "failed", error=_describe(exc))
                logger.warning("Outbox row %s to user %s failed: %s", item.id, item.user_id, exc)
            except InvalidToken as exc:
                await self.repo.release_outbox(item.id, _describe(exc))
                raise BroadcastError("the bot token was refused; broadcast stopped") from exc
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                await self._retry_or_fail(item, exc)
            except TelegramError as exc:  # ChatMigrated, Conflict, EndPointNotFound, ...
                await self.repo.finish_outbox(item.id, "failed", error=_describe(exc))
                logger.warning("Outbox row %s to user %s failed: %s", item.id, item.user_id, exc)
            else:
                await self.repo.finish_outbox(item.id, "sent", message_id=message.message_id)
            return

    async def _retry_or_fail(self, item: OutboxItem, exc: Exception) -> None:
        attempt = item.attempts + 1
        if attempt >= self.max_attempts:
            await self.repo.finish_outbox(item.id, "failed", error=_describe(exc))
            logger.warning("Outbox row %s failed after %d attempts: %s", item.id, attempt, exc)
            return
        await self.repo.release_outbox(item.id, _describe(exc))
        self._not_before[item.id] = time.monotonic() + self.backoff(attempt)
        logger.info("Outbox row %s: attempt %d failed (%s); will retry", item.id, attempt, exc)

    def backoff(self, attempt: int) -> float:
        """Exponential with 'equal jitter': half fixed, half random, capped."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _markup(buttons: tuple[tuple[tuple[str, str], ...], ...]) -> InlineKeyboardMarkup | None:
    """A broadcast's inline buttons (a membership request's 同意 / 拒绝), or None."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in line] for line in buttons]
    )


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


async def _notify(progress: Progress | None, totals: Totals) -> None:
    if progress is None:
        return
    try:
        await progress(totals)
    except Exception:  # a failed progress edit must not stop the broadcast
        logger.warning("Progress report failed", exc_info=True)


# ------------------------------------------------------------------------------ progress sinks
def message_progress(bot: Bot, chat_id: int, message_id: int) -> Progress:
    """Edit one Telegram message with the totals (skipped when the text would not change)."""
    last = ""

    async def report(totals: Totals) -> None:
        nonlocal last
        text = totals.describe()
        if text != last:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
            last = text

    return report


def text_progress(stream: IO[str] | None = None, width: int = 30) -> Progress:
    """A plain-text progress bar redrawn in place with '\\r' (stderr by default)."""

    async def report(totals: Totals) -> None:
        out = stream or sys.stderr
        done = totals.total - totals.left
        filled = width * done // totals.total if totals.total else width
        bar = "#" * filled + "." * (width - filled)
        end = "\n" if totals.done else ""
        out.write(f"\r[{bar}] {done}/{totals.total} {totals.describe()}{end}")
        out.flush()

    return report


# ------------------------------------------------------------------------------------ resuming
async def resume_all(
    bot: Bot, repo: Repository, *, progress: Progress | None = None, **sender_options: Any
) -> list[Totals]:
    """Finish every broadcast a crash or restart interrupted, oldest first."""
    results = []
    for broadcast in await repo.unfinished_broadcasts():
        if broadcast.id in _running:
            continue
        logger.info("Resuming broadcast %s (%s)", broadcast.id, dict(broadcast.totals))
        results.append(await OutboxSender(bot, repo, **sender_options).run(broadcast.id, progress))
    return results


@runtime_checkable
class Leads(Protocol):
    async def lead(self) -> bool: ...


async def leads(repo: object) -> bool:
    """Whether this process does the housekeeping one worker is enough for (a repository without
    roles, i.e. one process, always does)."""
    return await repo.lead() if isinstance(repo, Leads) else True


async def sender_loop(app: Any, interval: float = 2.0) -> None:
    """Run in every worker: every `interval` seconds finish every open broadcast (an admin's from another
    worker, a reminder, or rows a dead worker left), sharing the rows with the other workers (SKIP
    LOCKED) and the rate budget; the leading worker also prunes old update ids and idle chats' budget."""
    repo = services_of(app).repo
    while True:
        try:
            await resume_all(app.bot, repo)
            if await leads(repo):
                prune = getattr(repo, "prune_updates", None)
                if prune is not None:
                    await prune()
                budget = getattr(getattr(app.bot, "rate_limiter", None), "budget", None)
                if budget is not None:
                    await budget.prune()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("Sending open broadcasts failed; trying again shortly")
        await asyncio.sleep(interval)
