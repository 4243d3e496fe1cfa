"""/export (admins: 清单 by university, enterprise packages, 台账, 榜单 as xlsx/csv) and /leaderboard
(everyone: the week-6 榜单 is public).

The export runs in a `block=False` callback, so other users' updates keep flowing while it works;
the spreadsheet writing itself happens in worker threads inside `storage.exports.export`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackContext, CallbackQueryHandler, CommandHandler

from handlers.auth import admin_only
from handlers.render import reply_with, to_markup
from handlers.services import services
from policies.cycle import QuarterError, parse_quarter, quarter_of
from policies.leaderboard import render_leaderboard
from policies.replies import Button, Reply, rows
from storage.exports import (
    ExportFormat,
    ExportKind,
    ExportResult,
    bundle,
    collect_leaderboard,
    export,
    quarter_label,
)

logger = logging.getLogger(__name__)

Context = CallbackContext[Any, Any, Any, Any]

CB_PREFIX = "a:exp:"  # a:exp:<kind>:<quarter|all>[:<fmt>]
ALL = "all"
KIND_LABELS = {"university": "按高校", "enterprise": "按企业", "ledger": "台账", "leaderboard": "榜单"}
FORMAT_LABELS = {"xlsx": "Excel（xlsx）", "csv": "CSV"}
TELEGRAM_UPLOAD_LIMIT = 50 * 1024 * 1024
LEADERBOARD_TTL = 300.0  # seconds a rendered 榜单 is reused (it is public; keep repeated calls cheap)

BAD_QUARTER = "季度格式应为 2026Q4，例如：/export 2026Q3"
CHOOSE_KIND = (
    "请选择导出内容（{label}）：\n"
    "按高校：每所高校一份清单；按企业：每家企业一个文件，打包为 zip；\n"
    "台账：管理台账及变更记录（未指定季度时含全部季度）；榜单：新成果和贡献度榜单。"
)
CHOOSE_FORMAT = "{kind}导出（{label}），请选择文件格式："
WORKING = "正在导出{kind}（{label}），请稍候…"
EMPTY = "{label} 暂无填报记录，未生成文件。"
DONE = "导出完成：{count} 个文件已发送。"
TOO_BIG = (
    "文件 {name} 超过 Telegram 50MB 上传限制，请在服务器上运行：python bot.py export --by {kind} --out 目录"
)
FAILED = "导出失败，请稍后重试或联系技术人员。"
CAPTIONS = {
    "university": "{label} 按高校导出：{groups}所高校，共{rows}条",
    "enterprise": "{label} 按企业导出：{groups}家企业，共{rows}条（一个企业一个文件）",
    "ledger": "{label} 管理台账：共{rows}条，变更记录{history}条",
    "leaderboard": "{label} 贡献度榜单：{groups}所高校，共{rows}条项目",
}


def _current_quarter(context: Context) -> str:
    return quarter_of(services(context).settings.today())


def _quarter_arg(context: Context) -> str | None:
    """The quarter given after the command, normalised; None when there is none. QuarterError if bad."""
    if not context.args:
        return None
    year, q = parse_quarter(context.args[0])
    return f"{year}Q{q}"


def kind_menu(quarter: str | None, current: str) -> Reply:
    """Kinds for `quarter`; without an explicit quarter the 台账 spans every quarter."""
    q = quarter or current
    ledger_q = quarter or ALL
    buttons = [
        Button(label, f"{CB_PREFIX}{kind}:{ledger_q if kind == 'ledger' else q}")
        for kind, label in KIND_LABELS.items()
    ]
    return Reply(CHOOSE_KIND.format(label=q), rows(*buttons))


@admin_only
async def export_command(update: Update, context: Context) -> None:
    """/export [季度]: offer the export kinds for the current (or given) quarter."""
    try:
        quarter = _quarter_arg(context)
    except QuarterError:
        await reply_with(update, context.bot, [Reply(BAD_QUARTER)])
        return
    await reply_with(update, context.bot, [kind_menu(quarter, _current_quarter(context))])


@admin_only
async def choose_format(update: Update, context: Context) -> None:
    """a:exp:<kind>:<quarter>: ask for xlsx or csv."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, _, kind, quarter = query.data.split(":", 3)
    label = quarter_label(None if quarter == ALL else quarter)
    buttons = [Button(text, f"{query.data}:{fmt}") for fmt, text in FORMAT_LABELS.items()]
    reply = Reply(CHOOSE_FORMAT.format(kind=KIND_LABELS.get(kind, kind), label=label), rows(*buttons))
    markup = to_markup(reply)
    assert isinstance(markup, InlineKeyboardMarkup)
    await query.answer()
    await query.edit_message_text(reply.text, reply_markup=markup)


