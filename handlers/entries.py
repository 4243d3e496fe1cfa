"""我的项目: list the user's entries, 更新进展 (carried into this quarter) and 查看历史.

The typed progress text of an update is routed by handlers/form.py (group -1), because
`FormFlow.is_active` covers a pending update step too.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from handlers import texts
from handlers.form import form_flow
from handlers.render import reply_with
from handlers.services import services

Context = CallbackContext[Any, Any, Any, Any]


async def mine(update: Update, context: Context) -> None:
    """/my and the 我的项目 button: entries grouped by university and quarter."""
    user = update.effective_user
    if user is None:
        return
    await reply_with(update, context.bot, await form_flow(services(context)).my_entries(user.id))
    raise ApplicationHandlerStop  # the menu label is not a question for handlers/ask.py


async def button(update: Update, context: Context) -> None:
    """e:upd:<id>, e:st:<id>:<i>, e:skip:<id>, e:hist:<id>, e:list, e:cancel."""
    query, user = update.callback_query, update.effective_user
    if query is None or query.data is None or user is None:
        return
    await query.answer()
    await reply_with(
        update, context.bot, await form_flow(services(context)).handle_button(user.id, query.data)
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("my", mine))
    app.add_handler(MessageHandler(filters.Text([texts.MENU_MINE]), mine))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^e:"))
