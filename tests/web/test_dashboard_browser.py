"""Real browsers (Debian's chromium through Playwright) on the dashboard, on the same server as the web chat:
the secretariat sees an entry filed through the chat moments before, its history, and downloads the
per-university list; a university confirms an entry of its own list and sees no other; five wrong
passwords lock the login. Takes the 总览 screenshot at 1366×768: into docs/dashboard-overview.png when
UPDATE_DOCS_SCREENSHOTS=1 is set, else into the test's temporary directory (a test run leaves the tree clean).

Fails, never skips, when the browser cannot start (CI installs chromium and fonts-noto-cjk).
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient, TestServer
from playwright.async_api import Browser, Page, ViewportSize, expect

from handlers.web import build_web_app
from handlers.web.security import RateLimiter
from storage import SqlRepository, open_repository
from tests.forms import TYPED
from tests.web.dashboard_support import OUC, PASSWORD, UPC, ZHONGDE, add_account, entry_fields, seed
from tests.web.support import WebUser, services

DESK: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
DOCS = Path(__file__).resolve().parents[2] / "docs"
ENTERPRISE = TYPED["企业名称"]
PROJECT = TYPED["共建项目名称"]


@pytest.fixture
async def site(tmp_path: Path, aiohttp_server: Any) -> AsyncIterator[tuple[TestServer, SqlRepository]]:
    """The web chat and the dashboard in one app on a real TCP port (SQLite in tmp_path)."""
    repo = await open_repository(f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}")
    try:
        server = await aiohttp_server(build_web_app(services(repo), limiter=RateLimiter(capacity=1000)))
        yield server, repo
    finally:
        await repo.close()



async def file_through_the_chat(server: TestServer) -> None:
    """A company files one entry through the web chat's API, as its page does."""
    client: TestClient[Any, Any] = TestClient(server)
    await client.start_server()
    try:
        user = WebUser(client)
        await user.open()
        await user.press("填报结对项目")
        await user.fill_to_summary()
        await user.press("✅ 提交")
        assert "提交成功" in user.last_text()
    finally:
        await client.session.close()  # not client.close(): that would stop the shared server


async def new_page(browser: Browser, viewport: ViewportSize, problems: list[str], **extra: Any) -> Page:
    context = await browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True, **extra)
    page = await context.new_page()
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    return page


async def log_in(page: Page, base: str, name: str, password: str = PASSWORD) -> None:
    await page.goto(base + "admin/")  # not signed in: the login page, coming back here afterwards
    await expect(page.get_by_role("heading", name="登录管理台")).to_be_visible()
    await page.get_by_label("账号").fill(name)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()


async def test_the_secretariat_sees_a_new_entry_its_history_and_downloads_the_list(
    site: tuple[TestServer, SqlRepository], browser: Browser, tmp_path: Path
) -> None:
    server, repo = site
    base = str(server.make_url("/"))
    await seed(repo)  # other universities' and districts' entries around it
    for i, (uni, district) in enumerate([(OUC, ZHONGDE), (UPC, "董家口经济区")]):
        fields = entry_fields(uni, district, f"青岛上季{i}号科技有限公司", f"91370211MA3C8888{i}X", "旧项目")
        await repo.create_entry(5000 + i, "2026Q3", fields)  # filed last quarter, not yet this one
    await add_account(repo, "mishuchu", "admin")
    await file_through_the_chat(server)  # moments before the secretariat looks
    (filed,) = [e async for e in repo.iter_entries() if e.enterprise_name == ENTERPRISE]
    await repo.update_entry(filed.id, filed.user_id, {"progress": "中试线已投产"})

    problems: list[str] = []
    page = await new_page(browser, DESK, problems)
    await log_in(page, base, "mishuchu")
    await expect(page.get_by_role("heading", name="总览")).to_be_visible()
    await expect(page.get_by_text("青岛上季1号科技有限公司")).to_be_visible()  # has not filed this quarter
    await expect(page.get_by_role("button", name="一键提醒未填报的 2 位联系人")).to_be_visible()
    shots = DOCS if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" else tmp_path
    await page.screenshot(path=shots / "dashboard-overview.png", full_page=False)

    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="项目清单").click()
    await expect(page.get_by_role("cell", name=ENTERPRISE)).to_be_visible()
    await page.get_by_label("搜索").fill("防腐涂层中试")
    await page.get_by_role("button", name="筛选").click()  # htmx swaps the results and pushes the URL
    await expect(page.get_by_text("共 1 条")).to_be_visible()
    assert "q=" in page.url
    assert await page.evaluate("typeof window.htmx") == "object"  # the vendored htmx runs under the CSP
    await page.go_back()  # the whole unfiltered page again, layout included
    await expect(page.get_by_text("共 7 条")).to_be_visible()
    await expect(page.get_by_role("navigation", name="主导航")).to_be_visible()
    await page.get_by_label("功能区/镇街").select_option(ZHONGDE)  # a select refreshes the results itself
    await expect(page.get_by_text("共 4 条")).to_be_visible()
    await page.get_by_role("link", name=PROJECT).click()
    await expect(page.get_by_role("heading", name=f"记录 {filed.id}：{PROJECT}")).to_be_visible()
    history = page.locator("section", has=page.get_by_role("heading", name="修改记录"))
    await expect(history.get_by_role("cell", name="提交填报")).to_be_visible()
    await expect(history.get_by_role("cell", name="中试线已投产")).to_be_visible()
    await expect(history.get_by_role("cell", name="已完成中试样机调试")).to_be_visible()

    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="导出").click()
    lists = page.locator("section", has=page.get_by_role("heading", name="各高校院所清单（一校一表）"))
    await lists.get_by_label("高校院所").select_option(UPC)
    async with page.expect_download() as info:
        await lists.get_by_role("button", name="下载").click()
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx") and UPC in download.suggested_filename
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    names = [row[header.index("企业名称")] for row in rows[1:]]
    assert ENTERPRISE in names and all(row[header.index("高校/科研机构")] == UPC for row in rows[1:])
    assert problems == []
    events, _ = await repo.audit_events(account="mishuchu")
    assert {"login", "export"} <= {e.action for e in events}


