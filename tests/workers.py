"""Support for tests and benchmarks with several `bot.py run` webhook workers on one PostgreSQL database:
start/kill/restart workers, and a round-robin "load balancer" that retries a failed delivery on the next
worker, as Telegram retries a webhook delivery that got no 200."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakeapi.core import FakeTelegram
from tests.forms import field_label

ROOT = Path(__file__).resolve().parent.parent
BOT = str(ROOT / "bot.py")
TOKEN = "123456:workers-test-token"
SECRET = "workers-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_env(database_url: str, base_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "TRIAL_", "ADMIN_", "WEBHOOK_", "BOT_TODAY", "WEB_"))
    }
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=base_url,
        DATABASE_URL=database_url,
        WEBHOOK_URL="https://bot.example.org/telegram",
        WEBHOOK_PORT=str(port),
        WEBHOOK_SECRET=SECRET,
        WEB_PORT="0",
        **extra,
    )
    return env


@dataclass
class Worker:
    """One `python bot.py run` process on its own webhook port (restartable on the same port)."""

    env: dict[str, str]
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, BOT, "run", env=self.env, cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip

    async def wait_ready(self, http: aiohttp.ClientSession, seconds: float = 90.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            assert self.proc is not None and self.proc.returncode is None, self.log.read_text()[-3000:]
            try:
                async with http.get(self.url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert loop.time() < deadline, "worker never became ready:\n" + self.log.read_text()[-3000:]
            await asyncio.sleep(0.2)

    async def kill(self) -> None:
        """SIGKILL: no cleanup at all, as a crash or an OOM kill."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        self.kills += 1

    async def stop(self) -> int:
        """SIGTERM (a graceful stop); the exit code."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc and self.proc.returncode is not None else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), 60)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()


@dataclass
class Balancer:
    """Posts each update to the workers in turn; a delivery that fails (connection refused or reset,
    5xx) goes to the next worker after a short pause, until one answers 200."""

    workers: list[Worker]
    http: aiohttp.ClientSession
    path: str = "/telegram"
    next_index: int = 0
    deliveries: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)

    async def deliver(self, update: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _attempt in range(200):
            worker = self.workers[self.next_index % len(self.workers)]
            self.next_index += 1
            self.deliveries += 1
            try:
                async with self.http.post(
                    worker.url + self.path,
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                    timeout=aiohttp.ClientTimeout(total=60),
                ) as response:
                    if response.status == 200:
                        self.latencies.append(loop.time() - started)
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.retries += 1
            await asyncio.sleep(0.05 + random.random() * 0.1)
        raise AssertionError(f"update {update.get('update_id')} was never accepted")


Deliver = Callable[[dict[str, Any]], Awaitable[None]]


async def file_one_entry(
    fake: FakeTelegram,
    deliver: Deliver,
    uid: int,
    values: dict[str, str],
    *,
    typed: Callable[[str], None] | None = None,
) -> None:
    """User `uid` files one entry through the webhook as a person types: /start, /fill, each asked field's
    value from `values`, then 提交. `typed` hears each field label answered, in order."""
    await deliver(fake.user_says(uid, "/start", first_name=f"用户{uid}", enqueue=False))
    await deliver(fake.user_says(uid, "/fill", enqueue=False))
    for _ in range(40):
        last = fake.last_message(uid)
        assert last is not None
        if "提交成功" in last.text:
            return
        if "请核对填报内容" in last.text:
            await deliver(fake.user_presses(uid, last.message_id, "f:submit", enqueue=False))
            continue
        label = field_label(last.text.split("\n\n")[-1])
        assert label is not None, last.text
        if typed is not None:
            typed(label)
        await deliver(fake.user_says(uid, values[label], enqueue=False))
    raise AssertionError(f"user {uid} never finished: {fake.last_message(uid)}")
