"""The fake Bot API: its own model, then a real PTB Application in-process and over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakeapi import FakeTelegram, FaultKind, FaultPlan, InProcessRequest, Limits
from tests.fakeapi.server import FakeBotApiServer, ServerProcess, ServerThread

TOKEN = "123:ABC"
USER = 42


class FrozenClock:
    """A monotonic clock the test moves by hand, so rate-limit tests do not depend on machine speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ok(body: dict[str, Any]) -> Any:
    assert body["ok"] is True, body
    return body["result"]


# --------------------------------------------------------------------------------- the model alone
async def test_send_message_returns_bot_api_json_and_is_recorded() -> None:
    fake = FakeTelegram()
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    response = await fake.call(
        "sendMessage", {"chat_id": "42", "text": "你好", "reply_markup": json.dumps(markup)}
    )
    result = ok(response.body or {})
    assert result["chat"] == {"id": 42, "type": "private", "first_name": "用户42"}
    assert result["from"]["is_bot"] is True
    assert isinstance(result["date"], int) and result["date"] < 10**11  # seconds, not milliseconds
    assert result["reply_markup"] == markup
    sent = fake.last_message(42)
    assert sent is not None and (sent.text, sent.buttons, sent.inline) == ("你好", [["好"]], True)
    assert fake.deliveries[42] == 1


@pytest.mark.parametrize(
    ("method", "params", "status", "description"),
    [
        ("sendMessage", {"chat_id": 42, "text": "长" * 4097}, 400, "Bad Request: message is too long"),
        ("sendMessage", {"chat_id": 42, "text": "  "}, 400, "Bad Request: message text is empty"),
        ("sendMessage", {"chat_id": -5, "text": "x"}, 400, "Bad Request: chat not found"),
        (
            "sendMessage",
            {"chat_id": 42, "text": "<b>x", "parse_mode": "HTML"},
            400,
            "Bad Request: can't parse",
        ),
        ("noSuchMethod", {}, 404, "Not Found: method not found"),
        (
            "editMessageText",
            {"chat_id": 42, "message_id": 99, "text": "x"},
            400,
            "Bad Request: message to edit",
        ),
        ("answerCallbackQuery", {"callback_query_id": "nope"}, 400, "Bad Request: query is too old"),
    ],
)
async def test_errors_look_like_telegram(
    method: str, params: dict[str, Any], status: int, description: str
) -> None:
    fake = FakeTelegram()
    response = await fake.call(method, params)
    assert response.status == status
    assert response.body is not None and response.body["ok"] is False
    assert response.body["error_code"] == status
    assert response.body["description"].startswith(description)
    assert fake.deliveries[42] == 0


async def test_exactly_4096_characters_is_accepted_and_html_is_stripped() -> None:
    fake = FakeTelegram()
    assert (await fake.call("sendMessage", {"chat_id": 42, "text": "长" * 4096})).ok
    html = await fake.call(
        "sendMessage", {"chat_id": 42, "text": "<b>截止</b> &lt;4月18日&gt;", "parse_mode": "HTML"}
    )
    assert ok(html.body or {})["text"] == "截止 <4月18日>"


async def test_edit_with_same_content_is_not_modified() -> None:
    fake = FakeTelegram()
    await fake.call("sendMessage", {"chat_id": 42, "text": "原文"})
    same = await fake.call("editMessageText", {"chat_id": 42, "message_id": 1, "text": "原文"})
    assert same.status == 400 and "message is not modified" in (same.body or {})["description"]
    changed = await fake.call("editMessageText", {"chat_id": 42, "message_id": 1, "text": "新文"})
    assert ok(changed.body or {})["text"] == "新文"
    assert [e.kind for e in fake.events] == ["send", "edit"]


async def test_get_updates_honours_offset_and_limit() -> None:
    fake = FakeTelegram()
    ids = [fake.user_says(USER, f"第{i}条")["update_id"] for i in range(5)]
    first = ok((await fake.call("getUpdates", {"limit": 2})).body or {})
    assert [u["update_id"] for u in first] == ids[:2]
    rest = ok((await fake.call("getUpdates", {"offset": ids[2]})).body or {})
    assert [u["update_id"] for u in rest] == ids[2:]
    assert fake.pending_updates == 3  # confirmed ones are gone, the rest stay until confirmed
    assert ok((await fake.call("getUpdates", {"offset": ids[-1] + 1})).body or {}) == []


