"""Secretariat commands: /broadcast (preview, confirm, progress), /reload, and /stop for everyone.

Also `broadcast_cli` behind `python bot.py broadcast TEXT` / `--resume`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from handlers.auth import admin_only
from handlers.broadcast import BroadcastError, OutboxSender, message_progress, resume_all, text_progress
from handlers.ratelimit import PacedRateLimiter
from handlers.render import TELEGRAM_TEXT_LIMIT, reply_with
from handlers.services import services
from policies.replies import Button, Reply
from policies.settings import Settings

logger = logging.getLogger(__name__)

Context = CallbackContext[Any, Any, Any, Any]

WAIT_TEXT = 1
DRAFTS = "broadcast_drafts"  # user_data key: preview token -> text
CB_CONFIRM = "a:bc:ok:"
CB_CANCEL = "a:bc:no"
PREVIEW_LIMIT = 3000  # the preview quotes the text; keep preview + header under 4096

ASK_TEXT = "请发送要群发的通知内容（纯文本，4096 字以内）。发送 /cancel 取消。"
TOO_LONG = "通知内容超过 4096 字，Telegram 无法一次发送。请精简后重新发送 /broadcast。"
PREVIEW = "【群发预览】将发送给 {count} 位订阅者：\n\n{text}"
NO_RECIPIENTS = "当前没有有效订阅者，无需群发。"
CANCELLED = "已取消群发。"
EXPIRED = "该预览已失效（可能已发送或已取消），请重新发送 /broadcast。"
STARTED = "已确认，开始群发（共 {count} 人），进度见下一条消息。"
STOPPED = "已退订，发送 /start 可重新订阅。"
CONFIRM_LABEL, CANCEL_LABEL = "确认发送", "取消"


# ----------------------------------------------------------------------------------- /broadcast
@admin_only
async def broadcast(update: Update, context: Context) -> int:
    """/broadcast [文本]: preview the inline text, or ask for it in the next message."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    if len(parts) == 2:
        await _preview(update, context, parts[1])
        return ConversationHandler.END
    await reply_with(update, context.bot, [Reply(ASK_TEXT)])
    return WAIT_TEXT


async def receive_text(update: Update, context: Context) -> int:
    """The admin's next message is the text; nothing else (the FAQ) gets to answer it."""
    message = update.effective_message
    if message is not None and message.text:
        await _preview(update, context, message.text)
    raise ApplicationHandlerStop(ConversationHandler.END)


async def cancel(update: Update, context: Context) -> int:
    """/cancel while the text is awaited."""
    await reply_with(update, context.bot, [Reply(CANCELLED)])
    raise ApplicationHandlerStop(ConversationHandler.END)


async def _preview(update: Update, context: Context, text: str) -> None:
    """Show the text, the recipient count and the confirm/cancel buttons."""
    text = text.strip()
    if len(text) > TELEGRAM_TEXT_LIMIT:
        await reply_with(update, context.bot, [Reply(TOO_LONG)])
        return
    count = len(await services(context).repo.active_subscribers())
    if count == 0:
        await reply_with(update, context.bot, [Reply(NO_RECIPIENTS)])
        return
    token = secrets.token_hex(4)
    drafts = context.user_data.setdefault(DRAFTS, {}) if context.user_data is not None else {}
    drafts[token] = text
    shown = text if len(text) <= PREVIEW_LIMIT else text[:PREVIEW_LIMIT] + "……（预览已截断，发送全文）"
    buttons = ((Button(CONFIRM_LABEL, CB_CONFIRM + token), Button(CANCEL_LABEL, CB_CANCEL)),)
    await reply_with(update, context.bot, [Reply(PREVIEW.format(count=count, text=shown), buttons)])


