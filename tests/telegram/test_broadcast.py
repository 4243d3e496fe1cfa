"""Broadcasts reach every active user exactly once: outcomes, faults, pacing, crash and resume.

The end-to-end tests go over real HTTP: the bot -> a small fault-injecting proxy (429s, and a
'stall' mode that accepts requests but never forwards them) -> the fake Bot API server, which
enforces Telegram's limits (30/s global, 1/s per chat with burst 3) and counts deliveries per chat.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from telegram import Message
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from handlers.telegram.broadcast import OutboxSender, Totals, resume_all, text_progress
from handlers.telegram.cli import cli_bot
from policies.settings import Settings
from storage import SqlRepository, open_repository
from tests.fakeapi.core import FakeTelegram, FaultPlan, Limits
from tests.fakeapi.server import ServerThread

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:test-token"
TEXT = "【通知】2026年第四季度清单请于10月16日前提交。"


# ----------------------------------------------------------------------------------- helpers
class FaultProxy:
    """HTTP proxy in front of the fake server: injects 429s on chosen sendMessage calls, and can
    stall - hold requests without forwarding them, as if they were still in flight."""

    def __init__(self, upstream: str, *, too_many_at: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.upstream = upstream.rstrip("/")
        self.too_many_at = too_many_at  # 1-based numbers of sendMessage requests answered 429
        self.sends = 0
        self.injected_429 = 0
        self.held = 0
        self._stall = asyncio.Event()
        self._stall.set()  # set = flowing
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.base_url = ""

    def stall(self) -> None:
        self._stall.clear()

    def flow(self) -> None:
        """New requests flow again; held ones stay held (never delivered)."""
        self._stall = asyncio.Event()
        self._stall.set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        body = await request.read()
        if method == "sendMessage":
            self.sends += 1
            if self.sends in self.too_many_at:
                self.injected_429 += 1
                payload = {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                           "parameters": {"retry_after": 1}}  # fmt: skip
                return web.json_response(payload, status=429)
        gate = self._stall
        if not gate.is_set():
            self.held += 1
            await asyncio.Event().wait()  # forever: dropped at shutdown, never forwarded
        assert self._session is not None
        url = f"{self.upstream}/bot{request.match_info['token']}/{method}"
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        async with self._session.post(url, data=body, headers=headers) as upstream:
            return web.Response(status=upstream.status, body=await upstream.read(),
                                content_type=upstream.content_type)  # fmt: skip

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._session = ClientSession()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()


@pytest.fixture
def server() -> Iterator[ServerThread]:
    """The fake Bot API with Telegram's limits, on its own thread and loop."""
    with ServerThread(FakeTelegram(limits=Limits(), faults=FaultPlan(seed=7))) as thread:
        yield thread


@pytest.fixture
async def proxy(server: ServerThread) -> AsyncIterator[FaultProxy]:
    p = FaultProxy(server.server.url)
    await p.start()
    yield p
    await p.stop()


def settings_for(base_url: str, db_url: str = "") -> Settings:
    return Settings(token=TOKEN, base_url=base_url, database_url=db_url or "sqlite+aiosqlite://")


async def subscribe(repo: SqlRepository, user_ids: range) -> None:
    for uid in user_ids:
        await repo.upsert_subscriber(uid, uid, f"企业{uid}")


def deliveries(server: ServerThread) -> dict[int, int]:
    return server.call(lambda fake: dict(fake.deliveries))


def server_429s(server: ServerThread) -> int:
    return server.call(lambda fake: fake.responses[("sendMessage", 429)])


# ---------------------------------------------------------------------- outcomes (fake bot)
class ScriptedBot:
    """Answers send_message from a per-chat script of exceptions, then succeeds."""

    def __init__(self, script: dict[int, list[Exception]]) -> None:
        self.script = {chat: list(errors) for chat, errors in script.items()}
        self.calls: list[int] = []
        self.ids = itertools.count(1)

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Message:
        self.calls.append(chat_id)
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        return Message(next(self.ids), None, None)  # type: ignore[arg-type]


