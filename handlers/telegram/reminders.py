"""JobQueue wiring of the quarterly reminders: a daily 09:00 (Asia/Shanghai) run plus a catch-up run
shortly after start. `policies.reminders` creates each due reminder once (dedupe key "<id>:<quarter>",
also across restarts and processes); this module sends its Telegram rows with the OutboxSender, and
finishes any broadcast another process created (the web process runs the same daily creation)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.ext import Application, CallbackContext

from handlers.telegram.broadcast import BroadcastError, OutboxSender, Totals, is_sender, resume_all
from handlers.telegram.context import services
from policies.models import PolicyBase
from policies.ports import Repository
from policies.reminders import Leaderboard, create_due_reminders
from policies.schedule import PlannedReminder
from policies.settings import TIMEZONE
from storage.reports import SqlReports

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
    bot: Bot,
    repo: Repository,
    base: PolicyBase,
    today: dt.date,
    *,
    admin_ids: Collection[int] = (),
    leaderboard: Leaderboard | None = None,
    **sender_options: Any,
) -> list[ReminderRun]:
    """Create every reminder due on `today` that has not gone this quarter yet, and send it."""
    runs = []
    for item in await create_due_reminders(
        repo, base, today, admin_chat_ids=admin_ids, leaderboard=leaderboard
    ):
        if item.broadcast is None:
            runs.append(ReminderRun(item.reminder, None, item.skipped))
            continue
        try:
            totals = await OutboxSender(bot, repo, **sender_options).run(item.broadcast.id)
        except BroadcastError:
            logger.exception("Reminder %s could not be sent", item.reminder.dedupe_key)
            totals = None
        runs.append(ReminderRun(item.reminder, totals))
    # a reminder another process created (the web chat's daily run) still needs its Telegram rows sent
    await resume_all(bot, repo, **sender_options)
    return runs


async def run_reminders(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Job callback (daily and catch-up)."""
    svc = services(context)
    leaderboard = svc.extras.get(LEADERBOARD_KEY) or SqlReports(svc.repo).leaderboard_text
    if not await is_sender(svc.repo):  # another worker sends; creating (deduplicated) is still ours
        await create_due_reminders(
            svc.repo,
            svc.policies.base,
            svc.settings.today(),
            admin_chat_ids=svc.settings.admin_ids,
            leaderboard=leaderboard,
        )
        return
    runs = await send_due(
        context.bot,
        svc.repo,
        svc.policies.base,
        svc.settings.today(),
        admin_ids=svc.settings.admin_ids,
        leaderboard=leaderboard,
    )
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
