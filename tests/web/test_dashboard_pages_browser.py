"""Real browsers (Debian's chromium through Playwright) on the dashboard pages: the secretariat sends a
broadcast to web-chat and Telegram subscribers (the sender worker delivering through the fake Bot API) and
watches the progress reach "已完成" without reloading; the 榜单 chart renders with no console error (a CSP
violation would be one). Takes the 榜单 screenshot at 1366×768: into docs/dashboard-leaderboard.png when
UPDATE_DOCS_SCREENSHOTS=1 is set, else into the test's temporary directory (a test run leaves the tree clean).

Fails, never skips, when the browser cannot start (CI installs chromium and fonts-noto-cjk).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect
from telegram import Bot

from handlers.telegram.broadcast import resume_all
from storage import SqlRepository
from tests.fakeapi.core import FakeTelegram, Limits
from tests.fakeapi.server import FakeBotApiServer
from tests.web.dashboard_support import OUC, PASSWORD, UPC, ZHONGDE, add_account, entry_fields, seed
from tests.web.support import live_site

DESK: ViewportSize = {"width": 1366, "height": 768}
DOCS = Path(__file__).resolve().parents[2] / "docs"
TELEGRAM_USERS = (7001, 7002, 7003)
BLOCKED = 7003


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, SqlRepository]]:
    """The web chat and the dashboard on a real TCP port (SQLite in tmp_path)."""
    async with live_site(tmp_path / "pages.sqlite3") as (base, repo):
        await add_account(repo, "boss", "admin")
        await add_account(repo, "upc", "university", UPC)
        yield base, repo


async def signed_in(browser: Browser, base: str, name: str, problems: list[str]) -> Page:
    context = await browser.new_context(viewport=DESK, locale="zh-CN")
    page = await context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{base}/admin/login")
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("heading", name="总览")).to_be_visible()
    return page


async def sender_worker(bot: Bot, repo: SqlRepository, stop: asyncio.Event) -> None:
    """What `sender_loop` does in the Telegram process: finish every open broadcast, then look again."""
    while not stop.is_set():
        await resume_all(bot, repo, backoff_base=0.05)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def test_admin_sends_a_broadcast_and_watches_it_complete(
    site: tuple[str, SqlRepository], browser: Browser
) -> None:
    base, repo = site
    for uid in (101, 102):
        await repo.upsert_subscriber(uid, uid, f"网页用户{uid}", channel="web")
    for uid in TELEGRAM_USERS:
        await repo.upsert_subscriber(uid, uid, f"电报用户{uid}")
    problems: list[str] = []
    page = await signed_in(browser, base, "boss", problems)

    await page.get_by_role("link", name="群发与提醒").click()
    await page.get_by_label("通知内容").fill("【通知】第四季度路演活动报名已开始，请于10月24日前报名。")
    await page.get_by_role("button", name="预览").click()
    await expect(page.get_by_role("heading", name="将发送给 5 位订阅者")).to_be_visible()
    await page.get_by_role("button", name="确认发送").click()

    state = page.locator("#progress-state")
    await expect(state).to_have_text("发送中")  # web-chat users have it; Telegram's three wait
    await expect(page.locator("#count-sent")).to_have_text("2")
    await expect(page.locator("#count-left")).to_have_text("3")
    await page.evaluate("() => { window.stillThisPage = true; }")  # gone if the page were reloaded

    async with FakeBotApiServer(FakeTelegram(limits=Limits())) as api:
        api.fake.add_users(TELEGRAM_USERS)
        api.fake.faults.block(BLOCKED)
        stop = asyncio.Event()
        async with Bot("123456:TEST", base_url=api.base_url) as bot:
            worker = asyncio.create_task(sender_worker(bot, repo, stop))
            try:
                await expect(state).to_have_text("已完成", timeout=20_000)  # pushed over SSE, no reload
            finally:
                stop.set()
                await worker
        delivered = [api.fake.last_message(uid) for uid in TELEGRAM_USERS[:2]]
        assert all(m is not None and "路演活动报名" in m.text for m in delivered)
    await expect(page.locator("#count-sent")).to_have_text("4")
    await expect(page.locator("#count-blocked")).to_have_text("1")
    await expect(page.locator("#count-left")).to_have_text("0")
    assert await page.locator("#progress-bar").get_attribute("value") == "5"
    assert await page.evaluate("() => window.stillThisPage === true")  # updated in place over SSE

    await page.get_by_role("link", name="返回群发与提醒").click()
    row = page.locator("tr", has_text="路演活动报名")
    await expect(row).to_contain_text("已完成")
    assert problems == []  # no script errors, no CSP violations


async def test_the_leaderboard_chart_renders(
    site: tuple[str, SqlRepository], browser: Browser, tmp_path: Path
) -> None:
    base, repo = site
    await seed(repo)
    more = entry_fields(OUC, ZHONGDE, "青岛戊科技有限公司", "91370211MA3C12349X", "海洋牧场监测")
    await repo.create_entry(1100, "2026Q4", {**more, "status": "洽谈中", "platform_name": "海洋观测中心"})
    await repo.create_entry(1101, "2026Q3", {**more, "project_name": "上季度项目"})
    problems: list[str] = []
    page = await signed_in(browser, base, "boss", problems)
    await page.get_by_role("link", name="榜单").click()
    canvas = page.locator("canvas#board-chart")
    await expect(canvas).to_be_visible()
    drawn = await page.evaluate(
        "() => { const c = document.getElementById('board-chart'); const chart = Chart.getChart(c);"
        " return chart ? {bars: chart.data.labels.length, w: c.width, h: c.height} : null; }"
    )
    assert drawn is not None and drawn["bars"] == 2 and drawn["w"] > 300 and drawn["h"] > 200
    assert await page.evaluate("() => !!Chart.getChart(document.getElementById('trend-chart'))")
    await expect(page.get_by_role("cell", name=OUC).first).to_be_visible()
    shot = (
        DOCS if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else tmp_path
    ) / "dashboard-leaderboard.png"
    await page.screenshot(path=shot)
    assert shot.stat().st_size > 20_000

    university = await signed_in(browser, base, "upc", problems)
    await university.goto(f"{base}/admin/leaderboard")
    await expect(university.locator("canvas#board-chart")).to_be_visible()
    labels = await university.evaluate(
        "() => Chart.getChart(document.getElementById('board-chart')).data.labels"
    )
    assert labels == [f"{UPC}海洋工程平台（{UPC}）"]
    assert problems == []