async def test_each_outcome_is_recorded_and_only_transient_errors_are_retried(repo: SqlRepository) -> None:
    await subscribe(repo, range(1, 8))
    bot = ScriptedBot(
        {
            2: [Forbidden("Forbidden: bot was blocked by the user")],
            3: [BadRequest("Chat not found")],
            4: [TimedOut(), NetworkError("Bad Gateway")],  # succeeds on the third attempt
            5: [NetworkError("Internal Server Error (500)")] * 10,  # gives up after max_attempts
            6: [RetryAfter(0)],  # retried without counting as an attempt
        }
    )
    broadcast = await repo.create_broadcast(TEXT, 0)
    assert broadcast is not None
    reports: list[Totals] = []

    async def progress(totals: Totals) -> None:
        reports.append(totals)

    sender = OutboxSender(bot, repo, concurrency=3, max_attempts=3, backoff_base=0.01)  # type: ignore[arg-type]
    totals = await sender.run(broadcast.id, progress)
    assert totals == Totals(sent=4, failed=2, blocked=1, left=0)
    assert sorted(bot.calls) == [1, 2, 3, 4, 4, 4, 5, 5, 5, 6, 6, 7]
    assert reports[-1] == totals and reports[-1].describe().startswith(
        "广播完成：已发送 4 / 失败 2 / 已屏蔽 1"
    )
    items = {i.user_id: i for i in await repo.outbox_items(broadcast.id)}
    assert items[4].status == "sent" and items[4].attempts == 3
    assert items[5].status == "failed" and "500" in (items[5].last_error or "")
    assert items[3].status == "failed" and "Chat not found" in (items[3].last_error or "")
    assert items[1].message_id is not None
    active = {s.user_id for s in await repo.active_subscribers()}
    assert active == {1, 3, 4, 5, 6, 7}  # the blocker is inactive, the others stay
    # Nothing is left to resume, and running it again sends nothing.
    assert await resume_all(bot, repo) == []  # type: ignore[arg-type]


def test_progress_line_and_text_bar() -> None:
    totals = Totals(sent=120, failed=2, blocked=0, left=378)
    assert totals.describe() == "广播进度：已发送 120 / 失败 2 / 已屏蔽 0 / 剩余 378"
    out = io.StringIO()
    asyncio.run(text_progress(out, width=10)(totals))
    assert out.getvalue().startswith("\r[##........] 122/500 广播进度")


# --------------------------------------------------------------------- end to end over HTTP
@pytest.mark.slow
async def test_500_users_with_429_403_and_5xx_each_get_exactly_one_message(
    repo: SqlRepository, server: ServerThread, proxy: FaultProxy
) -> None:
    users = range(1001, 1501)
    blockers = set(range(1001, 1501, 50))  # 10 users blocked the bot
    await subscribe(repo, users)
    server.call(lambda fake: (fake.faults.block(*blockers), setattr(fake.faults, "random_rate", 0.03)))
    proxy.too_many_at = {60, 250, 420}
    broadcast = await repo.create_broadcast(TEXT, 0)
    assert broadcast is not None
    async with cli_bot(settings_for(proxy.base_url)) as bot:
        sender = OutboxSender(bot, repo, backoff_base=0.2)
        loop = asyncio.get_running_loop()
        start = loop.time()
        totals = await sender.run(broadcast.id)
        elapsed = loop.time() - start

    assert totals == Totals(sent=490, failed=0, blocked=10, left=0)
    got = deliveries(server)
    assert set(got) == set(users) - blockers and set(got.values()) == {1}  # exactly once each
    assert proxy.injected_429 == 3 and bot.rate_limiter.retry_after_hits == 3  # type: ignore[union-attr]
    assert server_429s(server) == 0  # the pacing itself never trips the 30/s or per-chat limits
    faults = server.call(lambda fake: sum(fake.faults_injected.values()))
    assert faults > 0  # 5xx and dropped connections really happened, and were retried
    assert {s.user_id for s in await repo.active_subscribers()} == set(users) - blockers
    assert elapsed < 30