async def test_long_poll_returns_as_soon_as_a_user_writes() -> None:
    fake = FakeTelegram()
    poll = asyncio.create_task(fake.call("getUpdates", {"timeout": 30}))
    await asyncio.sleep(0.05)
    assert not poll.done()
    fake.user_says(USER, "/start now")
    updates = ok((await asyncio.wait_for(poll, 2)).body or {})
    message = updates[0]["message"]
    assert message["text"] == "/start now"
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_long_poll_times_out_empty() -> None:
    fake = FakeTelegram()
    started = asyncio.get_running_loop().time()
    assert ok((await fake.call("getUpdates", {"timeout": "1"})).body or {}) == []
    assert asyncio.get_running_loop().time() - started >= 0.9


async def test_global_limit_is_30_per_sliding_second() -> None:
    clock = FrozenClock()
    fake = FakeTelegram(limits=Limits(), clock=clock)
    for chat in range(1, 31):
        assert (await fake.call("sendMessage", {"chat_id": chat, "text": "x"})).ok
    refused = await fake.call("sendDocument", {"chat_id": 31}, {"document": _upload()})
    assert refused.status == 429
    assert refused.body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    clock.now += 1.0
    assert (await fake.call("sendMessage", {"chat_id": 31, "text": "x"})).ok
    assert sum(fake.deliveries.values()) == 31


