"""A real phone-sized browser (Debian's chromium driven by Playwright) uses the web chat: asks a question,
fills and submits a whole entry by tapping and typing, reloads mid-form and carries on.

This test fails, never skips, when the browser cannot start: CI installs chromium and fonts-noto-cjk.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright, expect

from storage import SqlRepository
from tests.web.support import PRESSED, SUMMARY, TYPED, field_label, live_site

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE: ViewportSize = {"width": 390, "height": 844}
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 Safari/604.1"
)


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, SqlRepository]]:
    """The web chat on a real TCP port (SQLite in tmp_path)."""
    async with live_site(tmp_path / "web.sqlite3") as (base, repo):
        yield f"{base}/", repo


async def last_id(page: Page) -> int:
    return int(await page.locator("#log > li").last.get_attribute("data-id") or 0)


async def settled(page: Page, before: int) -> None:
    """Wait until the turn's reply has arrived (a newer message, nothing in flight)."""
    await page.wait_for_function(
        "before => { const items = document.querySelectorAll('#log > li');"
        " const last = items[items.length - 1];"
        " return Number(last.dataset.id) > before"
        " && document.getElementById('log').getAttribute('aria-busy') === 'false'; }",
        arg=before,
    )


async def tap(page: Page, label: str) -> None:
    """Tap the newest button called `label` (message buttons and the menu alike)."""
    before = await last_id(page)
    await page.get_by_role("button", name=label, exact=True).last.tap()
    await settled(page, before)


async def type_and_send(page: Page, text: str, *, enter: bool = False) -> None:
    before = await last_id(page)
    box = page.get_by_label("输入消息")
    await box.fill(text)
    if enter:
        await box.press("Enter")
    else:
        await page.get_by_role("button", name="发送", exact=True).tap()
    await settled(page, before)


async def last_bot_text(page: Page) -> str:
    return await page.locator("#log > li.bot .text").last.inner_text()


async def answer_current_field(page: Page, shots: Path) -> None:
    text = await last_bot_text(page)
    label = field_label(text.split("\n\n")[-1])
    if label == "共建形式":
        prompt = page.locator("#log > li").last
        await prompt.get_by_role("button", name="☐ 技术研发").tap()
        await expect(prompt.get_by_role("button", name="☑ 技术研发")).to_be_visible()  # edited in place
        await prompt.get_by_role("button", name="☐ 中试验证").tap()
        await expect(prompt.get_by_role("button", name="☑ 中试验证")).to_be_visible()
        await page.screenshot(path=shots / "3-multi-select.png")
        await tap(page, "✅ 完成")
    elif label in PRESSED:
        await tap(page, PRESSED[label])
    elif label in TYPED:
        await type_and_send(page, TYPED[label], enter=label == "平台联系人")
    else:
        raise AssertionError(f"unexpected prompt: {text[:120]!r}")


async def test_a_phone_browser_asks_fills_reloads_and_submits(
    site: tuple[str, SqlRepository], tmp_path: Path
) -> None:
    url, repo = site
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = await browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            user_agent=IPHONE_UA,
        )
        page = await context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)

        await page.goto(url)
        log = page.get_by_role("log", name="对话记录")
        await expect(log).to_contain_text("我是结对共建助手")
        await expect(page.get_by_role("button", name="填报结对项目")).to_be_visible()
        box = await page.get_by_role("button", name="填报结对项目").bounding_box()
        assert box is not None and box["height"] >= 44  # a comfortable tap target

        await type_and_send(page, "本季度清单什么时候截止？")
        answer = await last_bot_text(page)
        assert "截止" in answer and "来源：《" in answer  # answered with its citation
        await page.screenshot(path=tmp_path / "1-question.png")

        await tap(page, "填报结对项目")
        assert "第1/16项 · 驻区高校/科研机构" in await last_bot_text(page)
        await page.screenshot(path=tmp_path / "2-form.png")
        for _ in range(4):
            await answer_current_field(page, tmp_path)

        progress = await last_bot_text(page)
        await page.reload()  # everything comes back from the server; the form carries on
        await expect(log).to_contain_text("本季度清单什么时候截止？")
        assert await last_bot_text(page) == progress
        for _ in range(40):
            if SUMMARY in await last_bot_text(page):
                break
            await answer_current_field(page, tmp_path)
        summary = await last_bot_text(page)
        assert "12. 共建形式：技术研发、中试验证" in summary and "修改 科创平台名称" in await log.inner_text()

        await tap(page, "修改 科创平台名称")
        await type_and_send(page, "海洋腐蚀与防护中心")
        assert "2. 科创平台名称：海洋腐蚀与防护中心" in await last_bot_text(page)
        await tap(page, "✅ 提交")
        assert "提交成功" in await last_bot_text(page)
        await expect(page.locator("#log > li.user").last).to_contain_text("✅ 提交")
        await page.screenshot(path=tmp_path / "4-submitted.png")
        await browser.close()

    assert problems == []  # no script errors, no CSP violations
    (entry,) = [e async for e in repo.iter_entries()]
    assert entry.platform_name == "海洋腐蚀与防护中心" and entry.quarter == "2026Q4"
    assert (tmp_path / "4-submitted.png").stat().st_size > 10_000
