"""JobQueue wiring of `policies.schedule`: a daily 09:00 (Asia/Shanghai) run plus a catch-up run
shortly after start. Each due reminder becomes one broadcast with dedupe key "<id>:<quarter>", so
it goes once per quarter per user even across restarts, and is sent by the OutboxSender."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.ext import Application, CallbackContext

from handlers.telegram.broadcast import BroadcastError, OutboxSender, Totals
from handlers.telegram.context import services
from handlers.telegram.render import TELEGRAM_TEXT_LIMIT
from policies.leaderboard import render_leaderboard
from policies.models import PolicyBase
from policies.ports import Repository
from policies.schedule import AUDIENCE_ALL, AUDIENCE_ENTERPRISE, PlannedReminder, due_reminders
from policies.settings import TIMEZONE
from storage.exports import collect_leaderboard

logger = logging.getLogger(__name__)

JOB_NAME = "reminders"
CATCH_UP_JOB_NAME = "reminders-catch-up"
SEND_AT = dt.time(9, 0, tzinfo=TIMEZONE)
CATCH_UP_DELAY = 10.0  # seconds after start: reminders missed while the bot was down
REMINDER_CREATOR = 0  # created_by of reminder broadcasts (no admin pressed anything)
LEADERBOARD_KEY = "leaderboard"  # Services.extras: async (quarter) -> leaderboard text

Leaderboard = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class ReminderRun:
    """What happened to one due reminder: sent (totals), already done before (None), or skipped."""

    reminder: PlannedReminder
    totals: Totals | None
    skipped: str = ""


async def recipients(
    repo: Repository, reminder: PlannedReminder, admin_ids: Collection[int]
) -> list[int] | None:
    """User ids for the reminder's audience; None when the bot does not send it (universities)."""
    if reminder.audience not in (AUDIENCE_ENTERPRISE, AUDIENCE_ALL):
        return None
    users = [s.user_id for s in await repo.active_subscribers()]
    if reminder.audience == AUDIENCE_ENTERPRISE:
        users = [u for u in users if u not in admin_ids]
    if reminder.only_unfiled:
        filed = await repo.filed_users(reminder.quarter)
        users = [u for u in users if u not in filed]
    return users


def _fit(text: str) -> str:
    """One outbox row is one Telegram message: cut a very long leaderboard at a line break."""
    if len(text) <= TELEGRAM_TEXT_LIMIT:
        return text
    cut = text.rfind("\n", 0, TELEGRAM_TEXT_LIMIT - 2)
    return text[: cut if cut > 0 else TELEGRAM_TEXT_LIMIT - 2] + "\n……"


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
    """Create and send every reminder due on `today` that has not gone this quarter yet."""
    runs = []
    for reminder in due_reminders(base, today):
        users = await recipients(repo, reminder, admin_ids)
        if users is None:
            runs.append(ReminderRun(reminder, None, "audience not reached by the bot"))
            continue
        board = await leaderboard(reminder.quarter) if reminder.leaderboard and leaderboard else None
        created = await repo.create_broadcast(
            _fit(reminder.render(board)),
            REMINDER_CREATOR,
            users,
            kind="reminder",
            dedupe_key=reminder.dedupe_key,
        )
        if created is None:  # sent (or being sent) already; start-up resume finishes a crashed one
            runs.append(ReminderRun(reminder, None, "already created"))
            continue
        logger.info("Reminder %s: %d recipients", reminder.dedupe_key, len(users))
        try:
            totals = await OutboxSender(bot, repo, **sender_options).run(created.id)
        except BroadcastError:
            logger.exception("Reminder %s could not be sent", reminder.dedupe_key)
            totals = None
        runs.append(ReminderRun(reminder, totals))
    return runs


def repo_leaderboard(repo: Repository) -> Leaderboard:
    """The week-6 leaderboard text computed from the repository's entries (streamed)."""

    async def render(quarter: str) -> str:
        return render_leaderboard(await collect_leaderboard(repo, quarter), quarter)

    return render


async def run_reminders(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Job callback (daily and catch-up)."""
    svc = services(context)
    leaderboard = svc.extras.get(LEADERBOARD_KEY) or repo_leaderboard(svc.repo)
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
