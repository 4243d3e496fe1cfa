"""Concurrency across users, order within one user: the fully wired Application long-polling the fake Bot
API over real HTTP, which enforces Telegram's 1 msg/s per chat and 30 msg/s per bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from handlers.services import Services
from handlers.telegram.app import build_application
from handlers.telegram.ratelimit import PacedRateLimiter
from policies.ports import Store
from policies.settings import Settings
from tests.fakeapi.core import FakeTelegram, Limits
from tests.fakeapi.server import ServerThread
from tests.harness import policy_store

FLOODER, OTHER = 501, 502
FLOOD = 30


async def wait_for_message(server: ServerThread, chat_id: int, count: int, limit: float) -> float:
    """Seconds until chat `chat_id` holds `count` bot messages (AssertionError after `limit` seconds)."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server.call(lambda fake: len(fake.messages(chat_id))) >= count:
            return time.monotonic() - start
        await asyncio.sleep(0.05)
    raise AssertionError(f"chat {chat_id} got fewer than {count} messages in {limit} s")


async def test_a_flooding_user_does_not_hold_up_another_users_answer(repo: Store) -> None:
    with ServerThread(FakeTelegram(limits=Limits())) as server:
        settings = Settings(token="123:abc", base_url=server.base_url, today_override=dt.date(2026, 10, 12))
        svc = Services(settings=settings, repo=repo, policies=policy_store())
        app = build_application(svc, rate_limiter=PacedRateLimiter(), schedule_reminders=False)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                server.call(
                    lambda fake: [fake.user_says(FLOODER, f"第{i}个问题：补贴多少？") for i in range(FLOOD)]
                )
                await wait_for_message(server, FLOODER, 1, 10)  # the flood is being answered, 1 msg/s
                server.call(lambda fake: fake.user_says(OTHER, "本季度清单什么时候截止？"))
                waited = await wait_for_message(server, OTHER, 1, 10)
                # Handled one update at a time, B would wait behind ~27 s of A's paced replies.
                assert waited < 2.0, f"the other user waited {waited:.1f} s"
                answered = server.call(lambda fake: len(fake.messages(FLOODER)))
                assert answered < FLOOD  # A's flood was still being answered: B did not just come last
                other = server.call(lambda fake: fake.messages(OTHER)[0].text)
                assert "截止" in other
            finally:
                await app.updater.stop()
                await app.stop()