async def test_per_chat_limit_is_a_burst_of_3_then_1_per_second() -> None:
    clock = FrozenClock()
    fake = FakeTelegram(limits=Limits(), clock=clock)
    statuses = [(await fake.call("sendMessage", {"chat_id": 7, "text": "x"})).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert (await fake.call("sendMessage", {"chat_id": 8, "text": "x"})).ok  # other chats unaffected
    clock.now += 1.0
    assert [(await fake.call("sendMessage", {"chat_id": 7, "text": "x"})).status for _ in range(2)] == [
        200,
        429,
    ]


async def test_faults_happen_before_delivery() -> None:
    fake = FakeTelegram(faults=FaultPlan(blocked={9}))
    fake.faults.fail_next(FaultKind.SERVER_ERROR)
    fake.faults.fail_next("502")
    fake.faults.fail_next("drop")
    outcomes = [await fake.call("sendMessage", {"chat_id": 5, "text": "x"}) for _ in range(4)]
    assert [(r.status, r.drop) for r in outcomes] == [(500, False), (502, False), (0, True), (200, False)]
    assert fake.deliveries[5] == 1 and len(fake.messages(5)) == 1
    blocked = await fake.call("sendMessage", {"chat_id": 9, "text": "x"})
    assert (blocked.status, (blocked.body or {})["description"]) == (
        403,
        "Forbidden: bot was blocked by the user",
    )
    assert fake.deliveries[9] == 0


async def test_random_faults_are_reproducible_with_a_seed() -> None:
    def run() -> list[FaultKind | None]:
        plan = FaultPlan(random_rate=0.5, seed=3)
        return [plan.pick("sendMessage", 1) for _ in range(20)] + [plan.pick("getMe", None) for _ in range(5)]

    first = run()
    assert first == run()
    assert 0 < first[:20].count(None) < 20
    assert first[20:] == [None] * 5  # getMe is not a sending method


async def test_user_presses_only_existing_buttons() -> None:
    fake = FakeTelegram()
    markup = {"inline_keyboard": [[{"text": "好", "callback_data": "ok"}]]}
    await fake.call("sendMessage", {"chat_id": USER, "text": "选", "reply_markup": markup})
    update = fake.user_presses(USER, 1, "ok")
    assert update["callback_query"]["message"]["reply_markup"] == markup
    with pytest.raises(ValueError, match="no button"):
        fake.user_presses(USER, 1, "other")


# ------------------------------------------------------------------------------- a tiny PTB bot
async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    keyboard = [
        [InlineKeyboardButton("好", callback_data="ok"), InlineKeyboardButton("要文件", callback_data="doc")]
    ]
    await update.message.reply_text(
        f"你说：{update.message.text}", reply_markup=InlineKeyboardMarkup(keyboard)
    )


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer("收到")
    if query.data == "doc":
        await context.bot.send_document(query.message.chat.id, "第一行\n".encode() * 100, filename="结对.csv")
    else:
        await query.edit_message_text("已确认")


def tiny_app(builder: ApplicationBuilder) -> Application[Any, Any, Any, Any, Any, Any]:
    app = builder.token(TOKEN).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    app.add_handler(CallbackQueryHandler(_on_button))
    return app


@pytest.fixture
async def inproc() -> AsyncIterator[tuple[FakeTelegram, Application[Any, Any, Any, Any, Any, Any]]]:
    fake = FakeTelegram(limits=Limits(), clock=FrozenClock())
    request = InProcessRequest(fake)
    app = tiny_app(ApplicationBuilder().request(request).get_updates_request(request))
    async with app:
        await app.start()
        yield fake, app
        await app.stop()


async def test_in_process_conversation(inproc: tuple[FakeTelegram, Any]) -> None:
    fake, app = inproc
    await app.process_update(Update.de_json(fake.user_says(USER, "你好", enqueue=False), app.bot))
    sent = fake.last_message(USER)
    assert sent is not None and sent.text == "你说：你好" and sent.buttons == [["好", "要文件"]]
    await app.process_update(
        Update.de_json(fake.user_presses(USER, sent.message_id, "ok", enqueue=False), app.bot)
    )
    assert fake.last_message(USER).text == "已确认"  # type: ignore[union-attr]
    assert fake.last_message(USER).reply_markup is None  # type: ignore[union-attr]
    assert [a.text for a in fake.callback_answers] == ["收到"]


async def test_in_process_errors_become_ptb_exceptions(inproc: tuple[FakeTelegram, Any]) -> None:
    fake, app = inproc
    for _ in range(3):
        await app.bot.send_message(USER, "x")
    with pytest.raises(RetryAfter) as exc:
        await app.bot.send_message(USER, "x")
    retry_after = exc.value.retry_after
    assert (retry_after if isinstance(retry_after, int) else retry_after.total_seconds()) == 1
    fake.faults.block(USER + 1)
    with pytest.raises(Forbidden, match="blocked"):
        await app.bot.send_message(USER + 1, "x")
    with pytest.raises(BadRequest, match="too long"):
        await app.bot.send_message(USER + 2, "长" * 5000)
    fake.faults.fail_next("drop")
    with pytest.raises(NetworkError):
        await app.bot.send_message(USER + 3, "x")
    assert fake.deliveries[USER + 3] == 0


async def test_in_process_document_upload_keeps_name_and_bytes(inproc: tuple[FakeTelegram, Any]) -> None:
    fake, app = inproc
    message = await app.bot.send_document(USER, b"\x00\x01xlsx", filename="导出.xlsx", caption="本季度")
    assert message.document.file_name == "导出.xlsx" and message.caption == "本季度"
    doc = fake.last_message(USER).document  # type: ignore[union-attr]
    assert doc is not None and doc.content == b"\x00\x01xlsx" and doc.name == "导出.xlsx"
    assert await (await app.bot.get_file(message.document.file_id)).download_as_bytearray() == b"\x00\x01xlsx"


async def test_in_process_commands_roundtrip(inproc: tuple[FakeTelegram, Any]) -> None:
    _, app = inproc
    await app.bot.set_my_commands([("start", "主菜单"), ("help", "帮助")])
    assert [c.command for c in await app.bot.get_my_commands()] == ["start", "help"]
    await app.bot.delete_my_commands()
    assert await app.bot.get_my_commands() == ()


# ------------------------------------------------------------------------------ over real HTTP
async def wait_for(predicate: Callable[[], bool]) -> None:
    """Poll `predicate`: the bot runs in the background (polling), nothing signals when it is done."""
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApiServer]:
    async with FakeBotApiServer(FakeTelegram(limits=Limits(), clock=FrozenClock())) as srv:
        yield srv


@pytest.fixture
async def polling_app(server: FakeBotApiServer) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    app = tiny_app(ApplicationBuilder().base_url(server.base_url).base_file_url(server.base_file_url))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        yield app
        await app.updater.stop()
        await app.stop()


async def test_polling_over_http(server: FakeBotApiServer, polling_app: Any) -> None:
    fake = server.fake
    assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/bot")
    fake.user_says(USER, "你好")
    await wait_for(lambda: len(fake.messages(USER)) == 1)
    sent = fake.messages(USER)[0]
    assert sent.text == "你说：你好" and sent.callback_data == [["ok", "doc"]]
    fake.user_presses(USER, sent.message_id, "doc")
    await wait_for(lambda: len(fake.messages(USER)) == 2)
    doc = fake.messages(USER)[1].document
    assert doc is not None and doc.name == "结对.csv" and doc.content == "第一行\n".encode() * 100
    fake.user_presses(USER, sent.message_id, "ok")
    await wait_for(lambda: fake.messages(USER)[0].text == "已确认")
    assert [a.text for a in fake.callback_answers] == ["收到", "收到"]
    assert fake.deliveries[USER] == 2


