"""The Telegram channel: a PTB Application whose only handlers turn updates into core events and the
core's replies into messages, keyboards, in-place edits and documents. No routing lives here.

Updates are processed concurrently across users and in order per user (`PerUserUpdateProcessor`),
so one user's burst never makes everyone else wait behind Telegram's 1 msg/s per-chat pacing.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import BotCommand, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from handlers.services import Services
from handlers.telegram import reminders
from handlers.telegram.broadcast import OutboxSender, is_sender, message_progress
from handlers.telegram.context import attach, services, services_of
from handlers.telegram.render import reply_with, send_replies, to_markup
from policies.conversation import Actor, Event
from policies.conversation import texts as t
from policies.replies import Reply

logger = logging.getLogger(__name__)
Context = CallbackContext[Any, Any, Any, Any]

# PTB needs a syntactically valid token even when the HTTP layer is the offline stand-in.
OFFLINE_TOKEN = "1000000:offline-terminal-chat"
CHANNEL = "telegram"
MAX_CONCURRENT_UPDATES = 256  # slots shared by all users; one user's queue waits on its own lock

COMMANDS = (
    BotCommand("start", "主菜单"),
    BotCommand("fill", "填报结对共建项目"),
    BotCommand("my", "我的项目"),
    BotCommand("cancel", "暂停填报（草稿保存）"),
    BotCommand("leaderboard", "贡献度榜单"),
    BotCommand("help", "帮助"),
    BotCommand("stop", "退订提醒"),
    BotCommand("join", "加入企业（邀请码）"),
    BotCommand("link", "关联 Telegram 与网页版"),
)

App = Application[Any, Any, Any, Any, Any, Any]


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Different users' updates run at once; one user's run one after another, in arrival order
    (asyncio.Lock wakes waiters first-in, first-out)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = sender_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def sender_key(update: object) -> int | None:
    """Whose update this is: the Telegram user (or the chat, for updates without one)."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return update.effective_user.id
        if update.effective_chat is not None:
            return update.effective_chat.id
    return None


def build_application(
    svc: Services,
    *,
    request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    schedule_reminders: bool = True,
) -> App:
    """Build the Application for `svc`. `request` replaces Telegram's HTTP layer (tests)."""
    settings = svc.settings
    builder = (
        ApplicationBuilder()
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(settings.base_url)
        .concurrent_updates(PerUserUpdateProcessor())
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    attach(app, svc)
    fresh = filters.UpdateType.MESSAGE  # an edited old message is not a new answer
    app.add_handler(MessageHandler(fresh & ~filters.StatusUpdate.ALL, on_message))
    app.add_handler(CallbackQueryHandler(on_button))
    if schedule_reminders:
        reminders.register(app)
    svc.conversation.set_launcher(_launcher(app))
    app.add_error_handler(on_error)
    return app


async def actor_of(svc: Services, update: Update) -> Actor | None:
    """The internal user behind an update (created on first sight)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    user_id = await svc.repo.resolve_user(CHANNEL, str(user.id), user.full_name)
    return Actor(
        user_id=user_id,
        channel=CHANNEL,
        external_id=str(user.id),
        name=user.first_name or "",
        is_admin=svc.settings.is_admin(user.id),
        private=chat.type == chat.PRIVATE,
        chat_id=chat.id,
        inbox=CHANNEL,
    )


async def on_message(update: Update, context: Context) -> None:
    """Any message: text (commands included) or an attachment, handed to the core."""
    svc, message = services(context), update.effective_message
    actor = await actor_of(svc, update)
    if actor is None or message is None:
        return
    event = Event.message(message.text) if message.text is not None else Event.attachment()
    await _deliver(update, context, await svc.conversation.handle(actor, event))


async def on_button(update: Update, context: Context) -> None:
    """Any inline button: its data goes to the core; `edit` replies replace the pressed message."""
    svc, query = services(context), update.callback_query
    actor = await actor_of(svc, update)
    if actor is None or query is None:
        return
    replies = await svc.conversation.handle(actor, Event.button(query.data or ""))
    alert = replies[0].text if len(replies) == 1 and replies[0].alert else None
    try:
        await query.answer(alert, show_alert=alert is not None)
    except TelegramError:  # answered too late (a long export): only the spinner is affected
        logger.debug("Could not answer the callback query", exc_info=True)
    if alert is not None:
        return
    if replies and replies[0].edit and query.message is not None:
        first = replies[0]
        markup = to_markup(first)
        try:
            await query.edit_message_text(
                first.text, reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None
            )
            replies = replies[1:]
        except TelegramError:  # too old to edit, or unchanged: send it as a new message instead
            logger.debug("Could not edit the pressed message; sending a new one", exc_info=True)
    await _deliver(update, context, replies)


async def _deliver(update: Update, context: Context, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for reply in replies:
        if reply.file is not None:
            await context.bot.send_document(
                chat.id, reply.file.data, filename=reply.file.name, caption=reply.text[:1024] or None
            )
        else:
            await send_replies(context.bot, chat.id, [reply])


def _launcher(app: App) -> Any:
    """Start a confirmed broadcast from this process, with a progress message for a Telegram admin."""

    async def launch(broadcast_id: int, admin: Actor) -> bool:
        repo = services_of(app).repo
        if not await is_sender(repo):  # the sender worker's loop picks it up within seconds
            return True
        progress = None
        if admin.channel == CHANNEL and admin.chat_id is not None:
            status = await app.bot.send_message(admin.chat_id, "广播进度：准备中……")
            progress = message_progress(app.bot, status.chat.id, status.message_id)
        sender = OutboxSender(app.bot, repo)
        # The broadcast's rows commit with the admin's turn: the sender starts after that commit.
        repo.after_commit(
            lambda: app.create_task(sender.run(broadcast_id, progress), name=f"broadcast-{broadcast_id}")
        )
        return True

    return launch


async def _post_init(app: App) -> None:
    """Publish the command list; failures here must not stop the bot."""
    try:
        await app.bot.set_my_commands(COMMANDS)
    except Exception:  # a missing command list is cosmetic
        logger.warning("Could not set the command list", exc_info=True)


async def on_error(update: object, context: Context) -> None:
    """Log every unhandled error with its traceback and tell the user nothing was lost."""
    logger.error("Unhandled error while processing an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, t.INTERNAL_ERROR)
        except Exception:
            logger.warning("Could not tell the user about the error", exc_info=True)


__all__ = ["OFFLINE_TOKEN", "App", "PerUserUpdateProcessor", "build_application", "reply_with"]
