"""The web chat over HTTP (aiohttp's test client): what a browser session sees and what it cannot do."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import time
from typing import Any
from urllib.parse import quote

from aiohttp import CookieJar
from aiohttp.test_utils import TestServer

from handlers.services import Services
from handlers.web import build_web_app
from policies.conversation import Actor, Event
from policies.conversation import texts as t
from policies.replies import OutgoingFile, Reply
from storage import SqlRepository
from tests.web.conftest import NewUser, open_user
from tests.web.support import TYPED, WebUser, services


async def test_a_new_session_is_greeted_with_the_menu(new_user: NewUser) -> None:
    user = await new_user()
    assert "我是结对共建助手" in user.all_text()
    menu = [b["label"] for m in user.shown.values() if m["keyboard"] for row in m["buttons"] for b in row]
    assert menu == ["问政策", "填报结对项目", "我的项目", "帮助", "找平台"]


async def test_json_api_files_a_complete_entry(new_user: NewUser, repo: SqlRepository) -> None:
    user = await new_user()
    replies = await user.press("填报结对项目")
    assert replies[0] == {**replies[0], "from": "user", "text": "填报结对项目"}
    assert "第1/16项 · 驻区高校/科研机构" in user.last_text()
    await user.fill_to_summary()
    assert "12. 共建形式：技术研发、中试验证" in user.last_text()

    await user.press("修改 科创平台名称")  # the summary's 修改 buttons work as in Telegram
    replies = await user.send("海洋腐蚀与防护中心")
    assert "2. 科创平台名称：海洋腐蚀与防护中心" in user.last_text()
    replies = await user.press("✅ 提交")
    assert replies[0]["from"] == "user" and replies[0]["text"] == "✅ 提交"
    assert "提交成功" in user.last_text()

    (entry,) = [e async for e in repo.iter_entries()]
    assert entry.quarter == "2026Q4" and entry.platform_name == "海洋腐蚀与防护中心"
    assert entry.university == "中国石油大学（华东）" and entry.status == "在建"
    assert entry.credit_code == TYPED["统一社会信用代码"]
    filled = {k for k, v in entry.fields.items() if v not in (None, "", [])}
    assert len(filled & set(FORM_FIELDS)) == 16, sorted(set(FORM_FIELDS) - filled)
    ((channel, _sid),) = await repo.identities_of(entry.user_id)
    assert channel == "web"  # filed by the web session's internal user


FORM_FIELDS = (
    "university",
    "platform_name",
    "platform_type",
    "platform_contact",
    "platform_phone",
    "enterprise_name",
    "credit_code",
    "enterprise_contact",
    "enterprise_phone",
    "district",
    "project_name",
    "cooperation_forms",
    "project_content",
    "signed_on",
    "status",
    "progress",
)


async def test_multi_select_toggle_replaces_the_message_in_place(new_user: NewUser) -> None:
    user = await new_user()
    await user.press("填报结对项目")
    while "· 共建形式" not in user.last_text():
        await user.fill_step()
    prompt_id = max(user.shown)
    replies = await user.press("☐ 技术研发")
    assert len(replies) == 1 and replies[0]["replaces"] == prompt_id  # no extra turn, same message
    labels = [b["label"] for row in user.shown[prompt_id]["buttons"] for b in row]
    assert "☑ 技术研发" in labels and "☐ 技术研发" not in labels

    user_again = WebUser(user.client)
    await user_again.open()  # a reload folds the edit into the message too
    labels = [b["label"] for row in user_again.shown[prompt_id]["buttons"] for b in row]
    assert "☑ 技术研发" in labels
    page = await (await user.client.get("/")).text()
    assert "☑ 技术研发" in page and "☐ 技术研发" not in page


async def test_reload_restores_history_and_the_form_continues(new_user: NewUser) -> None:
    user = await new_user()
    await user.send("本季度清单什么时候截止？")
    await user.press("填报结对项目")
    await user.press("中国石油大学（华东）")
    before = dict(user.shown)
    texts = [m["text"] for m in before.values()]

    restored = await user.open()  # GET after=0, as after a reload
    assert [m["text"] for m in user.shown.values()] == texts
    assert [m["id"] for m in restored] == sorted(m["id"] for m in restored)
    assert any(m["from"] == "user" and m["text"] == "中国石油大学（华东）" for m in restored)
    assert "第2/16项 · 科创平台名称" in user.last_text()
    await user.send(TYPED["科创平台名称"])
    assert "第3/16项 · 平台类型" in user.last_text()

    page = await (await user.client.get("/")).text()  # the server-rendered page shows it all as well
    assert "本季度清单什么时候截止？" in page and "来源：" in page and "第3/16项 · 平台类型" in page

    later = await user.client.get("/api/messages", params={"after": str(max(before))})
    newer = (await later.json())["messages"]
    assert [m["text"] for m in newer][:1] == [TYPED["科创平台名称"]]


async def test_post_without_the_csrf_token_is_refused(
    new_user: NewUser, server: TestServer, aiohttp_client: Any
) -> None:
    user = await new_user()
    count = len(user.shown)
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        resp = await user.client.post("/api/messages", json={"text": "/fill"}, headers=headers)
        assert resp.status == 403
        assert "安全校验失败" in (await resp.json())["error"]
    resp = await user.client.post("/chat", data={"text": "/fill"}, allow_redirects=False)
    assert resp.status == 403 and "安全校验失败" in await resp.text()

    stranger = await aiohttp_client(server)  # no session at all, token guessed
    resp = await stranger.post("/api/messages", json={"text": "hi"}, headers={"X-CSRF-Token": user.csrf})
    assert resp.status == 403
    await user.open()
    assert len(user.shown) == count  # nothing was handled


async def test_plain_html_forms_work_without_javascript(new_user: NewUser) -> None:
    user = await new_user()
    resp = await user.client.post(
        "/chat", data={"csrf": user.csrf, "text": "填报结对项目"}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"] == "/#latest"
    page = await (await user.client.get("/")).text()
    assert "第1/16项 · 驻区高校/科研机构" in page
    await user.open()
    mid, button = user.find_button("山东科技大学")
    resp = await user.client.post(
        "/chat", data={"csrf": user.csrf, "button": button["data"], "message_id": str(mid)}
    )
    assert resp.status == 200  # followed the redirect to the page
    page = await resp.text()
    assert "第2/16项 · 科创平台名称" in page
    assert f'name="message_id" value="{mid}"' in page


async def test_another_session_cannot_read_this_sessions_messages_or_press_its_buttons(
    new_user: NewUser,
) -> None:
    alice, bob = await new_user(), await new_user()
    await alice.send("青岛海科智能装备有限公司的秘密问题")
    await alice.press("填报结对项目")
    alice_mid, button = alice.find_button("山东科技大学")

    await bob.open()
    assert "秘密问题" not in bob.all_text()
    page = await (await bob.client.get("/")).text()
    assert "秘密问题" not in page
    resp = await bob.client.get("/api/messages", params={"after": "0"})
    assert all(m["id"] not in alice.shown for m in (await resp.json())["messages"])

    replies = await bob._turn({"button": button["data"], "message_id": alice_mid})
    assert [m["text"] for m in replies] == [t.STALE_BUTTON]
    await alice.open()
    assert "第1/16项" in alice.last_text()  # Alice's form did not move


async def test_files_download_only_to_the_session_they_were_made_for(
    new_user: NewUser, svc: Services, server: TestServer, aiohttp_client: Any
) -> None:
    handle = svc.conversation.handle
    export = OutgoingFile("2026Q4_按高校_清单.xlsx", b"PK\x03\x04 xlsx bytes", "application/vnd.ms-excel")

    async def with_file(actor: Actor, event: Event) -> list[Reply]:
        if event.kind == "text" and event.text == "导出":
            return [Reply("导出完成：1 个文件，见下方。"), Reply("2026Q4 按高校导出", file=export)]
        return await handle(actor, event)

    svc.conversation.handle = with_file  # type: ignore[method-assign]
    alice, bob = await new_user(), await new_user()
    await alice.send("导出")
    file = alice.last()["file"]
    assert file["name"] == export.name and file["size"] == export.size
    resp = await alice.client.get(file["url"])
    assert resp.status == 200 and await resp.read() == export.data
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''2026Q4_%E6%8C%89%E9%AB%98%E6%A0%A1_%E6%B8%85%E5%8D%95.xlsx" in disposition

    resp = await bob.client.get(file["url"])
    assert resp.status == 404 and "文件不存在" in await resp.text()
    stranger = await aiohttp_client(server)
    assert (await stranger.get(file["url"])).status == 404

    page = await (await alice.client.get("/")).text()
    assert f'href="{file["url"]}"' in page and "在浏览器打开" not in page
    ua = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN"
    page = await (await alice.client.get("/", headers={"User-Agent": ua})).text()
    assert "在浏览器打开" in page


async def test_a_ten_megabyte_body_is_refused_with_413(new_user: NewUser) -> None:
    user = await new_user()
    big = "测" * (10 * 1024 * 1024 // 3)
    as_json = io.BytesIO(json.dumps({"text": big}, ensure_ascii=False).encode())
    headers = {"X-CSRF-Token": user.csrf, "Content-Type": "application/json"}
    resp = await user.client.post("/api/messages", data=as_json, headers=headers)
    assert resp.status == 413 and "内容过大" in (await resp.json())["error"]
    as_form = io.BytesIO(f"csrf={user.csrf}&text={quote(big)}".encode())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await user.client.post("/chat", data=as_form, headers=headers)
    assert resp.status == 413 and "内容过大" in await resp.text()
    await user.open()
    assert "测测测" not in user.all_text()


async def test_text_over_the_core_limit_is_refused_as_in_telegram(new_user: NewUser) -> None:
    user = await new_user()
    replies = await user.send("长" * 5000)
    assert "消息过长（超过 4096 字）" in replies[-1]["text"]
    assert len(replies[0]["text"]) < 300  # the stored turn is shortened, not 5000 characters


async def test_user_text_is_never_rendered_as_html(new_user: NewUser) -> None:
    user = await new_user()
    await user.send('<script>alert("x")</script><img src=x onerror=alert(1)>')
    page = await (await user.client.get("/")).text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


async def test_security_headers_and_cookie_flags(
    new_user: NewUser, server: TestServer, aiohttp_client: Any
) -> None:
    user = await new_user()
    fresh = await aiohttp_client(server)
    page = await fresh.get("/")
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    responses = [
        page,
        await user.client.get("/api/messages", params={"after": "0"}),
        await user.client.get("/static/chat.js"),
        await user.client.post("/api/messages", json={"text": "x"}),  # 403
        await user.client.get("/files/nope"),  # 404
    ]
    for resp in responses:
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    body = await page.text()
    assert "<script>" not in body and "style=" not in body  # no inline script or style for the CSP


async def test_one_sessions_turns_are_stored_in_order(new_user: NewUser) -> None:
    user = await new_user()
    questions = ["本季度清单什么时候截止？", "科技成果转化贷款贴息比例是多少？", "创新联合体需要什么条件？"]
    await asyncio.gather(*(user.send(q) for q in questions))
    await user.open()
    turns = [m for m in user.shown.values() if m["id"] > 2]
    assert [m["from"] for m in turns] == ["user", "bot"] * 3  # each question directly followed by its answer


async def test_flooding_session_is_rate_limited_and_others_answered_within_2s(
    svc: Services, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    handle = svc.conversation.handle

    async def slow_for_alice(actor: Actor, event: Event) -> list[Reply]:
        if event.text.endswith("条消息"):
            await asyncio.sleep(0.15)  # 20 accepted turns: 3 s of work queued behind Alice's lock
        return await handle(actor, event)

    svc.conversation.handle = slow_for_alice  # type: ignore[method-assign]
    server = await aiohttp_server(build_web_app(svc))  # the default limit: 20 messages / 10 s
    alice, bob = await open_user(aiohttp_client, server), await open_user(aiohttp_client, server)
    flood = [asyncio.ensure_future(alice.post({"text": f"第{i}条消息"})) for i in range(30)]
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    replies = await bob.send("本季度清单什么时候截止？")
    elapsed = time.perf_counter() - start
    assert "来源：" in replies[-1]["text"]
    assert elapsed < 2.0, f"Bob waited {elapsed:.2f} s behind Alice's flood"
    statuses = [r.status for r in await asyncio.gather(*flood)]
    assert statuses.count(200) == 20 and statuses.count(429) == 10
    refused = next(r for r in flood if r.result().status == 429).result()
    assert "发送太频繁" in (await refused.json())["error"] and int(refused.headers["Retry-After"]) >= 1


async def test_the_stored_cookie_secret_is_shared_by_every_worker(
    svc: Services, repo: SqlRepository, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    first = await aiohttp_server(build_web_app(svc))
    second = await aiohttp_server(build_web_app(services(repo)))  # another worker, same database
    jar = CookieJar(unsafe=True)
    user = WebUser(await aiohttp_client(first, cookie_jar=jar))
    await user.open()
    await user.send("本季度清单什么时候截止？")
    again = WebUser(await aiohttp_client(second, cookie_jar=jar))
    await again.open()
    assert "本季度清单什么时候截止？" in again.all_text()
    stored = await repo.kv_get_all("web")
    assert set(stored) == {"secret"} and len(stored["secret"]) >= 40


async def test_web_secret_key_from_the_environment_is_used_and_nothing_stored(
    svc: Services, repo: SqlRepository, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    configured = dataclasses.replace(svc.settings, web_secret_key="configured-secret-" + "x" * 40)
    server = await aiohttp_server(build_web_app(dataclasses.replace(svc, settings=configured)))
    user = WebUser(await aiohttp_client(server))
    await user.open()
    assert "我是结对共建助手" in user.all_text()
    assert await repo.kv_get_all("web") == {}


async def test_ids_too_large_for_the_database_are_a_clean_400(
    server: TestServer, aiohttp_client: Any
) -> None:
    user = await open_user(aiohttp_client, server)
    huge = str(10**30)
    resp = await user.client.get("/api/messages", params={"after": huge})
    assert resp.status == 400 and "error" in await resp.json()
    resp = await user.post({"button": "f:fill", "message_id": 10**30})
    assert resp.status == 400
    assert "我是结对共建助手" in user.all_text()  # the session is intact


async def test_control_characters_and_lone_surrogates_in_a_turn_lose_nothing(
    server: TestServer, aiohttp_client: Any
) -> None:
    user = await open_user(aiohttp_client, server)
    for text in ("\x00补贴\x00多少？", "\u200b\u202e帮助", "\ud800"):
        resp = await user.client.post(
            "/api/messages",
            data=json.dumps({"text": text}),  # lone surrogates as JSON escapes, as a broken client sends them
            headers={"X-CSRF-Token": user.csrf, "Content-Type": "application/json"},
        )
        assert resp.status in (200, 400), await resp.text()
    history = await user.open()
    assert history and all("\x00" not in m["text"] for m in history)
    assert any(m["text"].startswith("使用说明") for m in await user.send("帮助"))