async def test_a_university_sees_only_its_list_and_confirms_an_entry_on_a_phone(
    site: tuple[TestServer, SqlRepository], browser: Browser
) -> None:
    server, repo = site
    base = str(server.make_url("/"))
    await seed(repo)
    await file_through_the_chat(server)  # files for 中国石油大学（华东）
    await add_account(repo, "shida", "university", UPC)
    problems: list[str] = []
    page = await new_page(browser, PHONE, problems, is_mobile=True, has_touch=True)
    await log_in(page, base, "shida")
    await expect(page.get_by_role("heading", name="总览 高校院所：中国石油大学（华东）")).to_be_visible()
    await page.goto(base + "admin/entries")
    table = page.locator("#results table")
    await expect(table.get_by_role("cell", name=ENTERPRISE)).to_be_visible()
    text = await table.inner_text()
    assert "青岛丙科技有限公司" in text and "青岛丁科技有限公司" in text  # its other entries
    assert "青岛甲科技有限公司" not in text and OUC not in text  # another university's are not there
    # another university's entry by its id: refused
    other = next(iter([e async for e in repo.iter_entries() if e.university == OUC]))
    response = await page.goto(base + f"admin/entries/{other.id}")
    assert response is not None and response.status == 403
    await expect(page.get_by_text("未找到该记录，或您的账号无权查看")).to_be_visible()

    await page.goto(base + "admin/entries")
    await page.get_by_role("link", name=PROJECT).tap()
    await page.get_by_label("备注（选填，标记疑问时请说明）").fill("平台名称与清单一致")
    await page.get_by_role("button", name="确认平台").tap()
    await expect(page.get_by_text("已保存。")).to_be_visible()
    await expect(page.locator(".badge.confirmed")).to_have_text("平台已确认")
    await page.goto(base + "admin/entries")
    row = page.locator("#results tr", has=page.get_by_role("cell", name=ENTERPRISE))
    await expect(row.get_by_text("平台已确认")).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # the page fits; only the table scrolls sideways inside its box
    assert [p for p in problems if "403 (Forbidden)" not in p] == []  # only the refused entry's answer
    (filed,) = [e async for e in repo.iter_entries() if e.enterprise_name == ENTERPRISE]
    assert filed.platform_check == "confirmed" and filed.platform_check_by == "shida"


async def test_five_wrong_passwords_lock_the_login(
    site: tuple[TestServer, SqlRepository], browser: Browser
) -> None:
    server, repo = site
    base = str(server.make_url("/"))
    await add_account(repo, "mishuchu", "admin")
    problems: list[str] = []
    page = await new_page(browser, DESK, problems)
    for attempt in range(1, 6):
        await log_in(page, base, "mishuchu", f"wrong password {attempt}")
        expected = "登录失败次数过多" if attempt == 5 else "账号或密码错误"
        await expect(page.get_by_role("alert")).to_contain_text(expected)
    await log_in(page, base, "mishuchu")  # the right password, too late
    await expect(page.get_by_role("alert")).to_contain_text("请 15 分钟后再试")
    await expect(page.get_by_role("heading", name="总览")).to_have_count(0)
    assert [p for p in problems if "401" not in p and "429" not in p] == []
