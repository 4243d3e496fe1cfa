"""OfflineChat and the terminal REPL, driving a small real Application through the in-process fake API."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from tests.harness import buttons, documents, last_text, offline_chat, texts
from tests.offline import BotMessage, OfflineChat, resolve_button

MENU = ReplyKeyboardMarkup([[KeyboardButton("问政策"), KeyboardButton("填报结对项目")]], resize_keyboard=True)


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.effective_user is not None
    await update.message.reply_text(f"{update.effective_user.first_name}，你好！请选择：", reply_markup=MENU)


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    rows = [
        [InlineKeyboardButton("补贴", callback_data="q:subsidy")],
        [InlineKeyboardButton("导出", callback_data="x")],
    ]
    await update.message.reply_text("想了解什么？", reply_markup=InlineKeyboardMarkup(rows))


async def _text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    if len(update.message.text) > 4096:
        await update.message.reply_text("消息太长了。")
        return
    await update.message.reply_text(f"收到：{update.message.text}")


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.message is not None
    if query.data == "x":
        await query.answer()
        await context.bot.send_document(query.message.chat.id, b"a,b\n1,2\n", filename="项目.csv")
        return
    await query.answer("已选择")
    await query.edit_message_text("每个项目最高补贴 50 万元。")


async def _not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await update.message.reply_text("我只看得懂文字哦。")


async def _boom(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    raise RuntimeError("handler bug")


async def _slow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    await asyncio.sleep(0.05)
    await update.message.reply_text("慢慢来")


async def _remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    assert context.job is not None and context.job.chat_id is not None
    await context.bot.send_message(context.job.chat_id, "提醒：本周五截止")


async def _later(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and context.job_queue is not None
    context.job_queue.run_once(_remind, 0.1, chat_id=update.message.chat_id)
    await update.message.reply_text("好的，稍后提醒你。")


async def factory(request: BaseRequest) -> Any:
    app = ApplicationBuilder().token("1:offline").request(request).get_updates_request(request).build()
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CommandHandler("boom", _boom))
    app.add_handler(CommandHandler("later", _later))
    app.add_handler(CommandHandler("slow", _slow, block=False))
    app.add_handler(MessageHandler(filters.Text(["问政策"]), _ask))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _text))
    app.add_handler(MessageHandler(filters.PHOTO | filters.Sticker.ALL | filters.Document.ALL, _not_text))
    app.add_handler(CallbackQueryHandler(_button))
    return app


async def test_send_and_press_reply_keyboard_and_inline_buttons() -> None:
    async with offline_chat(factory, name="张三") as chat:
        replies = await chat.send("/start")
        assert last_text(replies) == "张三，你好！请选择："
        assert replies[0].buttons == [["问政策", "填报结对项目"]] and not replies[0].inline
        replies = await chat.press(1)  # reply keyboard: sends the label as text
        assert last_text(replies) == "想了解什么？" and replies[0].inline
        assert buttons(chat) == ["补贴", "导出"]
        replies = await chat.press("补贴")  # inline: callback query, the handler edits the message
        assert [(m.text, m.edited, m.buttons) for m in replies] == [("每个项目最高补贴 50 万元。", True, [])]
        assert chat.toasts == ["已选择"]
        assert buttons(chat) == ["问政策", "填报结对项目"]  # the menu keyboard is still shown
        assert texts(chat)[-1] == "每个项目最高补贴 50 万元。"


async def test_document_and_non_text_messages() -> None:
    async with offline_chat(factory) as chat:
        await chat.send("问政策")
        replies = await chat.press("导出")
        assert documents(replies)[0].document.name == "项目.csv"  # type: ignore[union-attr]
        assert documents(replies)[0].document.content == b"a,b\n1,2\n"  # type: ignore[union-attr]
        for step in (chat.send_photo(), chat.send_sticker(), chat.send_document()):
            assert last_text(await step) == "我只看得懂文字哦。"


async def test_users_have_separate_chats() -> None:
    async with offline_chat(factory) as chat:
        await chat.send("甲", user_id=1)
        replies = await chat.send("乙", user_id=2)
        assert texts(replies) == ["收到：乙"]
        assert texts(chat.history(1)) == ["收到：甲"]


async def test_non_blocking_handlers_finish_before_send_returns() -> None:
    async with offline_chat(factory) as chat:
        assert texts(await chat.send("/slow")) == ["慢慢来"]


async def test_handler_errors_fail_the_step_when_asked() -> None:
    async with offline_chat(factory) as chat:
        with pytest.raises(RuntimeError, match="handler bug"):
            await chat.send("/boom")
    async with offline_chat(factory, raise_errors=False) as chat:
        assert await chat.send("/boom") == []
        assert isinstance(chat.errors[0], RuntimeError)


async def test_pressing_without_buttons_or_a_missing_button_is_an_error() -> None:
    async with offline_chat(factory) as chat:
        with pytest.raises(LookupError):
            await chat.press(1)
        await chat.send("问政策")
        with pytest.raises(LookupError, match="no button number 3"):
            await chat.press(3)


async def test_factory_must_use_the_given_request() -> None:
    chat = OfflineChat(None, lambda request: ApplicationBuilder().token("1:x").build())
    with pytest.raises(RuntimeError, match="request"):
        await chat.start()


@pytest.mark.parametrize(
    ("typed", "pressed"),
    [
        ("2", "✅ 提交"),
        ("✅ 提交", "✅ 提交"),
        ("提交", "✅ 提交"),
        ("技术研发", "☐ 技术研发"),
        ("上一步", "⬅️ 上一步"),
    ],
)
def test_typed_labels_press_buttons_without_their_symbols(typed: str, pressed: str) -> None:
    message = BotMessage(1, 1, "请核对", [["☐ 技术研发", "✅ 提交"], ["⬅️ 上一步"]], inline=True)
    assert resolve_button(message, typed) == pressed


def test_a_label_that_matches_no_button_is_not_guessed() -> None:
    message = BotMessage(1, 1, "请核对", [["✅ 提交"]], inline=True)
    with pytest.raises(LookupError):
        resolve_button(message, "提")
