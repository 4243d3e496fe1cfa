"""Wire the PTB Application: persistence, rate limiter, every handler module, the error handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import Application, ApplicationBuilder, BaseRateLimiter, CallbackContext
from telegram.request import BaseRequest

from handlers import admin, ask, entries, exports, form, reminders, start, texts
from handlers.persistence import SqlPersistence
from handlers.services import Services, attach

logger = logging.getLogger(__name__)

# PTB needs a syntactically valid token even when the HTTP layer is the offline stand-in.
OFFLINE_TOKEN = "1000000:offline-terminal-chat"

COMMANDS = (
    BotCommand("start", "主菜单"),
    BotCommand("fill", "填报结对共建项目"),
    BotCommand("my", "我的项目"),
    BotCommand("cancel", "暂停填报（草稿保存）"),
    BotCommand("leaderboard", "贡献度榜单"),
    BotCommand("help", "帮助"),
    BotCommand("stop", "退订提醒"),
)

App = Application[Any, Any, Any, Any, Any, Any]


def build_application(
    svc: Services,
    *,
    request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    schedule_reminders: bool = True,
) -> App:
    """Build the Application for `svc`. `request` replaces Telegram's HTTP layer (offline chat, tests)."""
    settings = svc.settings
    builder = (
        ApplicationBuilder()
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(settings.base_url)
        .persistence(SqlPersistence(svc.repo))
        .post_init(_post_init)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app = builder.build()
    attach(app, svc)
    for module in (start, form, entries, admin, exports, ask):
        module.register(app)
    if schedule_reminders:
        reminders.register(app)
    app.add_error_handler(on_error)
    return app


async def _post_init(app: App) -> None:
    """Publish the command list; failures here must not stop the bot."""
    try:
        await app.bot.set_my_commands(COMMANDS)
    except Exception:  # a missing command list is cosmetic
        logger.warning("Could not set the command list", exc_info=True)


async def on_error(update: object, context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Log every unhandled error with its traceback and tell the user nothing was lost."""
    logger.error("Unhandled error while processing an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.INTERNAL_ERROR)
        except Exception:
            logger.warning("Could not tell the user about the error", exc_info=True)
