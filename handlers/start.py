"""/start, /help and the main menu."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import texts
from handlers.render import reply_with
from handlers.services import services
from policies.replies import Reply

Context = CallbackContext[Any, Any, Any, Any]


async def start(update: Update, context: Context) -> None:
    """Subscribe the user, greet, show the menu, and offer a paused draft back."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    svc = services(context)
    await svc.repo.upsert_subscriber(user.id, chat.id, user.full_name)
    greeting = texts.GREETING.format(name=f"，{user.first_name}" if user.first_name else "")
    replies: list[Reply] = [Reply(greeting), texts.MENU]
    flow = svc.extras.get("form_flow")
    if flow is not None:
        replies.extend(await flow.offer_resume(user.id))
    await reply_with(update, context.bot, replies)


async def show_help(update: Update, context: Context) -> None:
    """List what the bot can do."""
    await reply_with(update, context.bot, [Reply(texts.HELP), texts.MENU])
    raise ApplicationHandlerStop  # the menu label is not a question for handlers/ask.py


async def ask_prompt(update: Update, context: Context) -> None:
    """The 问政策 menu button: explain that any text is a question."""
    await reply_with(update, context.bot, [Reply(texts.ASK_PROMPT)])
    raise ApplicationHandlerStop


async def my_id(update: Update, context: Context) -> None:
    """/myid: the user's Telegram id, which the secretariat puts into ADMIN_IDS."""
    user = update.effective_user
    if user is not None:
        await reply_with(update, context.bot, [Reply(f"您的 Telegram 用户 ID：{user.id}")])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", show_help))
    app.add_handler(CommandHandler("myid", my_id))
    app.add_handler(MessageHandler(filters.Text([texts.MENU_HELP]), show_help))
    app.add_handler(MessageHandler(filters.Text([texts.MENU_ASK]), ask_prompt))