async def _bot_py(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "BOT_"))}
    environ.update(env)
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "broadcast", *args, env=environ, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def _wait_for(predicate: Any, seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 - polling another thread and process
            await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_sigkill_half_way_then_resume_delivers_each_message_exactly_once(
    repo: SqlRepository, db_url: str, server: ServerThread, proxy: FaultProxy
) -> None:
    users = range(2001, 2201)
    await subscribe(repo, users)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": proxy.base_url, "DATABASE_URL": db_url}
    first = await _bot_py(TEXT, env=env)
    try:
        await _wait_for(lambda: sum(deliveries(server).values()) >= 100, seconds=30)
        # Hold every further request undelivered, let answered ones be recorded, then kill.
        proxy.stall()
        await _wait_for(lambda: proxy.held >= 1, seconds=5)
        await asyncio.sleep(1.0)
        first.send_signal(signal.SIGKILL)
    finally:
        await first.wait()
    before = deliveries(server)
    [broadcast] = await repo.unfinished_broadcasts()
    items = await repo.outbox_items(broadcast.id)
    recorded = {i.user_id for i in items if i.status == "sent"}
    assert 100 <= len(before) < len(users)
    assert recorded == set(before)  # every delivered message was recorded before the kill
    assert any(i.status == "sending" for i in items)  # the held ones were in flight

    proxy.flow()
    second = await _bot_py("--resume", env=env)
    out, err = await asyncio.wait_for(second.communicate(), timeout=60)
    assert second.returncode == 0, err.decode()
    assert "已续发 1 个未完成的广播" in out.decode()
    assert "广播完成：已发送 200" in err.decode()  # the progress bar's last line

    got = deliveries(server)
    assert set(got) == set(users) and set(got.values()) == {1}  # none missing, no duplicate
    fresh = await open_repository(db_url)
    try:
        assert {i.status for i in await fresh.outbox_items(broadcast.id)} == {"sent"}
        assert await fresh.unfinished_broadcasts() == []
    finally:
        await fresh.close()


# ---------------------------------------------------------------------- the admin's /broadcast
ADMIN = 77


def admin_factory(repo: SqlRepository) -> Any:
    """The fully wired application (the two-step /broadcast once broke behind a partial app)."""
    from tests.harness import wired_app

    return wired_app(repo, Settings(token=TOKEN, admin_ids=frozenset({ADMIN})))


async def test_admin_previews_confirms_and_watches_progress(repo: SqlRepository) -> None:
    from tests.harness import offline_chat

    await subscribe(repo, range(1, 4))
    async with offline_chat(admin_factory(repo), user_id=ADMIN, name="秘书处") as chat:
        asked = await chat.send("/broadcast")
        assert "请发送要群发的通知内容" in asked[-1].text
        preview = await chat.send("第五周路演报名开始，\n请于周五前报名。")
        assert preview[-1].text.startswith("【群发预览】将发送给 3 位订阅者：")
        assert preview[-1].labels == ["确认发送", "取消"]
        await chat.press("确认发送")  # the background send is awaited by the harness
        texts = [m.text for m in chat.history()]
        assert "已确认，开始群发（共 3 人），进度见下一条消息。" in texts
        assert texts[-1] == "广播完成：已发送 3 / 失败 0 / 已屏蔽 0（共 3 人）"
        assert [m.text for uid in (1, 2, 3) for m in chat.history(uid)] == [
            "第五周路演报名开始，\n请于周五前报名。"
        ] * 3
        assert chat.fake.deliveries[1] == 1

        await chat.send("/broadcast 明天停电检修")  # inline text, then cancelled
        cancelled = await chat.press("取消")
        assert cancelled[-1].text == "已取消群发。" and cancelled[-1].labels == []
        assert chat.fake.deliveries[1] == 1
        assert (await chat.send("/reload"))[-1].text.startswith("政策数据已重新加载")


async def test_non_admins_are_refused_and_anyone_can_stop(repo: SqlRepository) -> None:
    from policies.conversation.texts import NO_PERMISSION
    from tests.harness import offline_chat

    await subscribe(repo, range(1, 3))
    async with offline_chat(admin_factory(repo), user_id=1) as chat:
        for command in ("/broadcast", "/broadcast 群发", "/reload"):
            assert (await chat.send(command))[-1].text == NO_PERMISSION
        replies = await chat.send("这不是通知内容")  # no compose was started for a non-admin
        assert all("群发预览" not in m.text for m in replies)
        assert await repo.unfinished_broadcasts() == []
        assert (await chat.send("/stop"))[-1].text == "已退订，发送 /start 可重新订阅。"
    assert {s.user_id for s in await repo.active_subscribers()} == {2}
