"""Filling the 《科创平台产学研结对共建项目清单》 in Telegram: a thin adapter over `policies.flows.FormFlow`.

Routing: free text goes to the form only while the user has an active (not paused) draft or a
pending 更新进展 step. That check runs in handler group -1 and stops further handling when it
takes the message; otherwise the message falls through to the question handler (handlers/ask.py).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
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
from handlers.render import reply_with, to_markup
from handlers.services import Services, services, services_of
from policies.flows import FormFlow
from policies.form import DEFAULT_PATH, FormSpec

logger = logging.getLogger(__name__)
Context = CallbackContext[Any, Any, Any, Any]

FLOW_KEY = "form_flow"
MENU_LABELS = [texts.MENU_ASK, texts.MENU_FILL, texts.MENU_MINE, texts.MENU_HELP]
FORM_GROUP = -1  # before every other text handler


def form_flow(svc: Services) -> FormFlow:
    """The FormFlow of this bot, created on first use from form.yaml (POLICY_DIR first, else packaged)."""
    flow = svc.extras.get(FLOW_KEY)
    if flow is None:
        path = svc.settings.policy_dir / "form.yaml"
        spec = FormSpec.load(path if path.exists() else DEFAULT_PATH)

        def ask(text: str) -> Any:
            return svc.policies.matcher.answer(text, svc.settings.today())

        def facts() -> Any:  # the current policy data: a published deadline moves the filing quarter
            return svc.policies.base.dated_facts

        flow = FormFlow(svc.repo, spec, svc.settings.today, ask, facts)
        svc.extras[FLOW_KEY] = flow
    return flow


async def has_active_form(svc: Services, user_id: int) -> bool:
    """True when this user's free text belongs to the form (for handlers that run before group -1)."""
    return await form_flow(svc).is_active(user_id)


async def fill(update: Update, context: Context) -> None:
    """/fill and the 填报结对项目 button: continue the draft, offer it back, or start a new form."""
    user = update.effective_user
    if user is None:
        return
    await reply_with(update, context.bot, await form_flow(services(context)).start(user.id))
    raise ApplicationHandlerStop  # the menu label is not a question for handlers/ask.py


async def cancel(update: Update, context: Context) -> None:
    """/cancel: pause the form; the draft is kept."""
    user = update.effective_user
    if user is None:
        return
    await reply_with(update, context.bot, await form_flow(services(context)).pause(user.id))


async def button(update: Update, context: Context) -> None:
    """A form button (f:...). Multi-select toggles edit their message in place."""
    query, user = update.callback_query, update.effective_user
    if query is None or query.data is None or user is None:
        return
    await query.answer()
    replies = await form_flow(services(context)).handle_button(user.id, query.data)
    markup = to_markup(replies[0]) if len(replies) == 1 else None
    if query.data.startswith("f:t:") and isinstance(markup, InlineKeyboardMarkup):
        try:
            await query.edit_message_text(replies[0].text, reply_markup=markup)
            return
        except TelegramError:  # too old to edit, or unchanged: send it as a new message
            logger.debug("Could not edit the multi-select message; sending a new one", exc_info=True)
    await reply_with(update, context.bot, replies)


async def answer(update: Update, context: Context) -> None:
    """Text while a form is active answers the pending field; otherwise it is left to ask.py."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.text is None:
        return
    flow = form_flow(services(context))
    if not await flow.is_active(user.id):
        return
    await reply_with(update, context.bot, await flow.handle_text(user.id, message.text))
    raise ApplicationHandlerStop


async def not_text(update: Update, context: Context) -> None:
    """A photo, sticker, file or voice while a form is active: say what the form needs."""
    user = update.effective_user
    if user is None:
        return
    flow = form_flow(services(context))
    if not await flow.is_active(user.id):
        return
    await reply_with(update, context.bot, await flow.current_hint(user.id))
    raise ApplicationHandlerStop


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    try:  # create it now so /start can offer a paused draft back before anyone pressed /fill
        form_flow(services_of(app))
    except KeyError:
        logger.warning("No Services attached yet; the form flow will be created on first use")
    app.add_handler(CommandHandler("fill", fill))
    app.add_handler(CommandHandler("cancel", cancel))
    app.add_handler(MessageHandler(filters.Text([texts.MENU_FILL]), fill))
    app.add_handler(CallbackQueryHandler(button, pattern=r"^f:"))
    fresh = filters.UpdateType.MESSAGE  # an edited old message is not an answer to the current field
    app.add_handler(
        MessageHandler(fresh & filters.TEXT & ~filters.COMMAND & ~filters.Text(MENU_LABELS), answer),
        group=FORM_GROUP,
    )
    app.add_handler(
        MessageHandler(fresh & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL, not_text),
        group=FORM_GROUP,
    )
