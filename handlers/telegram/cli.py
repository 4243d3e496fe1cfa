"""`python bot.py broadcast TEXT` / `--resume`: send through the Bot API from the command line."""

from __future__ import annotations

import sys
from typing import Any

from telegram.ext import BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

from handlers.telegram.broadcast import BroadcastError, OutboxSender, resume_all, text_progress
from handlers.telegram.ratelimit import PacedRateLimiter, rate_limiter_for
from handlers.telegram.render import TELEGRAM_TEXT_LIMIT
from policies.settings import Settings

TOO_LONG = "通知内容超过 4096 字，Telegram 无法一次发送。请精简后重新运行命令。"


def cli_bot(
    settings: Settings, *, concurrency: int = 16, rate_limiter: BaseRateLimiter[Any] | None = None
) -> ExtBot[Any]:
    """A bare bot for the CLI: the settings' token and base URL, paced (in-process unless a limiter is
    given), with enough connections."""
    request = HTTPXRequest(connection_pool_size=concurrency + 4)
    return ExtBot(
        settings.token,
        base_url=settings.base_url,
        request=request,
        rate_limiter=rate_limiter or PacedRateLimiter(settings.telegram_rate),
    )


async def broadcast_cli(settings: Settings, text: str | None, resume: bool) -> int:
    """Send with a progress bar on stderr; returns the exit code."""
    from storage import StorageError, open_repository

    if not settings.token:
        print("未设置 TELEGRAM_BOT_TOKEN，无法群发。", file=sys.stderr)
        return 2
    if text is not None and len(text.strip()) > TELEGRAM_TEXT_LIMIT:
        print(TOO_LONG, file=sys.stderr)
        return 2
    try:
        repo = await open_repository(settings.database_url)
    except StorageError as exc:
        print(f"数据库不可用：{exc}", file=sys.stderr)
        return 2
    bot = cli_bot(settings, rate_limiter=rate_limiter_for(repo, settings))  # shares the workers' budget
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