@admin_only
async def confirm(update: Update, context: Context) -> None:
    """确认发送: create the broadcast once and send it in the background with a progress message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    await query.answer()
    token = (query.data or "").removeprefix(CB_CONFIRM)
    drafts = context.user_data.get(DRAFTS, {}) if context.user_data is not None else {}
    text = drafts.pop(token, None)  # a second press finds nothing: one broadcast per preview
    if text is None:
        await query.edit_message_text(EXPIRED)
        return
    svc = services(context)
    created = await svc.repo.create_broadcast(text, user.id)
    assert created is not None  # no dedupe key: never refused
    count = sum(created.totals.values())
    await query.edit_message_text(STARTED.format(count=count))
    status = await context.bot.send_message(query.message.chat.id, "广播进度：准备中……")
    progress = message_progress(context.bot, status.chat.id, status.message_id)
    sender = OutboxSender(context.bot, svc.repo)
    context.application.create_task(sender.run(created.id, progress), name=f"broadcast-{created.id}")
    logger.info("Admin %s started broadcast %s to %d recipients", user.id, created.id, count)


@admin_only
async def cancel_preview(update: Update, context: Context) -> None:
    """取消 under a preview."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await query.edit_message_text(CANCELLED)


# ------------------------------------------------------------------------------ /stop, /reload
async def stop(update: Update, context: Context) -> None:
    """/stop: anyone may unsubscribe from broadcasts and reminders."""
    user = update.effective_user
    if user is None:
        return
    await services(context).repo.unsubscribe(user.id)
    await reply_with(update, context.bot, [Reply(STOPPED)])


@admin_only
async def reload(update: Update, context: Context) -> None:
    """/reload: re-read the policy YAML; bad data keeps the old data and says why."""
    _ok, message = await asyncio.to_thread(services(context).policies.reload)  # YAML parsing off the loop
    await reply_with(update, context.bot, [Reply(message)])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # Group -1: the awaited broadcast text must not also reach the form or the FAQ (group 0/1).
    conversation = ConversationHandler(
        entry_points=[CommandHandler("broadcast", broadcast)],
        states={WAIT_TEXT: [MessageHandler(filters.TEXT & ~filters.COMMAND, receive_text)]},
        fallbacks=[CommandHandler("cancel", cancel)],
        name="admin_broadcast",
        allow_reentry=True,
    )
    app.add_handler(conversation, group=-1)
    app.add_handler(CallbackQueryHandler(confirm, pattern=r"^a:bc:ok:"))
    app.add_handler(CallbackQueryHandler(cancel_preview, pattern=r"^a:bc:no$"))
    app.add_handler(CommandHandler("stop", stop))
    app.add_handler(CommandHandler("reload", reload))


# ------------------------------------------------------------------------------------- the CLI
def cli_bot(
    settings: Settings, *, concurrency: int = 16, rate_limiter: PacedRateLimiter | None = None
) -> ExtBot[Any]:
    """A bare bot for the CLI: the settings' token and base URL, paced, with enough connections."""
    request = HTTPXRequest(connection_pool_size=concurrency + 4)
    return ExtBot(
        settings.token,
        base_url=settings.base_url,
        request=request,
        rate_limiter=rate_limiter or PacedRateLimiter(),
    )


async def broadcast_cli(settings: Settings, text: str | None, resume: bool) -> int:
    """`python bot.py broadcast TEXT` / `--resume`: send with a progress bar on stderr; exit code."""
    from storage import StorageError, open_repository

    if not settings.token:
        print("未设置 TELEGRAM_BOT_TOKEN，无法群发。", file=sys.stderr)
        return 2
    if text is not None and len(text.strip()) > TELEGRAM_TEXT_LIMIT:
        print(TOO_LONG.replace("/broadcast", "命令"), file=sys.stderr)
        return 2
    try:
        repo = await open_repository(settings.database_url)
    except StorageError as exc:
        print(f"数据库不可用：{exc}", file=sys.stderr)
        return 2
    bot = cli_bot(settings)
    try:
        async with bot:
            if resume:
                done = await resume_all(bot, repo, progress=text_progress())
                print(f"已续发 {len(done)} 个未完成的广播。" if done else "没有未完成的广播。")
            if text is not None and text.strip():
                created = await repo.create_broadcast(text.strip(), 0)
                assert created is not None
                totals = await OutboxSender(bot, repo).run(created.id, text_progress())
                print(totals.describe())
    except BroadcastError as exc:
        print(f"群发中止：{exc}", file=sys.stderr)
        return 1
    finally:
        await repo.close()
    return 0
