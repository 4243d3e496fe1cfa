"""Broadcasts and reminders reach web users (who cannot use Telegram) in their chat history, once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from aiohttp.test_utils import TestServer

from handlers.services import Services
from handlers.web.reminders import run_once, seconds_until_next_run
from policies.conversation import Actor, Event
from storage import SqlRepository
from tests.web.conftest import open_user

ADMIN_TG = 4242


async def test_a_confirmed_broadcast_appears_in_web_users_history_once(
    svc: Services, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    reader = await open_user(aiohttp_client, server)  # greeted: a web subscriber now
    await repo.upsert_subscriber(await repo.resolve_user("telegram", "77"), 77, "电报用户")
    settings = dataclasses.replace(svc.settings, admin_ids=frozenset({ADMIN_TG}))
    admin_svc = Services(settings=settings, repo=repo, policies=svc.policies)
    admin = Actor(
        await repo.resolve_user("telegram", str(ADMIN_TG)),
        "telegram",
        str(ADMIN_TG),
        is_admin=True,
        chat_id=ADMIN_TG,
    )
    preview = await admin_svc.conversation.handle(admin, Event.message("/broadcast 第五周路演报名开始"))
    assert "将发送给 2 位订阅者" in preview[-1].text
    confirm = preview[-1].buttons[0][0].data or ""
    await admin_svc.conversation.handle(admin, Event.button(confirm))
    await admin_svc.conversation.handle(admin, Event.button(confirm))  # pressed twice: still once

    pushed = await reader.poll()
    assert [m["text"] for m in pushed] == ["第五周路演报名开始"]
    assert await reader.poll() == []
    (broadcast,) = await repo.unfinished_broadcasts()  # the Telegram row waits for the Telegram sender
    assert (broadcast.totals["pending"], broadcast.totals["sent"]) == (1, 1)


async def test_due_reminders_reach_web_users_once_and_stop_after_stop(
    svc: Services, repo: SqlRepository, server: TestServer, aiohttp_client: Any
) -> None:
    reader = await open_user(aiohttp_client, server)
    quitter = await open_user(aiohttp_client, server)
    await quitter.send("/stop")
    week3 = dataclasses.replace(
        svc, settings=dataclasses.replace(svc.settings, today_override=dt.date(2026, 10, 13))
    )
    created = await run_once(week3)
    assert any(c.broadcast is not None for c in created)
    texts = [m["text"] for m in await reader.poll()]
    assert any("10月16日" in text for text in texts)  # this quarter's deadline
    assert await run_once(week3) and await reader.poll() == []  # the next run (or a restart) adds nothing
    assert all("10月16日" not in m["text"] for m in await quitter.poll())


def test_the_daily_run_is_at_nine_in_shanghai() -> None:
    before = dt.datetime(2026, 10, 13, 0, 30, tzinfo=dt.UTC)  # 08:30 in Shanghai
    assert seconds_until_next_run(before) == 30 * 60
    after = dt.datetime(2026, 10, 13, 1, 0, 1, tzinfo=dt.UTC)  # 09:00:01: tomorrow
    assert seconds_until_next_run(after) == 24 * 3600 - 1
