"""JobQueue wiring of the quarterly reminders: a daily 09:00 (Asia/Shanghai) run plus a catch-up run
shortly after start. `policies.reminders` creates each due reminder once (dedupe key "<id>:<quarter>",
also across restarts and processes); this module sends its Telegram rows with the OutboxSender, and
finishes any broadcast another process created (the web process runs the same daily creation)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.ext import Application, CallbackContext

from handlers.services import Services
from handlers.telegram.broadcast import BroadcastError, OutboxSender, Totals, resume_all
from handlers.telegram.context import services
from policies.reminders import Leaderboard
from policies.schedule import PlannedReminder
from policies.settings import TIMEZONE

logger = logging.getLogger(__name__)

JOB_NAME = "reminders"
CATCH_UP_JOB_NAME = "reminders-catch-up"
SEND_AT = dt.time(9, 0, tzinfo=TIMEZONE)
CATCH_UP_DELAY = 10.0  # seconds after start: reminders missed while the bot was down
LEADERBOARD_KEY = "leaderboard"  # Services.extras: async (quarter) -> leaderboard text


@dataclass(frozen=True)
class ReminderRun:
    """What happened to one due reminder: sent (totals), already done before (None), or skipped."""

    reminder: PlannedReminder
    totals: Totals | None
    skipped: str = ""


async def send_due(
    bot: Bot, svc: Services, leaderboard: Leaderboard | None = None, **sender_options: Any
) -> list[ReminderRun]:
    """Create every reminder due today that has not gone this quarter yet, and send it (every worker
    does: the database creates each once, and the workers share its rows and the rate budget)."""
    runs = []
    for item in await svc.create_due_reminders(leaderboard):
        if item.broadcast is None:
            runs.append(ReminderRun(item.reminder, None, item.skipped))
            continue
        try:
            totals = await OutboxSender(bot, svc.repo, **sender_options).run(item.broadcast.id)
        except BroadcastError:
            logger.exception("Reminder %s could not be sent", item.reminder.dedupe_key)
            totals = None
        runs.append(ReminderRun(item.reminder, totals))
    # a reminder another process created (the web chat's daily run) still needs its Telegram rows sent
    await resume_all(bot, svc.repo, **sender_options)
    return runs


async def run_reminders(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Job callback (daily and catch-up)."""
    svc = services(context)
    runs = await send_due(context.bot, svc, svc.extras.get(LEADERBOARD_KEY))
    for run in runs:
        if run.totals is not None:
            logger.info("Reminder %s: %s", run.reminder.dedupe_key, run.totals.describe())


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Schedule the daily job (replacing an existing one) and one catch-up run after start."""
    jobs = app.job_queue
    if jobs is None:
        logger.warning("No JobQueue (install python-telegram-bot[job-queue]); reminders are off")
        return
    for name in (JOB_NAME, CATCH_UP_JOB_NAME):
        for job in jobs.get_jobs_by_name(name):
            job.schedule_removal()
    jobs.run_daily(run_reminders, time=SEND_AT, name=JOB_NAME)
    jobs.run_once(run_reminders, when=CATCH_UP_DELAY, name=CATCH_UP_JOB_NAME)
