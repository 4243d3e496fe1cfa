"""Messages per second and reply latency through the web chat's JSON API, beside the Telegram adapter.

50 simulated enterprise users at once, each: open the chat, the menu, a complete 16-field entry
(every answer committed to SQLite as it is given), submit, two policy questions. The same script runs
(1) over HTTP against a real aiohttp server on 127.0.0.1 (one cookie session per user; the per-session
rate limit is lifted, these users type faster than people), then (2) through the fully wired Telegram
Application (`build_application`), fed updates by the in-process fake Bot API as bench/updates.py does.
Each run has its own fresh SQLite database. The number of requests is bounded: users x ~22.

    python bench/web.py [--users 50]
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
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from aiohttp import ClientSession, CookieJar, web  # noqa: E402
from updates import converse  # noqa: E402

from handlers.services import Services  # noqa: E402
from handlers.telegram.app import build_application  # noqa: E402
from handlers.web import build_web_app  # noqa: E402
from handlers.web.security import RateLimiter  # noqa: E402
from policies.settings import Settings  # noqa: E402
from policies.store import PolicyStore  # noqa: E402
from storage import SqlRepository, open_repository  # noqa: E402
from tests.offline import OfflineChat  # noqa: E402

TODAY = dt.date(2026, 10, 14)  # week 3 of 2026Q4: entries go on this quarter's lists


async def script(user: Any, n: int) -> None:
    """The same conversation as bench/updates.py: menu, the whole form, submit, two questions."""
    await converse(user, n)


class WebUser:
    """One browser session over the JSON API, keeping messages as the page shows them."""

    def __init__(self, http: ClientSession, base: str) -> None:
        self.http, self.base, self.csrf = http, base, ""
        self.shown: dict[int, dict[str, Any]] = {}
        self.latencies: list[float] = []

    def _apply(self, messages: list[dict[str, Any]]) -> None:
        for msg in messages:
            target = self.shown.get(msg["replaces"]) if msg["replaces"] else None
            if target is not None:
                target.update(text=msg["text"], buttons=msg["buttons"])
            else:
                self.shown[msg["id"]] = msg

    async def open(self) -> None:
        async with self.http.get(f"{self.base}/api/messages?after=0") as resp:
            body = await resp.json()
        self.csrf = body["csrf"]
        self._apply(body["messages"])

    async def _post(self, body: dict[str, Any]) -> None:
        start = time.perf_counter()
        async with self.http.post(
            f"{self.base}/api/messages", json=body, headers={"X-CSRF-Token": self.csrf}
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {await resp.text()}")
            messages = (await resp.json())["messages"]
        self.latencies.append(time.perf_counter() - start)
        self._apply(messages)

    async def send(self, text: str) -> None:
        await self._post({"text": text})

    async def press(self, wanted: str | int) -> None:
        for mid in sorted(self.shown, reverse=True):
            buttons = [b for row in self.shown[mid]["buttons"] for b in row]
            if not buttons or self.shown[mid]["keyboard"]:
                continue
            button = buttons[wanted - 1] if isinstance(wanted, int) else None
            button = button or next((b for b in buttons if b["label"] == wanted), None)
            if button is not None:
                await self._post({"button": button["data"], "message_id": mid})
                return
        raise RuntimeError(f"no button {wanted!r}")

    def last_text(self) -> str:
        return str(self.shown[max(self.shown)]["text"])


class TelegramUser:
    """One Telegram user through OfflineChat (the fake Bot API feeding `process_update`)."""

    def __init__(self, chat: OfflineChat, user_id: int) -> None:
        self.chat, self.user_id = chat, user_id
        self.latencies: list[float] = []

    async def send(self, text: str) -> None:
        start = time.perf_counter()
        await self.chat.send(text, user_id=self.user_id)
        self.latencies.append(time.perf_counter() - start)

    async def press(self, wanted: str | int) -> None:
        start = time.perf_counter()
        await self.chat.press(wanted, user_id=self.user_id)
        self.latencies.append(time.perf_counter() - start)

    def last_text(self) -> str:
        last = self.chat.last(self.user_id)
        return last.text if last else ""


async def _services(tmp: str, name: str, store: PolicyStore) -> tuple[Services, SqlRepository]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp}/{name}.sqlite3", today_override=TODAY)
    repo = await open_repository(settings.database_url)
    return Services(settings=settings, repo=repo, policies=store), repo


async def run_web(svc: Services, users: int) -> tuple[list[float], float]:
    runner = web.AppRunner(build_web_app(svc, limiter=RateLimiter(capacity=1e9)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    sessions = [ClientSession(cookie_jar=CookieJar(unsafe=True)) for _ in range(users + 1)]
    try:
        warm = WebUser(sessions[0], base)
        await warm.open()
        await script(warm, 0)  # imports, first queries, OpenCC
        clients = [WebUser(s, base) for s in sessions[1:]]
        await asyncio.gather(*(c.open() for c in clients))
        start = time.perf_counter()
        await asyncio.gather(*(script(c, n) for n, c in enumerate(clients, 1)))
        elapsed = time.perf_counter() - start
    finally:
        for s in sessions:
            await s.close()
        await runner.cleanup()
    return [x for c in clients for x in c.latencies], elapsed


async def run_telegram(svc: Services, users: int) -> tuple[list[float], float]:
    chat = OfflineChat(
        None, lambda request: build_application(svc, request=request, schedule_reminders=False)
    )
    await chat.start()
    try:
        warm = TelegramUser(chat, 50_000)
        await warm.send("/start")
        await script(warm, 0)
        people = [TelegramUser(chat, 50_000 + n) for n in range(1, users + 1)]
        await asyncio.gather(*(p.send("/start") for p in people))
        for p in people:
            p.latencies.clear()
        start = time.perf_counter()
        await asyncio.gather(*(script(p, n) for n, p in enumerate(people, 1)))
        elapsed = time.perf_counter() - start
    finally:
        await chat.stop()
    return [x for p in people for x in p.latencies], elapsed


def report(name: str, latencies: list[float], elapsed: float) -> None:
    latencies = sorted(latencies)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    print(
        f"{name:<10} {len(latencies):>6} messages in {elapsed:6.2f} s  "
        f"{len(latencies) / elapsed:7.0f} messages/s   reply latency p50 {p50:7.1f} ms  p99 {p99:7.1f} ms"
    )


async def main(users: int) -> int:
    store = PolicyStore(Settings().policy_dir)
    store.load()
    with tempfile.TemporaryDirectory() as tmp:
        web_svc, repo = await _services(tmp, "web", store)
        try:
            web_figures = await run_web(web_svc, users)
            filed_web = len([e async for e in repo.iter_entries()]) - 1
        finally:
            await repo.close()
        tg_svc, repo = await _services(tmp, "telegram", store)
        try:
            tg_figures = await run_telegram(tg_svc, users)
            filed_tg = len([e async for e in repo.iter_entries()]) - 1
        finally:
            await repo.close()
    print(f"{users} concurrent users, each: menu, 16-field entry, submit, 2 questions (SQLite)")
    print(f"entries filed: web {filed_web}, telegram {filed_tg}")
    report("web API", *web_figures)
    report("telegram", *tg_figures)
    return 0 if filed_web == filed_tg == users else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent sessions (default 50)")
    sys.exit(asyncio.run(main(parser.parse_args().users)))