@admin_only
async def run_export(update: Update, context: Context) -> None:
    """a:exp:<kind>:<quarter>:<fmt>: export to a temp dir, send the file (a zip when several)."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    _, _, kind, raw_quarter, fmt = query.data.split(":", 4)
    quarter = None if raw_quarter == ALL else raw_quarter
    label = quarter_label(quarter)
    await query.answer("正在导出…")
    await query.edit_message_text(WORKING.format(kind=KIND_LABELS.get(kind, kind), label=label))
    work = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pairing-export-"))
    try:
        repo = services(context).repo
        by, file_format = cast(ExportKind, kind), cast(ExportFormat, fmt)
        result = await export(repo, by=by, quarter=quarter, fmt=file_format, out=work / "out")
        if not result.paths:
            await query.edit_message_text(EMPTY.format(label=label))
            return
        sent = await _send_result(context, chat.id, kind, label, result, work)
        await query.edit_message_text(DONE.format(count=sent))
    except Exception:
        logger.exception("Export %s %s %s failed", kind, label, fmt)
        await query.edit_message_text(FAILED)
    finally:
        await asyncio.to_thread(shutil.rmtree, work, True)


async def _send_result(
    context: Context, chat_id: int, kind: str, label: str, result: ExportResult, work: Path
) -> int:
    paths = result.paths
    if len(paths) > 1:
        name = f"{label}_{KIND_LABELS.get(kind, kind)}导出.zip"
        paths = [await asyncio.to_thread(bundle, paths, work / name)]
    caption = CAPTIONS[kind].format(
        label=label, groups=result.groups, rows=result.rows, history=result.history_rows
    )
    sent = 0
    for path in paths:
        if await asyncio.to_thread(os.path.getsize, path) > TELEGRAM_UPLOAD_LIMIT:
            await context.bot.send_message(chat_id, TOO_BIG.format(name=path.name, kind=kind))
            continue
        data = await asyncio.to_thread(path.read_bytes)
        await context.bot.send_document(chat_id, data, filename=path.name, caption=caption)
        sent += 1
    return sent


async def leaderboard_text(context: Context, quarter: str) -> str:
    """The rendered 榜单 of `quarter`, reused for LEADERBOARD_TTL seconds."""
    svc = services(context)
    cache: dict[str, tuple[float, str]] = svc.extras.setdefault("leaderboard_cache", {})
    hit = cache.get(quarter)
    if hit is not None and time.monotonic() - hit[0] < LEADERBOARD_TTL:
        return hit[1]
    text = render_leaderboard(await collect_leaderboard(svc.repo, quarter), quarter)
    cache[quarter] = (time.monotonic(), text)
    return text


async def leaderboard(update: Update, context: Context) -> None:
    """/leaderboard [季度]: the public 贡献度榜单, current quarter by default."""
    try:
        quarter = _quarter_arg(context) or _current_quarter(context)
    except QuarterError:
        await reply_with(update, context.bot, [Reply("季度格式应为 2026Q4，例如：/leaderboard 2026Q3")])
        return
    await reply_with(update, context.bot, [Reply(await leaderboard_text(context, quarter))])


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler("export", export_command))
    app.add_handler(CommandHandler("leaderboard", leaderboard, block=False))
    choice = rf"^a:exp:({'|'.join(KIND_LABELS)}):(\d{{4}}Q[1-4]|{ALL})"
    app.add_handler(CallbackQueryHandler(choose_format, pattern=choice + "$"))
    app.add_handler(CallbackQueryHandler(run_export, pattern=choice + ":(xlsx|csv)$", block=False))