async def test_polling_survives_get_updates_faults(server: FakeBotApiServer) -> None:
    server.fake.faults.fail_next("drop", method="getUpdates")  # PTB waits 1 s, then 1.5 s for a second fault
    app = tiny_app(ApplicationBuilder().base_url(server.base_url))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=5)
        server.fake.user_says(USER, "还在吗")
        await wait_for(lambda: len(server.fake.messages(USER)) == 1)
        await app.updater.stop()
        await app.stop()
    assert server.fake.faults_injected == {"drop": 1}


async def test_http_limits_and_faults_reach_ptb_as_its_exceptions(
    server: FakeBotApiServer, polling_app: Any
) -> None:
    bot, fake = polling_app.bot, server.fake
    results = await asyncio.gather(
        *(bot.send_message(chat, "群发") for chat in range(1, 32)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], RetryAfter)
    assert sum(fake.deliveries.values()) == 30
    fake.set_limits(None)
    fake.faults.block(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "x")
    for kind in ("500", "502", "drop"):
        fake.faults.fail_next(kind)
        with pytest.raises(NetworkError):
            await bot.send_message(USER + 1, "x")
    assert fake.deliveries[USER] == 0 and fake.deliveries[USER + 1] == 0
    await bot.send_message(USER + 1, "终于")
    assert fake.deliveries[USER + 1] == 1


async def test_http_accepts_get_json_and_form_and_rejects_wrong_token() -> None:
    async with FakeBotApiServer(FakeTelegram(token=TOKEN)) as srv, aiohttp.ClientSession() as http:
        async with http.get(f"{srv.base_url}{TOKEN}/getMe") as resp:
            me = ok(await resp.json())
        assert me["id"] == 123 and me["is_bot"] is True
        async with http.post(
            f"{srv.base_url}{TOKEN}/sendMessage", json={"chat_id": 5, "text": "JSON"}
        ) as resp:
            assert ok(await resp.json())["text"] == "JSON"
        async with http.post(
            f"{srv.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "表单"}
        ) as resp:
            assert ok(await resp.json())["text"] == "表单"
        async with http.get(f"{srv.base_url}{TOKEN}/sendMessage?chat_id=5&text=query") as resp:
            assert ok(await resp.json())["text"] == "query"
        async with http.get(f"{srv.base_url}{TOKEN}/nope") as resp:
            assert resp.status == 404 and (await resp.json())["description"] == "Not Found: method not found"
        async with http.get(f"{srv.base_url}999:WRONG/getMe") as resp:
            assert resp.status == 401
        assert [m.text for m in srv.fake.messages(5)] == ["JSON", "表单", "query"]


async def test_server_thread_serves_a_bot_on_another_loop() -> None:
    with ServerThread(limits=Limits()) as thread:
        app = tiny_app(ApplicationBuilder().base_url(thread.base_url))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=5)
            thread.call(lambda fake: fake.user_says(USER, "线程"))
            await wait_for(lambda: thread.call(lambda fake: len(fake.messages(USER))) == 1)
            await app.updater.stop()
            await app.stop()
        assert thread.call(lambda fake: fake.messages(USER)[0].text) == "你说：线程"


async def test_standalone_process_with_control_api() -> None:
    with ServerProcess(port=0) as proc:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{proc.url}/_fake/user_says", json={"user_id": 3, "text": "外部"}) as resp:
                assert (await resp.json())["message"]["text"] == "外部"
            async with http.post(f"{proc.base_url}{TOKEN}/getUpdates", data={"timeout": "0"}) as resp:
                assert [u["message"]["text"] for u in ok(await resp.json())] == ["外部"]
            async with http.post(f"{proc.url}/_fake/faults", json={"block": [3]}) as resp:
                assert resp.status == 200
            async with http.post(
                f"{proc.base_url}{TOKEN}/sendMessage", data={"chat_id": "3", "text": "x"}
            ) as resp:
                assert resp.status == 403
            async with http.get(f"{proc.url}/_fake/stats") as resp:
                assert (await resp.json())["responses"]["sendMessage:403"] == 1


def _upload() -> Any:
    from tests.fakeapi import UploadedFile

    return UploadedFile("a.txt", b"a", "text/plain")
