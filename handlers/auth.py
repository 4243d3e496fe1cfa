"""Admin checks: only the user ids in ADMIN_IDS may broadcast, export or reload."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import CallbackContext

from handlers.services import services

logger = logging.getLogger(__name__)

NO_PERMISSION = "无权限：该功能仅限高校理事会秘书处管理员使用。"

R = TypeVar("R")
Callback = Callable[[Update, CallbackContext[Any, Any, Any, Any]], Coroutine[Any, Any, R]]


def admin_only(callback: Callback[R]) -> Callback[R | None]:
    """Run `callback` only for configured admins; everyone else gets 无权限 and an audit row."""

    @functools.wraps(callback)
    async def wrapper(update: Update, context: CallbackContext[Any, Any, Any, Any]) -> R | None:
        svc = services(context)
        user = update.effective_user
        user_id = user.id if user else None
        action = callback.__name__
        if svc.settings.is_admin(user_id):
            await svc.repo.audit(user_id or 0, action, True)
            return await callback(update, context)
        logger.warning("Refused admin action %s for user %s", action, user_id)
        await svc.repo.audit(user_id or 0, action, False)
        if update.callback_query is not None:
            await update.callback_query.answer(NO_PERMISSION, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(NO_PERMISSION)
        return None

    return wrapper
