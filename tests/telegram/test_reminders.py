"""Reminders fire in the right week for BOT_TODAY, reach the right people, and never go twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.ext import ApplicationBuilder, CallbackContext

from handlers.services import Services
from handlers.telegram import reminders
from handlers.telegram.cli import cli_bot
from handlers.telegram.context import attach
from policies.models import CycleWeek, Document, PolicyBase
from policies.settings import Settings
from storage import SqlRepository, open_repository
from storage.reports import SqlReports
from tests.fakeapi.core import FakeTelegram, Limits
from tests.fakeapi.request import InProcessRequest
from tests.fakeapi.server import ServerThread

ADMIN = 9
CYCLE = (
    CycleWeek(1, "发布清单", ("高校",), "高校发布清单", "s", "university", "请高校整理发布{quarter}清单。"),
    CycleWeek(2, "转发清单", ("秘书处",), "转发", "s", "enterprise", "{quarter}清单已下发，请联系科创平台。"),
    CycleWeek(3, "企业提交", ("企业",), "提交", "s", "enterprise", "本周提交清单，截止{deadline}。"),
    CycleWeek(6, "发布榜单", ("秘书处",), "榜单", "s", "all", "{quarter}贡献度榜单已发布。"),
)
BASE = PolicyBase(documents={"s": Document("s", "公开信")}, faqs=(), cycle=CYCLE)


@pytest.fixture
def server() -> Iterator[ServerThread]:
    with ServerThread(FakeTelegram(limits=Limits())) as thread:
        yield thread


def inbox(server: ServerThread, chat_id: int) -> list[str]:
    return server.call(lambda fake: [m.text for m in fake.messages(chat_id)])


async def setup_people(repo: SqlRepository) -> None:
    """Users 1-4 are enterprises, 9 is an admin; 2 has filed 2026Q4, 4 has unsubscribed."""
    for uid in (1, 2, 3, 4, ADMIN):
        await repo.upsert_subscriber(uid, uid, f"用户{uid}")
    await repo.unsubscribe(4)
    await repo.create_entry(
        2, "2026Q4", {"enterprise_name": "青岛某科技有限公司", "project_name": "联合研发"}
    )


async def run_job(server: ServerThread, repo: SqlRepository, today: str, **extras: Any) -> None:
    """The job callback as JobQueue runs it, with BOT_TODAY set."""
    environ = {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_BASE_URL": server.base_url,
               "ADMIN_IDS": str(ADMIN), "BOT_TODAY": today}  # fmt: skip
    settings = Settings.from_environ(environ)
    app = ApplicationBuilder().bot(cli_bot(settings)).build()
    attach(app, Services(settings, repo, SimpleNamespace(base=BASE), extras=extras))  # type: ignore[arg-type]
    async with app:
        await reminders.run_reminders(CallbackContext(app))


async def test_reminders_fire_in_their_week_for_the_right_people_once(
    db_url: str, server: ServerThread
) -> None:
    repo = await open_repository(db_url)
    try:
        await setup_people(repo)
        await run_job(server, repo, "2026-10-13")  # week 3 Tuesday: week-3 + 3-day deadline reminders
    finally:
        await repo.close()
    week3 = "本周提交清单，截止2026年10月16日。"
    first = inbox(server, 1)
    assert len(first) == 2 and first[0] == week3 and "还剩3天" in first[1] and "10月16日" in first[1]
    assert inbox(server, 2) == [week3]  # filed already: no deadline reminder
    assert inbox(server, 3)[0] == week3 and len(inbox(server, 3)) == 2
    assert inbox(server, 4) == [] and inbox(server, ADMIN) == []  # unsubscribed; admin is no enterprise

    # A restart: new repository instance on the same database, same day, and again two days later.
    repo = await open_repository(db_url)
    try:
        await run_job(server, repo, "2026-10-13")
        assert len(inbox(server, 1)) == 2  # nothing twice
        await run_job(server, repo, "2026-10-15")
    finally:
        await repo.close()
    assert len(inbox(server, 1)) == 3 and "还剩1天" in inbox(server, 1)[2]
    assert inbox(server, 2) == [week3]
    assert server.call(lambda fake: fake.responses[("sendMessage", 429)]) == 0


async def test_week6_sends_the_leaderboard_to_everyone_and_week1_nobody(
    repo: SqlRepository, server: ServerThread
) -> None:
    await setup_people(repo)

    async def leaderboard(quarter: str) -> str:
        return f"🏆 {quarter}榜单\n1. 某大学  贡献度 9"

    await run_job(server, repo, "2026-09-29", leaderboard=leaderboard)  # week 1: universities only
    assert all(inbox(server, uid) == [] for uid in (1, 2, 3, ADMIN))
    await run_job(server, repo, "2026-11-03", leaderboard=leaderboard)
    expected = "2026年第四季度贡献度榜单已发布。\n\n🏆 2026Q4榜单\n1. 某大学  贡献度 9"
    assert inbox(server, 1) == [expected] and inbox(server, ADMIN) == [expected]
    assert inbox(server, 4) == []


async def test_leaderboard_from_the_repository(repo: SqlRepository) -> None:
    await repo.create_entry(
        1, "2026Q4", {"university": "中国海洋大学", "platform_name": "海洋装备平台", "status": "已签约"}
    )
    text = await SqlReports(repo).leaderboard_text("2026Q4")
    assert "中国海洋大学" in text and "2026Q4" in text


async def test_register_schedules_one_daily_job_at_nine_shanghai() -> None:
    request = InProcessRequest(FakeTelegram())
    app = ApplicationBuilder().token("123:abc").request(request).get_updates_request(request).build()
    reminders.register(app)
    reminders.register(app)  # registering again replaces, never doubles
    assert app.job_queue is not None
    async with app:
        await app.start()
        try:
            [daily] = app.job_queue.get_jobs_by_name(reminders.JOB_NAME)
            [catch_up] = app.job_queue.get_jobs_by_name(reminders.CATCH_UP_JOB_NAME)
            assert daily.next_t is not None and catch_up.next_t is not None
            local = daily.next_t.astimezone(reminders.SEND_AT.tzinfo)
            assert (local.hour, local.minute) == (9, 0)
            assert catch_up.next_t - dt.datetime.now(dt.UTC) < dt.timedelta(seconds=15)
        finally:
            await app.stop()
