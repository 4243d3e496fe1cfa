"""Scope tests: for each role, every dashboard page and download asked for as another scope's account is
refused (403) or filtered, by URL, id, filter and export parameter. Two universities × two districts of
entries (`seed`); each account must see exactly its own slice."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestServer

from policies.records import Entry
from storage import SqlRepository
from tests.web.dashboard_support import (
    DONGJIAKOU,
    OUC,
    UPC,
    ZHONGDE,
    Desk,
    add_account,
    desk,
    entry_fields,
    seed,
)

Q = "2026Q4"


@pytest.fixture
async def entries(repo: SqlRepository) -> dict[str, Entry]:
    made = await seed(repo)
    await add_account(repo, "boss", "admin")
    await add_account(repo, "ouc", "university", OUC)
    await add_account(repo, "zhongde", "district", ZHONGDE)
    return made


@pytest.fixture
async def open_desk(server: TestServer) -> AsyncIterator[Any]:
    opened: list[Desk] = []

    async def make(name: str) -> Desk:
        d = await desk(server)
        opened.append(d)
        await d.login(name)
        return d

    yield make
    for d in opened:
        await d.client.close()


# which seeded entries each account must see: 甲 OUC/中德, 乙 OUC/董家口, 丙 UPC/中德, 丁 UPC/董家口
VISIBLE = {"boss": {"甲", "乙", "丙", "丁"}, "ouc": {"甲", "乙"}, "zhongde": {"甲", "丙"}}


def shown(page: str) -> set[str]:
    return {tag for tag in "甲乙丙丁" if f"青岛{tag}科技有限公司" in page}


@pytest.mark.parametrize("name", ["boss", "ouc", "zhongde"])
async def test_the_entries_table_shows_only_the_scope_whatever_the_filter(
    name: str, entries: dict[str, Entry], open_desk: Any
) -> None:
    d = await open_desk(name)
    assert shown(await d.page("/admin/entries")) == VISIBLE[name]
    # filters naming another scope narrow within the scope, never widen it
    for params in (
        {"university": UPC},
        {"university": OUC},
        {"district": DONGJIAKOU},
        {"q": "丙"},
        {"q": "91370211MA3C1234"},
        {"quarter": Q, "status": "在建"},
        {"sort": "university", "dir": "asc", "page": "1"},
    ):
        page = await d.page("/admin/entries", **params)
        assert shown(page) <= VISIBLE[name], params
    assert shown(await d.page("/admin/entries", university=UPC)) == VISIBLE[name] & {"丙", "丁"}
    # an htmx request for the fragment is scoped the same way
    resp = await d.client.get("/admin/entries", headers={"HX-Request": "true"}, params={"district": ZHONGDE})
    fragment = await resp.text()
    assert "<header" not in fragment and shown(fragment) == VISIBLE[name] & {"甲", "丙"}
    # the back button after htmx pushed a URL asks for the whole page again
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    resp = await d.client.get("/admin/entries", headers=restore, params={"district": ZHONGDE})
    assert "<header" in await resp.text()


@pytest.mark.parametrize("name", ["boss", "ouc", "zhongde"])
async def test_an_entry_page_outside_the_scope_is_403_like_a_missing_one(
    name: str, entries: dict[str, Entry], open_desk: Any, repo: SqlRepository
) -> None:
    d = await open_desk(name)
    for tag, entry in entries.items():
        resp = await d.get(f"/admin/entries/{entry.id}")
        text = await resp.text()
        if tag in VISIBLE[name]:
            assert resp.status == 200 and entry.project_name in text
        else:
            assert resp.status == 403 and entry.project_name not in text
    for bad in ("999999", "0", "99999999999999999999", "-1", "1e3"):
        resp = await d.get(f"/admin/entries/{bad}")
        assert resp.status == 403  # the same answer as for an entry of another scope
    events, _ = await repo.audit_events(account=name, action="entry_refused")
    assert len(events) == 4 - len(VISIBLE[name]) + 5  # every refusal is audited


async def test_only_a_university_confirms_and_only_its_own_entries(
    entries: dict[str, Entry], open_desk: Any, repo: SqlRepository
) -> None:
    ouc = await open_desk("ouc")
    await ouc.page(f"/admin/entries/{entries['甲'].id}")
    resp = await ouc.post(f"/admin/entries/{entries['丙'].id}/check", {"action": "confirm"})
    assert resp.status == 403
    assert (await repo.get_entry(entries["丙"].id)).platform_check is None  # type: ignore[union-attr]
    resp = await ouc.post(f"/admin/entries/{entries['甲'].id}/check", {"action": "confirm", "note": "无误"})
    assert resp.status == 303
    page = await ouc.page(f"/admin/entries/{entries['甲'].id}")
    assert "平台已确认" in page and "无误" in page
    for name in ("boss", "zhongde"):
        other = await open_desk(name)
        await other.page("/admin/entries")
        resp = await other.post(f"/admin/entries/{entries['甲'].id}/check", {"action": "clear"})
        assert resp.status == 403
    assert (await repo.get_entry(entries["甲"].id)).platform_check == "confirmed"  # type: ignore[union-attr]


ADMIN_ONLY_GET = ("/admin/audit", "/admin/accounts")
ADMIN_ONLY_POST = ("/admin/accounts", "/admin/accounts/status", "/admin/remind")


@pytest.mark.parametrize("name", ["ouc", "zhongde"])
async def test_admin_pages_and_actions_are_403_for_the_other_roles(
    name: str, entries: dict[str, Entry], open_desk: Any, repo: SqlRepository
) -> None:
    d = await open_desk(name)
    home = await d.page("/admin/")
    assert 'href="/admin/audit"' not in home and 'href="/admin/accounts"' not in home  # not offered
    for path in ADMIN_ONLY_GET:
        assert (await d.get(path)).status == 403
    data = {
        "name": "boss",
        "action": "disable",
        "role": "admin",
        "password": "x" * 12,
        "password_again": "x" * 12,
        "current_password": "correct horse battery",
        "text": "hi",
        "nonce": "abcdefgh12",
    }
    for path in ADMIN_ONLY_POST:
        assert (await d.post(path, data)).status == 403
    assert not (await repo.get_account("boss")).disabled  # type: ignore[union-attr]
    assert await repo.unfinished_broadcasts() == []


def xlsx_rows(data: bytes) -> list[tuple[Any, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [row for sheet in book.worksheets for row in sheet.iter_rows(min_row=2, values_only=True)]


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def tags_in(rows: list[tuple[Any, ...]]) -> set[str]:
    return {tag for tag in "甲乙丙丁" for row in rows if f"青岛{tag}科技有限公司" in row}


async def download(d: Desk, **params: str) -> tuple[int, bytes]:
    resp = await d.get("/admin/exports/download", **params)
    return resp.status, await resp.read()


async def test_university_exports_only_its_own_list(entries: dict[str, Entry], open_desk: Any) -> None:
    d = await open_desk("ouc")
    page = await d.page("/admin/exports")
    assert "各高校院所清单" in page and "按企业打包" not in page and "管理台账" not in page
    status, data = await download(d, by="university", quarter=Q)
    assert status == 200 and tags_in(xlsx_rows(data)) == {"甲", "乙"}
    status, data = await download(d, by="university", quarter=Q, university="中国 海洋大学", fmt="xlsx")
    assert status == 200 and tags_in(xlsx_rows(data)) == {"甲", "乙"}  # its own name in another spelling
    for params in (
        {"by": "university", "university": UPC},
        {"by": "enterprise"},
        {"by": "ledger"},
        {"by": "leaderboard", "quarter": Q},
        {"by": "nonsense"},
    ):
        status, data = await download(d, **params)
        assert status == 403 and "青岛" not in data.decode("utf-8", "replace"), params


async def test_district_exports_only_its_enterprises(entries: dict[str, Entry], open_desk: Any) -> None:
    d = await open_desk("zhongde")
    status, data = await download(d, by="enterprise", quarter=Q)
    assert status == 200
    members = zip_members(data)
    assert len(members) == 2 and {"甲", "丙"} == {t for t in "甲乙丙丁" for n in members if t in n}
    status, data = await download(d, by="ledger")
    assert status == 200 and tags_in(xlsx_rows(data)) == {"甲", "丙"}
    for params in (
        {"by": "university"},
        {"by": "university", "university": OUC},
        {"by": "leaderboard", "quarter": Q},
    ):
        status, _ = await download(d, **params)
        assert status == 403, params


async def test_admin_exports_everything_and_one_university_on_request(
    entries: dict[str, Entry], open_desk: Any, repo: SqlRepository
) -> None:
    d = await open_desk("boss")
    status, data = await download(d, by="university", quarter=Q)
    assert status == 200
    members = zip_members(data)  # several universities: one zip of one file each
    assert len(members) == 2 and tags_in([r for m in members.values() for r in xlsx_rows(m)]) == set(
        "甲乙丙丁"
    )
    status, data = await download(d, by="university", quarter=Q, university=UPC)
    assert status == 200 and tags_in(xlsx_rows(data)) == {"丙", "丁"}
    status, _ = await download(d, by="leaderboard", quarter=Q)
    assert status == 200
    status, _ = await download(d, by="ledger", fmt="csv")
    assert status == 200
    events, _ = await repo.audit_events(account="boss", action="export")
    assert len(events) == 4 and {e.target.split(":")[0] for e in events} == {
        "university",
        "leaderboard",
        "ledger",
    }


@pytest.mark.parametrize("name", ["boss", "ouc", "zhongde"])
async def test_the_overview_counts_and_lists_only_the_scope(
    name: str, entries: dict[str, Entry], open_desk: Any, repo: SqlRepository
) -> None:
    # last quarter: an enterprise per university × district that has not filed this quarter
    for i, (uni, district, tag) in enumerate([(OUC, ZHONGDE, "戊"), (UPC, DONGJIAKOU, "己")]):
        fields = entry_fields(uni, district, f"青岛{tag}科技有限公司", f"91370211MA3C9999{i}X", "旧项目")
        await repo.create_entry(2000 + i, "2026Q3", fields)
    d = await open_desk(name)
    page = await d.page("/admin/")
    lapsed = {tag for tag in "戊己" if f"青岛{tag}科技有限公司" in page}
    assert lapsed == {"boss": {"戊", "己"}, "ouc": {"戊"}, "zhongde": {"戊"}}[name]
    if name == "ouc":
        assert UPC not in page
    if name == "zhongde":
        assert DONGJIAKOU not in page
    assert ("一键提醒" in page) == (name == "boss")
