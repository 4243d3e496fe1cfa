"""The dashboard pages 群发与提醒, 榜单, 平台目录 and 未答问题 over HTTP, per role: what each account sees,
what it is refused (403) by URL, id and filter, the broadcast's progress stream reaching done, and the
chart data for a known set of entries."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestServer

from handlers.web import build_web_app
from handlers.web.dashboard import broadcasts as bc
from handlers.web.security import RateLimiter
from policies.settings import Settings
from storage import SqlRepository
from tests.harness import policy_store
from tests.platforms_support import SPEC, write_csv
from tests.web.dashboard_support import OUC, UPC, ZHONGDE, Desk, add_account, desk, entry_fields, seed

Q = "2026Q4"
NONCE_RE = re.compile(r'name="nonce" value="([^"]+)"')
ACCOUNTS = {
    "boss": ("admin", ""),
    "ouc": ("university", OUC),
    "upc": ("university", UPC),
    "zd": ("district", ZHONGDE),
}


@pytest.fixture
async def accounts(repo: SqlRepository) -> None:
    for name, (role, scope) in ACCOUNTS.items():
        await add_account(repo, name, role, scope)


@pytest.fixture
async def open_desk(server: TestServer, accounts: None) -> AsyncIterator[Any]:
    opened: list[Desk] = []

    async def make(name: str, on: TestServer | None = None) -> Desk:
        d = await desk(on or server)
        opened.append(d)
        await d.login(name)
        return d

    yield make
    for d in opened:
        await d.client.close()


def chart_data(html: str, block: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', html, re.S)
    assert found, f"no {block} block"
    return json.loads(found.group(1))  # type: ignore[no-any-return]


async def subscribers(repo: SqlRepository, web: int, telegram: int) -> None:
    for i in range(web):
        await repo.upsert_subscriber(5000 + i, 5000 + i, f"网页用户{i}", channel="web")
    for i in range(telegram):
        await repo.upsert_subscriber(6000 + i, 6000 + i, f"电报用户{i}")


# -- 群发与提醒 --------------------------------------------------------------------------------------------
async def _compose(d: Desk, text: str) -> str:
    await d.page("/admin/broadcasts")
    resp = await d.post("/admin/broadcasts/preview", {"text": text})
    body = await resp.text()
    assert resp.status == 200, body[:300]
    found = NONCE_RE.search(body)
    assert found
    return found.group(1)


async def test_admin_previews_confirms_once_and_the_audit_names_the_account(
    repo: SqlRepository, open_desk: Any
) -> None:
    await subscribers(repo, web=2, telegram=3)
    boss = await open_desk("boss")
    await boss.page("/admin/broadcasts")
    resp = await boss.post("/admin/broadcasts/preview", {"text": "  第四季度路演报名开始 <b>啦</b>  "})
    body = await resp.text()
    assert '将发送给 <strong id="recipient-count">5</strong> 位订阅者' in body
    assert "&lt;b&gt;啦&lt;/b&gt;" in body  # escaped, never rendered
    nonce = NONCE_RE.search(body).group(1)  # type: ignore[union-attr]
    first = await boss.post("/admin/broadcasts/send", {"nonce": nonce})
    assert first.status == 303
    again = await boss.post("/admin/broadcasts/send", {"nonce": nonce})  # a double submit
    assert again.status == 303 and again.headers["Location"] == first.headers["Location"]
    listed = await repo.recent_broadcasts(10)
    assert len(listed) == 1 and listed[0].text == "第四季度路演报名开始 <b>啦</b>"
    assert listed[0].totals["sent"] == 2 and listed[0].totals["pending"] == 3  # web users served at once
    page = await boss.page(first.headers["Location"])
    assert 'id="count-sent">2<' in page and 'id="count-left">3<' in page and "发送中" in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript the page refreshes itself
    events, _total = await repo.audit_events()
    assert any(e.action == "broadcast" and e.account == "boss" for e in events)
    assert f"/admin/broadcasts/{listed[0].id}" in await boss.page("/admin/broadcasts")


async def test_bad_text_and_missing_token_are_refused(repo: SqlRepository, open_desk: Any) -> None:
    await subscribers(repo, web=1, telegram=0)
    boss = await open_desk("boss")
    await boss.page("/admin/broadcasts")
    empty = await boss.post("/admin/broadcasts/preview", {"text": "   "})
    assert empty.status == 400 and "通知内容为空" in await empty.text()
    long = await boss.post("/admin/broadcasts/preview", {"text": "长" * 5000})
    assert long.status == 400 and "超过 4096 字" in await long.text()
    forged = await boss.post("/admin/broadcasts/preview", {"text": "通知"}, csrf=False)
    assert forged.status == 403
    unknown = await boss.post("/admin/broadcasts/send", {"nonce": "made-up"})
    assert unknown.status == 400
    assert await repo.recent_broadcasts(10) == []


@pytest.mark.parametrize("name", ["ouc", "zd"])
async def test_only_admins_reach_broadcasts(repo: SqlRepository, open_desk: Any, name: str) -> None:
    await subscribers(repo, web=1, telegram=1)
    made = await repo.create_broadcast("秘书处通知", 0)
    assert made is not None
    other = await open_desk(name)
    for path in ("/admin/broadcasts", f"/admin/broadcasts/{made.id}", f"/admin/broadcasts/{made.id}/events"):
        assert (await other.get(path)).status == 403, path
    assert (await other.post("/admin/broadcasts/preview", {"text": "冒充群发"})).status == 403
    assert (await other.post("/admin/broadcasts/send", {"nonce": "x"})).status == 403
    assert len(await repo.recent_broadcasts(10)) == 1
    assert "群发与提醒" not in await other.page("/admin/")  # not in the navigation either


async def test_progress_stream_follows_the_outbox_until_done(
    repo: SqlRepository, open_desk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bc, "POLL_SECONDS", 0.05)
    await subscribers(repo, web=1, telegram=3)
    boss = await open_desk("boss")
    nonce = await _compose(boss, "路演通知")
    location = (await boss.post("/admin/broadcasts/send", {"nonce": nonce})).headers["Location"]
    broadcast_id = int(location.rsplit("/", 1)[1])

    async def sender() -> None:  # what the sender worker does, one recipient at a time
        for item in await repo.claim_outbox(broadcast_id, 10):
            await asyncio.sleep(0.15)
            status = "failed" if item.user_id == 6002 else "sent"
            await repo.finish_outbox(item.id, status, error="chat not found" if status == "failed" else None)

    resp = await boss.get(f"{location}/events")
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    task = asyncio.create_task(sender())
    seen: list[tuple[str, dict[str, Any]]] = []
    event = ""
    async with asyncio.timeout(20):
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                seen.append((event, json.loads(line[6:])))
    await task
    assert seen[0][0] == "progress" and seen[0][1]["left"] == 3 and seen[0][1]["sent"] == 1
    assert seen[-1] == ("done", {"sent": 3, "failed": 1, "blocked": 0, "left": 0, "total": 4, "done": True})
    lefts = [data["left"] for _e, data in seen]
    assert lefts == sorted(lefts, reverse=True) and len(set(lefts)) > 2  # it moved while we watched
    page = await boss.page(location)
    assert "已完成" in page and "refresh" not in page


async def test_the_schedule_shows_what_went_out(repo: SqlRepository, open_desk: Any) -> None:
    await subscribers(repo, web=2, telegram=0)
    await repo.create_broadcast("第二周提醒", 0, [5000, 5001], kind="reminder", dedupe_key=f"week2:{Q}")
    boss = await open_desk("boss")
    page = await boss.page("/admin/broadcasts")
    assert "2026年第四季度" in page or Q in page
    week2 = re.search(r"<tr>\s*<td>2026-10-05</td>.*?</tr>", page, re.S)
    assert week2 and "已发送（2 人）" in week2.group(0)
    week1 = re.search(r"<tr>\s*<td>2026-09-28</td>.*?</tr>", page, re.S)
    assert week1 and "仪表盘提示更新平台目录" in week1.group(0)
    deadline = re.search(r"<tr>\s*<td>2026-10-13</td>.*?</tr>", page, re.S)  # due, not created yet
    assert deadline and "待发送" in deadline.group(0)
    week6 = re.search(r"<tr>\s*<td>2026-11-02</td>.*?</tr>", page, re.S)  # week 6, the leaderboard
    assert week6 and "计划中" in week6.group(0)


# -- 榜单 ----------------------------------------------------------------------------------------------------
async def _board_entries(repo: SqlRepository) -> None:
    await seed(repo)  # 2 entries per university, all 在建 (signed), all new
    fields = entry_fields(OUC, ZHONGDE, "青岛戊科技有限公司", "91370211MA3C12349X", "戊项目")
    await repo.create_entry(1100, Q, {**fields, "status": "洽谈中"})


async def test_chart_data_is_the_leaderboard(repo: SqlRepository, open_desk: Any) -> None:
    await _board_entries(repo)
    boss = await open_desk("boss")
    page = await boss.page("/admin/leaderboard", quarter=Q)
    chart = chart_data(page, "board-data")
    # OUC: 3 new, 2 signed -> 9 + 4 = 13; UPC: 2 new, 2 signed -> 6 + 4 = 10
    assert chart == {
        "kind": "bar",
        "horizontal": True,
        "stacked": True,
        "labels": [OUC, UPC],
        "series": [
            {"label": "新增结对×3", "data": [9, 6]},
            {"label": "已签约×2", "data": [4, 4]},
            {"label": "进展更新×1", "data": [0, 0]},
        ],
    }
    trend = chart_data(page, "trend-data")
    assert trend["labels"][-1] == Q and trend["series"][0] == {"label": "贡献度", "data": [23]}
    assert '<canvas id="board-chart"' in page and "/static/vendor/chart.umd.min.js" in page
    assert "<script>" not in page  # nothing inline: the CSP forbids it


async def test_a_university_sees_its_own_figures(repo: SqlRepository, open_desk: Any) -> None:
    await _board_entries(repo)
    upc = await open_desk("upc")
    page = await upc.page("/admin/leaderboard", quarter=Q)
    chart = chart_data(page, "board-data")
    assert chart["labels"] == [f"{UPC}海洋工程平台（{UPC}）"]
    assert OUC not in page.split('id="lb-h"')[1]  # neither tables, chart nor trend name the other one
    assert chart_data(page, "trend-data")["series"][0]["data"] == [10]
    # the other university's platform by URL
    other = await upc.get("/admin/leaderboard/platform", university=OUC, name=f"{OUC}海洋工程平台")
    assert other.status == 403
    own = await upc.page("/admin/leaderboard/platform", university=UPC, name=f"{UPC}海洋工程平台")
    assert chart_data(own, "platform-data")["series"][0]["data"] == [10]
    # districts and admins see the whole published board
    zd = await open_desk("zd")
    assert chart_data(await zd.page("/admin/leaderboard"), "board-data")["labels"] == [OUC, UPC]


# -- 平台目录 ------------------------------------------------------------------------------------------------
async def _catalogue(repo: SqlRepository, tmp_path: Any) -> dict[str, int]:
    from storage.platform_files import import_file

    rows = [
        [OUC, "海洋腐蚀与防护检测中心", "中心", "", "", "", "", "陈老师", "0532 8000 0401", ""],
        [UPC, "油气储运安全重点实验室", "重点实验室", "", "", "", "", "李老师", "0532-80000102", ""],
    ]
    report = await import_file(repo, write_csv(tmp_path / "c.csv", rows), spec=SPEC, quarter=Q)
    assert report.check.ok
    return {p.university: p.id for p in await repo.current_platforms()}


async def test_a_university_maintains_only_its_own_platforms(
    repo: SqlRepository, open_desk: Any, tmp_path: Any
) -> None:
    ids = await _catalogue(repo, tmp_path)
    upc = await open_desk("upc")
    page = await upc.page("/admin/platforms", university=OUC)  # a filter cannot widen the scope
    assert "油气储运安全重点实验室" in page and "海洋腐蚀与防护检测中心" not in page
    # another university's platform by id: refused, unchanged
    assert (await upc.get(f"/admin/platforms/{ids[OUC]}/edit")).status == 403
    forged = await upc.post(
        f"/admin/platforms/{ids[OUC]}/edit",
        {"name": "被改名", "type": "中心", "contact_phone": "13800000000"},
    )
    assert forged.status == 403
    assert (await upc.post(f"/admin/platforms/{ids[OUC]}/retire", {"action": "retire"})).status == 403
    assert (await upc.get("/admin/platforms/999999/edit")).status == 403
    assert {p.name for p in await repo.current_platforms()} == {
        "海洋腐蚀与防护检测中心",
        "油气储运安全重点实验室",
    }
    # a bad row is refused with the importer's reasons, field by field, and nothing is added
    await upc.page("/admin/platforms/new")
    bad = await upc.post("/admin/platforms/new", {"name": "油", "type": "宇宙站", "contact_phone": "12345"})
    text = await bad.text()
    assert bad.status == 400 and "平台名称至少2个字" in text and "未知的平台类型" in text
    assert len(await repo.current_platforms()) == 2
    # a good one joins its own university's catalogue, whatever university the form claims
    good = await upc.post(
        "/admin/platforms/new",
        {
            "university": OUC,
            "name": "海洋油气装备中试平台",
            "type": "中试平台",
            "contact_phone": "0532-80000103",
        },
    )
    assert good.status == 303
    added = next(p for p in await repo.current_platforms() if p.name == "海洋油气装备中试平台")
    assert (added.university, added.type, added.quarter) == (UPC, "中试验证平台", Q)
    dup = await upc.post(
        "/admin/platforms/new",
        {"name": "海洋油气装备中试平台", "type": "中试平台", "contact_phone": "13800000000"},
    )
    assert dup.status == 400 and "已有" in await dup.text()
    # edit and retire its own
    await upc.page(f"/admin/platforms/{added.id}/edit")
    edited = await upc.post(
        f"/admin/platforms/{added.id}/edit",
        {
            "name": "海洋油气装备中试基地",
            "type": "中试平台",
            "contact_phone": "0532-80000103",
            "contact_name": "周老师",
        },
    )
    assert edited.status == 303
    assert (await repo.get_platform(added.id)).contact_name == "周老师"  # type: ignore[union-attr]
    assert (await upc.post(f"/admin/platforms/{added.id}/retire", {"action": "retire"})).status == 303
    assert added.id not in {p.id for p in await repo.current_platforms()}
    listed = await upc.page("/admin/platforms")
    assert "已停用" in listed and "恢复" in listed
    actions = [e.action for e in (await repo.audit_events())[0]]
    assert {"platform_add", "platform_edit", "platform_retire", "forbidden"} <= set(actions)


async def test_entries_naming_a_platform_link_to_the_list(
    repo: SqlRepository, open_desk: Any, tmp_path: Any
) -> None:
    await _catalogue(repo, tmp_path)
    fields = entry_fields(OUC, ZHONGDE, "青岛甲科技有限公司", "91370211MA3C12340X", "腐蚀检测")
    await repo.create_entry(1, Q, {**fields, "platform_name": "海洋腐蚀与防护检测中心"})
    ouc = await open_desk("ouc")
    page = await ouc.page("/admin/platforms")
    link = re.search(r'<a href="(/admin/entries\?[^"]+)">1</a>', page)
    assert link
    listed = await ouc.page(link.group(1).replace("&amp;", "&"))
    assert "腐蚀检测" in listed


async def test_admins_keep_every_catalogue_and_districts_none(
    repo: SqlRepository, open_desk: Any, tmp_path: Any
) -> None:
    ids = await _catalogue(repo, tmp_path)
    boss = await open_desk("boss")
    page = await boss.page("/admin/platforms")
    assert "海洋腐蚀与防护检测中心" in page and "油气储运安全重点实验室" in page
    missing = await boss.post(
        "/admin/platforms/new", {"name": "新平台甲", "type": "中心", "contact_phone": "13800000000"}
    )
    assert missing.status == 400 and "未填写所属高校" in await missing.text()
    added = await boss.post(
        "/admin/platforms/new",
        {"university": "海大", "name": "海洋生物样品库", "type": "中心", "contact_phone": "13800000001"},
    )
    assert added.status == 303
    assert any(p.university == OUC and p.name == "海洋生物样品库" for p in await repo.current_platforms())
    zd = await open_desk("zd")
    assert (await zd.get("/admin/platforms")).status == 403
    assert (await zd.get(f"/admin/platforms/{ids[OUC]}/edit")).status == 403


async def test_week_one_banner_for_universities(
    repo: SqlRepository, aiohttp_server: Any, accounts: None
) -> None:
    from handlers.services import Services

    week1 = Services(
        settings=Settings(today_override=dt.date(2026, 9, 29)), repo=repo, policies=policy_store()
    )
    server = await aiohttp_server(build_web_app(week1, limiter=RateLimiter(capacity=100_000)))
    ouc, boss = await desk(server), await desk(server)
    try:
        await ouc.login("ouc")
        await boss.login("boss")
        for path in ("/admin/", "/admin/platforms"):
            assert "请更新本校的科创平台目录" in await ouc.page(path), path
            assert "请更新本校的科创平台目录" not in await boss.page(path), path
    finally:
        await ouc.client.close()
        await boss.client.close()


async def test_no_banner_after_week_one(repo: SqlRepository, open_desk: Any) -> None:
    ouc = await open_desk("ouc")
    assert "请更新本校的科创平台目录" not in await ouc.page("/admin/")


# -- 未答问题 ------------------------------------------------------------------------------------------------
async def test_unanswered_groups_with_counts_and_download(repo: SqlRepository, open_desk: Any) -> None:
    for user, question in ((1, "鲁科贷利率是多少"), (2, "鲁科贷的利率是多少呢"), (3, "路演活动在哪里报名")):
        await repo.log_unanswered(user, question, "decline", 41.0, [])
    boss = await open_desk("boss")
    page = await boss.page("/admin/unanswered")
    assert "共 <strong>3</strong> 个问题，<strong>2</strong> 组" in page
    first = re.search(r'<td class="num">(\d+)</td><td>([^<]+)</td>', page)
    assert first and first.group(1) == "2" and "鲁科贷" in first.group(2)
    resp = await boss.get("/admin/unanswered.xlsx")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][:2] == ("次数", "最近的问法") and [r[0] for r in rows[1:]] == [2, 1]
    assert any(e.action == "export" and e.target == "unanswered" for e in (await repo.audit_events())[0])
    bad = await boss.page("/admin/unanswered", since="昨天")
    assert "日期格式应为 YYYY-MM-DD" in bad
    later = await boss.page("/admin/unanswered", since="2099-01-01")
    assert "共 <strong>0</strong> 个问题" in later


@pytest.mark.parametrize("name", ["ouc", "zd"])
async def test_only_admins_see_unanswered_questions(repo: SqlRepository, open_desk: Any, name: str) -> None:
    await repo.log_unanswered(1, "鲁科贷利率是多少", "decline", 41.0, [])
    other = await open_desk(name)
    assert (await other.get("/admin/unanswered")).status == 403
    assert (await other.get("/admin/unanswered.xlsx")).status == 403


# -- 成员与审核 ----------------------------------------------------------------------------------------------
def uscc(n: int) -> str:
    from stdnum.cn import uscc as check

    base = f"91370211MA3C1234{n}"
    return base + check.calc_check_digit(base)


async def _requests(repo: SqlRepository) -> tuple[str, str]:
    """Two enterprises with a member each, in 中德 and 董家口, and one pending request for each."""
    zhongde, other = uscc(0), uscc(1)
    for code, district, first, asker in ((zhongde, ZHONGDE, 10, 77), (other, "董家口经济区", 11, 78)):
        await repo.create_entry(
            first, Q, {**entry_fields(OUC, district, f"青岛{first}公司", code, "项目"), "credit_code": code}
        )
        assert await repo.request_membership(code, first, f"青岛{first}公司") == "active"
        await repo.upsert_subscriber(asker, asker, f"申请人{asker}", channel="web")
        assert await repo.request_membership(code, asker, f"青岛{first}公司") == "pending"
    return zhongde, other


async def test_a_district_approves_only_its_own_enterprises(repo: SqlRepository, open_desk: Any) -> None:
    zhongde, other = await _requests(repo)
    zd = await open_desk("zd")
    page = await zd.page("/admin/members")
    assert zhongde in page and other not in page
    # another district's request, by posting its code and user id: refused, still pending
    forged = await zd.post(
        "/admin/members/decide", {"credit_code": other, "user_id": "78", "decision": "approve"}
    )
    assert forged.status == 403
    assert await repo.membership(other, 78) == "pending"
    ok = await zd.post(
        "/admin/members/decide", {"credit_code": zhongde, "user_id": "77", "decision": "approve"}
    )
    assert ok.status == 303
    assert await repo.membership(zhongde, 77) == "active"
    told = await repo.recent_broadcasts(5, kinds=("membership",))
    assert told and "已获同意" in told[0].text and told[0].totals["sent"] == 1  # in the web chat at once
    again = await zd.post(
        "/admin/members/decide", {"credit_code": zhongde, "user_id": "77", "decision": "reject"}
    )
    assert again.status == 403 and await repo.membership(zhongde, 77) == "active"
    events, _total = await repo.audit_events(action="member_approve")
    assert [(e.account, e.target) for e in events] == [("zd", f"member:{zhongde}:77")]


async def test_an_admin_decides_every_request(repo: SqlRepository, open_desk: Any) -> None:
    zhongde, other = await _requests(repo)
    boss = await open_desk("boss")
    page = await boss.page("/admin/members")
    assert zhongde in page and other in page
    no = await boss.post(
        "/admin/members/decide", {"credit_code": other, "user_id": "78", "decision": "reject"}
    )
    assert no.status == 303 and await repo.membership(other, 78) == "rejected"
    assert "已拒绝" in await boss.page("/admin/members?done=rejected")


async def test_invites_are_shown_once_and_scoped(repo: SqlRepository, open_desk: Any) -> None:
    _zhongde, other = await _requests(repo)
    zd = await open_desk("zd")
    await zd.page("/admin/members")
    fresh = uscc(2)  # an enterprise that has not filed anywhere yet
    resp = await zd.post(
        "/admin/members/invite", {"credit_code": fresh, "name": "青岛新企业有限公司", "days": "14"}
    )
    body = await resp.text()
    assert resp.status == 200 and "邀请码只显示这一次" in body
    code = re.search(r'id="invite-code">([^<]+)<', body).group(1)  # type: ignore[union-attr]
    assert f"/?invite={code}" in body
    assert code not in await zd.page("/admin/members")  # never shown again
    assert await repo.redeem_invite(code, 555) == fresh and await repo.membership(fresh, 555) == "active"
    elsewhere = await zd.post("/admin/members/invite", {"credit_code": other, "name": "别的企业"})
    assert elsewhere.status == 403
    bad = await zd.post("/admin/members/invite", {"credit_code": "123", "name": ""})
    assert bad.status == 400 and "统一社会信用代码" in await bad.text()
    events, _total = await repo.audit_events(action="invite_create")
    assert len(events) == 1 and code not in events[0].detail + events[0].target


async def test_universities_have_no_members_page(repo: SqlRepository, open_desk: Any) -> None:
    zhongde, _other = await _requests(repo)
    ouc = await open_desk("ouc")
    assert (await ouc.get("/admin/members")).status == 403
    forged = await ouc.post(
        "/admin/members/decide", {"credit_code": zhongde, "user_id": "77", "decision": "approve"}
    )
    assert forged.status == 403 and await repo.membership(zhongde, 77) == "pending"
    assert (await ouc.post("/admin/members/invite", {"credit_code": uscc(2)})).status == 403
