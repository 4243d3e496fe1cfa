"""Updates per second through the full PTB stack (real Application, handlers, persistence, SQLite).

Each simulated enterprise user opens the menu, files a complete entry field by field (every answer
committed to SQLite as it is given) and asks two policy questions. Updates are fed one at a time
through `Application.process_update` by the offline stand-in for the Bot API, so the figure covers
handler code, the form engine, the repository and SQLite, but no network.

    python bench/updates.py [--users 40] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stdnum.cn import uscc

from handlers.services import Services
from handlers.telegram.app import build_application
from policies.settings import Settings
from policies.store import PolicyStore
from storage import open_repository
from tests.offline import BotMessage, OfflineChat

GOAL_UPDATES_PER_S = 300

TYPED = {
    "科创平台名称": "海洋工程装备重点实验室",
    "平台联系人": "王老师",
    "平台联系电话": "0532-86981234",
    "企业名称": "青岛海科智能装备有限公司{n}",
    "企业联系人": "李娜",
    "企业联系人手机": "13210876217",
    "共建项目名称": "防腐涂层中试验证{n}",
    "项目内容": "2025年4月签约，共建防腐涂层中试线，开展工艺验证",
    "签约时间": "2025年4月18日",
    "最新进展": "已完成中试样机调试",
}
PRESSED = {"驻区高校/科研机构": 1, "平台类型": 1, "所属功能区/镇街": 1, "项目状态": "在建"}
QUESTIONS = ("本季度清单什么时候截止？", "科技成果转化贷款贴息比例是多少？")


def credit_code(n: int) -> str:
    body = f"91370211MA{n:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def field_label(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("第") and " · " in line:
            return line.split(" · ", 1)[1].removesuffix("（选填）")
    return None


class Timed:
    """Wraps OfflineChat calls, recording each update's reply latency."""

    def __init__(self, chat: OfflineChat, user_id: int) -> None:
        self.chat, self.user_id, self.latencies = chat, user_id, []  # type: ignore[var-annotated]

    async def send(self, text: str) -> list[BotMessage]:
        start = time.perf_counter()
        out = await self.chat.send(text, user_id=self.user_id)
        self.latencies.append(time.perf_counter() - start)
        return out

    async def press(self, label: str | int) -> list[BotMessage]:
        start = time.perf_counter()
        out = await self.chat.press(label, user_id=self.user_id)
        self.latencies.append(time.perf_counter() - start)
        return out

    def last_text(self) -> str:
        last = self.chat.last(self.user_id)
        return last.text if last else ""


class Speaker(Protocol):
    """A user of some channel: type a message, press a button, read the last bot message."""

    async def send(self, text: str) -> Any: ...
    async def press(self, label: str) -> Any: ...
    def last_text(self) -> str: ...


async def converse(user: Speaker, n: int) -> None:
    """The benchmark's conversation, the same in every channel: the whole form, submit, two questions."""
    await user.send("填报结对项目")
    for _ in range(60):
        text = user.last_text()
        if "请核对填报内容" in text:
            break
        label = field_label(text.split("\n\n")[-1]) or ""
        if label == "共建形式":
            await user.press("☐ 技术研发")
            await user.press("✅ 完成")
        elif label == "统一社会信用代码":
            await user.send(credit_code(n))
        elif label in PRESSED:
            await user.press(PRESSED[label])
        elif label in TYPED:
            await user.send(TYPED[label].format(n=n))
        else:
            raise RuntimeError(f"unexpected prompt: {text[:80]!r}")
    else:
        raise RuntimeError("the form never reached its summary")
    await user.press("✅ 提交")
    if "提交成功" not in user.last_text():
        raise RuntimeError(f"not filed: {user.last_text()[:80]!r}")
    for question in QUESTIONS:
        await user.send(question)


async def one_user(chat: OfflineChat, n: int) -> list[float]:
    user = Timed(chat, 50_000 + n)
    await user.send("/start")
    await converse(user, n)
    return user.latencies


async def main(users: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", today_override=dt.date(2026, 11, 24)
        )
        store = PolicyStore(settings.policy_dir)
        store.load()
        repo = await open_repository(settings.database_url)
        svc = Services(settings=settings, repo=repo, policies=store)
        chat = OfflineChat(
            None, lambda request: build_application(svc, request=request, schedule_reminders=False)
        )
        await chat.start()
        try:
            await one_user(chat, 0)  # warm-up: imports, first queries, OpenCC
            latencies: list[float] = []
            start = time.perf_counter()
            for first in range(1, users + 1, concurrency):
                batch = range(first, min(first + concurrency, users + 1))
                for result in await asyncio.gather(*(one_user(chat, n) for n in batch)):
                    latencies += result
            elapsed = time.perf_counter() - start
            filed = len([e async for e in repo.iter_entries()])
        finally:
            await chat.stop()
            await repo.close()
    latencies.sort()
    rate = len(latencies) / elapsed
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"users:            {users}, {concurrency} at a time (each: menu, 16-field form, submit, 2 questions)"
    )
    print(f"entries filed:    {filed - 1}")
    print(f"updates:          {len(latencies)} in {elapsed:.2f} s")
    print(
        f"throughput:       {rate:.0f} updates/s (goal >= {GOAL_UPDATES_PER_S}) "
        f"{'OK' if rate >= GOAL_UPDATES_PER_S else 'MISSED'}"
    )
    print(f"reply latency:    p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return 0 if rate >= GOAL_UPDATES_PER_S else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=10, help="users typing at the same time")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.users, args.concurrency)))
