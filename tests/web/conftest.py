"""Fixtures for the web chat: a running test server over `repo`, and browser-like sessions."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, async_playwright

from handlers.services import Services
from handlers.web import build_web_app
from handlers.web.security import RateLimiter
from storage import SqlRepository
from tests.web.support import WebUser, services

NewUser = Callable[..., Awaitable[WebUser]]

# Debian's chromium, driven by Playwright; the browser tests fail (never skip) without it.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """A headless Chromium for the browser tests."""
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def svc(repo: SqlRepository) -> Services:
    return services(repo)


@pytest.fixture
async def server(svc: Services, aiohttp_server: Any) -> TestServer:
    """The web chat; the rate limit is lifted so tests can type faster than people (see the flood test)."""
    app = build_web_app(svc, limiter=RateLimiter(capacity=100_000))
    return await aiohttp_server(app)  # type: ignore[no-any-return]


async def open_user(aiohttp_client: Any, server: TestServer) -> WebUser:
    """A new browser session (its own cookie jar) on `server`, with the page opened."""
    user = WebUser(await aiohttp_client(server))
    await user.open()
    return user


@pytest.fixture
def new_user(server: TestServer, aiohttp_client: Any) -> NewUser:
    async def make() -> WebUser:
        return await open_user(aiohttp_client, server)

    return make
