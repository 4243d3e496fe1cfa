"""The quarterly reminders for a web-only deployment (no Telegram process): a daily 09:00 Asia/Shanghai
run plus a catch-up run shortly after start, as the Telegram JobQueue does. Reminders reach web users in
their chat history; creation is deduplicated in the database, so running it beside Telegram is harmless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from handlers.services import Services
from policies.reminders import CreatedReminder
from policies.settings import TIMEZONE

logger = logging.getLogger(__name__)

SEND_AT = dt.time(9, 0)
CATCH_UP_DELAY = 10.0  # seconds after start: reminders missed while the server was down


async def run_once(svc: Services) -> list[CreatedReminder]:
    """Create what is due today (web recipients receive it in the same transaction)."""
    return await svc.create_due_reminders()


def seconds_until_next_run(now: dt.datetime) -> float:
    """Seconds from `now` (aware) to the next 09:00 in Asia/Shanghai."""
    local = now.astimezone(TIMEZONE)
    target = dt.datetime.combine(local.date(), SEND_AT, tzinfo=TIMEZONE)
    if target <= local:
        target += dt.timedelta(days=1)
    return (target - local).total_seconds()


async def reminder_loop(svc: Services, now: Callable[[], dt.datetime] | None = None) -> None:
    clock = now or (lambda: dt.datetime.now(dt.UTC))
    await asyncio.sleep(CATCH_UP_DELAY)
    while True:
        try:
            created = await run_once(svc)
            logger.info(
                "Reminders: %d due, %d created", len(created), sum(c.broadcast is not None for c in created)
            )
        except Exception:  # a bad day must not end the loop
            logger.exception("Creating the due reminders failed")
        await asyncio.sleep(seconds_until_next_run(clock()))


def reminders_ctx(svc: Services) -> Callable[[web.Application], AsyncIterator[None]]:
    """A `cleanup_ctx` entry that runs the loop while the app serves."""

    async def ctx(_app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(reminder_loop(svc), name="web-reminders")
        yield
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    return ctx
