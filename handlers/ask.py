"""Free text outside a form is a policy question; topic buttons re-ask by FAQ id."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, MessageHandler, filters

from handlers import texts
from handlers.render import TELEGRAM_TEXT_LIMIT, reply_with
from handlers.services import services
from policies.matcher import Answer
from policies.replies import Button, Reply

logger = logging.getLogger(__name__)
Context = CallbackContext[Any, Any, Any, Any]


def answer_reply(answer: Answer) -> Reply:
    """The matcher's answer, with the closest topics as buttons when it declined."""
    if answer.matched:
        return Reply(answer.text)
    buttons = tuple((Button(entry.topic, f"q:{entry.id}"),) for entry in answer.alternatives[:3])
    return Reply(answer.text, buttons)


async def question(update: Update, context: Context) -> None:
    """Answer a question typed as free text."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if len(message.text) > TELEGRAM_TEXT_LIMIT:
        await message.reply_text(texts.TOO_LONG.format(limit=TELEGRAM_TEXT_LIMIT))
        return
    svc = services(context)
    answer = svc.policies.matcher.answer(message.text, svc.settings.today())
    logger.info(
        "Question from %s matched=%s score=%.1f",
        update.effective_user and update.effective_user.id,
        answer.matched,
        answer.score,
    )
    await reply_with(update, context.bot, [answer_reply(answer)])


async def topic(update: Update, context: Context) -> None:
    """A topic button (q:<faq id>) pressed after a declined question."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await query.answer()
    svc = services(context)
    answer = svc.policies.matcher.answer_entry(query.data.removeprefix("q:"), svc.settings.today())
    if answer is None:
        await reply_with(update, context.bot, [Reply("该主题已更新，请重新输入您的问题。")])
        return
    await reply_with(update, context.bot, [answer_reply(answer)])


async def not_text(update: Update, context: Context) -> None:
    """Photos, stickers, files outside a form: a polite hint."""
    await reply_with(update, context.bot, [Reply(texts.NOT_TEXT), texts.MENU])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Group 1: runs after the form's handlers (group 0) had their chance at the text.
    app.add_handler(CallbackQueryHandler(topic, pattern=r"^q:"))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, question), group=1)
    app.add_handler(
        MessageHandler(~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, not_text), group=1
    )
