"""Creating the quarterly reminders that are due, for every channel at once.

Each due reminder becomes one broadcast with dedupe key "<id>:<quarter>", created at most once however
many processes (Telegram, web) run the daily job. Web recipients get it in their chat history in the
same transaction; Telegram recipients' rows are then sent by whichever process has a bot
(`handlers/telegram/reminders.py`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from policies.models import PolicyBase
from policies.ports import Repository
from policies.records import Broadcast
from policies.schedule import AUDIENCE_ALL, AUDIENCE_ENTERPRISE, PlannedReminder, due_reminders

logger = logging.getLogger(__name__)

REMINDER_CREATOR = 0  # created_by of reminder broadcasts (no admin pressed anything)
MESSAGE_LIMIT = 4096  # one outbox row is one Telegram message

Leaderboard = Callable[[str], Awaitable[str]]


@dataclass(frozen=True)
class CreatedReminder:
    """One due reminder: its broadcast, or None with why (already created, audience not ours)."""

    reminder: PlannedReminder
    broadcast: Broadcast | None
    skipped: str = ""


async def recipients(
    repo: Repository, reminder: PlannedReminder, admin_chat_ids: Collection[int]
) -> list[int] | None:
    """Internal user ids for the reminder's audience; None when the bot does not send it (universities).
    Admins (by their Telegram chat) are no enterprise."""
    if reminder.audience not in (AUDIENCE_ENTERPRISE, AUDIENCE_ALL):
        return None
    subscribers = await repo.active_subscribers()
    if reminder.audience == AUDIENCE_ENTERPRISE:
        subscribers = [
            s for s in subscribers if not (s.channel == "telegram" and s.chat_id in admin_chat_ids)
        ]
    users = [s.user_id for s in subscribers]
    if reminder.only_unfiled:
        filed = await repo.filed_users(reminder.quarter)
        users = [u for u in users if u not in filed]
    return users


def fit(text: str) -> str:
    """Cut a very long leaderboard at a line break so it stays one message."""
    if len(text) <= MESSAGE_LIMIT:
        return text
    cut = text.rfind("\n", 0, MESSAGE_LIMIT - 2)
    return text[: cut if cut > 0 else MESSAGE_LIMIT - 2] + "\n……"


async def create_due_reminders(
    repo: Repository,
    base: PolicyBase,
    today: dt.date,
    *,
    admin_chat_ids: Collection[int] = (),
    leaderboard: Leaderboard | None = None,
) -> list[CreatedReminder]:
    """Create every reminder due on `today` that has not been created this quarter yet."""
    out = []
    for reminder in due_reminders(base, today):
        users = await recipients(repo, reminder, admin_chat_ids)
        if users is None:
            out.append(CreatedReminder(reminder, None, "audience not reached by the bot"))
            continue
        board = await leaderboard(reminder.quarter) if reminder.leaderboard and leaderboard else None
        created = await repo.create_broadcast(
            fit(reminder.render(board)),
            REMINDER_CREATOR,
            users,
            kind="reminder",
            dedupe_key=reminder.dedupe_key,
        )
        if created is None:
            out.append(CreatedReminder(reminder, None, "already created"))
            continue
        logger.info("Reminder %s: %d recipients", reminder.dedupe_key, len(users))
        out.append(CreatedReminder(reminder, created))
    return out
