"""`python bot.py run` against the fake Bot API over real HTTP: ordinary long polling, as in production."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakeapi.server import FakeBotApiServer

ROOT = Path(__file__).resolve().parent.parent
USER = 4242

pytestmark = pytest.mark.slow


async def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_polling_bot_answers_and_sends_the_weeks_reminder_once(tmp_path: Path) -> None:
    async with FakeBotApiServer() as server:
        fake = server.fake

        def texts() -> list[str]:
            return [m.text or "" for m in fake.messages(USER)]

        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "ADMIN_", "DATABASE_", "WEB_"))
        }
        env["WEB_PORT"] = "0"  # Telegram alone: the web chat's default port may be taken on a shared machine
        env.update(
            TELEGRAM_BOT_TOKEN="123456:TEST-token",
            TELEGRAM_BASE_URL=server.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
            BOT_TODAY="2026-10-12",  # Monday of week 3: the enterprises' submission-week reminder is due
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bot.py"), "run", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            fake.user_says(USER, "/start", first_name="李经理")
            await wait_for(lambda: any("您好，李经理" in t for t in texts()), 30, "the greeting")
            fake.user_says(USER, "单个企业贴息最高多少？")
            await wait_for(lambda: any("50万" in t and "来源：" in t for t in texts()), 15, "the answer")
            await wait_for(lambda: any("提交周" in t for t in texts()), 30, "the week-3 reminder")
            await asyncio.sleep(1)
            assert sum("提交周" in t for t in texts()) == 1
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
        assert proc.returncode == 0, stderr.decode()[-2000:]
        assert "123456:TEST-token" not in stderr.decode()  # the token never reaches the log
        assert "单个企业贴息最高多少" not in stderr.decode()  # nor what the user typed
