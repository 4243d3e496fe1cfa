"""Drive the web chat as a browser would, over HTTP: one `WebUser` per cookie jar (session)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from handlers.services import Services
from handlers.web import build_web_app
from handlers.web.security import RateLimiter
from policies.ports import Store
from policies.settings import Settings
from storage import SqlRepository, open_repository
from tests.forms import PRESSED, TYPED, field_label
from tests.harness import policy_store

TODAY = dt.date(2026, 10, 14)  # week 3 of 2026Q4: entries go on this quarter's lists

SUMMARY = "请核对填报内容"


def services(repo: Store) -> Services:
    return Services(settings=Settings(today_override=TODAY), repo=repo, policies=policy_store())


class WebUser:
    """One browser session: keeps the messages as the page shows them (edits applied in place)."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client
        self.csrf = ""
        self.shown: dict[int, dict[str, Any]] = {}  # id -> message as displayed now
        self.last_id = 0

    async def open(self) -> list[dict[str, Any]]:
        """A reload: the whole history from the server."""
        self.shown.clear()
        self.last_id = 0
        resp = await self.client.get("/api/messages", params={"after": "0"})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        self.csrf = body["csrf"]
        self.apply(body["messages"])
        return list(body["messages"])

    def apply(self, messages: list[dict[str, Any]]) -> None:
        for msg in messages:
            self.last_id = max(self.last_id, msg["id"])
            target = self.shown.get(msg["replaces"]) if msg["replaces"] else None
            if target is not None:
                target.update({k: msg[k] for k in ("text", "buttons", "file")})
            else:
                self.shown[msg["id"]] = dict(msg)

    async def poll(self) -> list[dict[str, Any]]:
        """What the page's polling fetches: messages after the last one shown (pushed ones included)."""
        resp = await self.client.get("/api/messages", params={"after": str(self.last_id)})
        assert resp.status == 200, await resp.text()
        messages = (await resp.json())["messages"]
        self.apply(messages)
        return list(messages)

    async def post(self, body: dict[str, Any], **headers: str) -> Any:
        headers = {"X-CSRF-Token": self.csrf, **headers}
        return await self.client.post("/api/messages", json=body, headers=headers)

    async def _turn(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        resp = await self.post(body)
        assert resp.status == 200, await resp.text()
        messages = (await resp.json())["messages"]
        self.apply(messages)
        return list(messages)

    async def send(self, text: str) -> list[dict[str, Any]]:
        return await self._turn({"text": text})

    def find_button(self, label: str) -> tuple[int, dict[str, Any]]:
        """The newest displayed message offering `label`."""
        for mid in sorted(self.shown, reverse=True):
            for row in self.shown[mid]["buttons"]:
                for button in row:
                    if button["label"] == label:
                        return mid, button
        raise AssertionError(f"no button {label!r}; last message: {self.last_text()!r}")

    async def press(self, label: str) -> list[dict[str, Any]]:
        mid, button = self.find_button(label)
        if button["data"] is None:  # a menu button sends its label
            return await self.send(label)
        return await self._turn({"button": button["data"], "message_id": mid})

    def last(self) -> dict[str, Any]:
        return self.shown[max(self.shown)]

    def last_text(self) -> str:
        return str(self.last()["text"]) if self.shown else ""

    def all_text(self) -> str:
        return "\n".join(m["text"] for m in self.shown.values())

    async def fill_step(self) -> None:
        """Answer the current prompt as a user would: buttons for choices, typing for the rest."""
        text = self.last_text()
        label = field_label(text.split("\n\n")[-1])
        if label == "共建形式":
            await self.press("☐ 技术研发")
            await self.press("☐ 中试验证")
            await self.press("✅ 完成")
        elif label in PRESSED:
            await self.press(PRESSED[label])
        elif label in TYPED:
            await self.send(TYPED[label])
        else:
            raise AssertionError(f"unexpected prompt: {text[:120]!r}")

    async def fill_to_summary(self) -> None:
        for _ in range(40):
            if SUMMARY in self.last_text():
                return
            await self.fill_step()
        raise AssertionError("never reached the summary")


@contextlib.asynccontextmanager
async def live_site(database: Path) -> AsyncIterator[tuple[str, SqlRepository]]:
    """The whole web app (chat and dashboard) on a real TCP port over a SQLite file, for a browser:
    yields its base address (no trailing slash) and the repository."""
    repo = await open_repository(f"sqlite+aiosqlite:///{database}")
    runner = web.AppRunner(build_web_app(services(repo), limiter=RateLimiter(capacity=1000)))
    try:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}", repo
    finally:
        await runner.cleanup()
        await repo.close()
