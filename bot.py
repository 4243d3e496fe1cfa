"""结对共建助手 (pairing-bot): command-line entry point.

python bot.py                 run the bot (Telegram with TELEGRAM_BOT_TOKEN, else the offline chat)
python bot.py chat            offline terminal chat through the real handlers
python bot.py web             serve the web chat (open http://127.0.0.1:8080/)
python bot.py ask [QUESTION]  answer policy questions (one per stdin line without QUESTION)
python bot.py schedule        list the coming quarterly reminders
python bot.py broadcast TEXT  send TEXT to every subscriber (--resume finishes an interrupted one)
python bot.py export ...      write 清单 / packages / 台账 / 榜单 spreadsheets
python bot.py check           validate the policy and form YAML
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from policies.settings import Settings, SettingsError

logger = logging.getLogger("pairing_bot")

NO_TOKEN_HINT = (
    "未设置 TELEGRAM_BOT_TOKEN，进入离线终端对话模式（SQLite）。"
    "连接 Telegram：export TELEGRAM_BOT_TOKEN=<BotFather 提供的令牌> 后重新运行 python bot.py"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="结对共建助手 — 科创平台产学研结对共建 Telegram bot"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="run the bot: long polling (or webhook with WEBHOOK_URL); default command")

    chat = sub.add_parser("chat", help="offline terminal chat through the real handlers (no Telegram)")
    chat.add_argument("--user-id", type=int, default=10001, help="the Telegram user id to play")
    chat.add_argument("--name", default="访客", help="the user's first name")

    web = sub.add_parser("web", help="serve the web chat for browsers (WeChat included) until Ctrl-C")
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")

    ask = sub.add_parser("ask", help="answer QUESTION, or one question per stdin line")
    ask.add_argument("question", nargs="*", help="the question; read stdin when omitted")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")

    sched = sub.add_parser("schedule", help="print the coming reminders with their dates")
    sched.add_argument("--days", type=int, default=100, help="how many days ahead (default 100)")

    bc = sub.add_parser("broadcast", help="send TEXT to every active subscriber")
    bc.add_argument("text", nargs="?", help="the message text")
    bc.add_argument("--resume", action="store_true", help="finish broadcasts a crash interrupted")

    exp = sub.add_parser("export", help="export entries as xlsx or csv")
    exp.add_argument("--by", choices=["university", "enterprise", "ledger", "leaderboard"], required=True)
    exp.add_argument("--quarter", help="e.g. 2026Q4 (default: the current quarter; ledger: all)")
    exp.add_argument("--format", dest="fmt", choices=["xlsx", "csv"], default="xlsx")
    exp.add_argument("--out", type=Path, required=True, help="output directory, or a .zip path")

    sub.add_parser("check", help="validate the policy and form YAML and exit")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = Settings.from_environ()
    except SettingsError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    if command == "run" and not settings.token:
        print(NO_TOKEN_HINT, file=sys.stderr)
        command = "chat"
        args.user_id, args.name = 10001, "访客"
    # Only the Telegram service logs at INFO; terminal commands keep stdout/stderr for the user.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO if command == "run" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return asyncio.run(_dispatch(command, args, settings))
    except KeyboardInterrupt:
        return 130
    except _StartupError as exc:
        print(str(exc), file=sys.stderr)
        return 2


class _StartupError(Exception):
    """A problem the user can fix (bad YAML, unreachable database): printed as one line, no traceback."""


async def _dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "ask":
        return _ask(args, _load_policies(settings), settings)
    if command == "check":
        _load_policies(settings)
        _load_form(settings)
        print("政策数据与表单定义校验通过。")
        return 0
    if command == "schedule":
        from policies.schedule import format_upcoming

        print(format_upcoming(_load_policies(settings).base, settings.today(), args.days))
        return 0
    if command == "export":
        return await _export(args, settings)
    if command == "broadcast":
        from handlers.telegram.cli import broadcast_cli

        if not args.text and not args.resume:
            print("用法：python bot.py broadcast 文本  或  python bot.py broadcast --resume", file=sys.stderr)
            return 2
        return await broadcast_cli(settings, args.text, resume=args.resume)
    if command == "chat":
        return await _chat(args, settings)
    if command == "web":
        return await _web(args, settings)
    return await _run(settings)


def _load_policies(settings: Settings) -> Any:
    from policies.loader import PolicyError
    from policies.store import PolicyStore

    store = PolicyStore(settings.policy_dir)
    try:
        store.load()
    except PolicyError as exc:
        raise _StartupError(f"政策数据有误，拒绝启动：{exc}") from None
    return store


def _ask(args: argparse.Namespace, store: Any, settings: Settings) -> int:
    questions = [" ".join(args.question)] if args.question else (line.strip() for line in sys.stdin)
    for q in questions:
        if not q:
            continue
        answer = store.matcher.answer(q, settings.today())
        if args.json:
            record = {
                "question": q,
                "matched": answer.matched,
                "answer": answer.text,
                "source": answer.source,
                "score": round(answer.score, 1),
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(answer.text + "\n", flush=True)
    return 0


def _load_form(settings: Settings) -> Any:
    from policies.form import DEFAULT_PATH, FormSpec, FormSpecError

    path = settings.policy_dir / "form.yaml"
    try:
        return FormSpec.load(path if path.exists() else DEFAULT_PATH)
    except FormSpecError as exc:
        raise _StartupError(f"表单定义有误，拒绝启动：{exc}") from None


async def _open_services(settings: Settings) -> Any:
    from handlers.services import Services
    from storage import StorageError, open_repository

    policies = _load_policies(settings)
    _load_form(settings)
    try:
        repo = await open_repository(settings.database_url)
    except StorageError as exc:
        raise _StartupError(f"数据库不可用：{exc}") from None
    return Services(settings=settings, repo=repo, policies=policies)


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from policies.cycle import quarter_of
    from storage import StorageError, open_repository
    from storage.exports import ExportError, export

    try:
        repo = await open_repository(settings.database_url)
    except StorageError as exc:
        raise _StartupError(f"数据库不可用：{exc}") from None
    quarter = args.quarter or (None if args.by == "ledger" else quarter_of(settings.today()))
    try:
        result = await export(repo, by=args.by, quarter=quarter, fmt=args.fmt, out=args.out)
    except ExportError as exc:
        raise _StartupError(f"导出失败：{exc}") from None
    finally:
        await repo.close()
    for path in result.paths:
        print(path)
    print(f"共导出 {result.rows} 条记录，{len(result.paths)} 个文件。", file=sys.stderr)
    return 0


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.terminal import TerminalChat, run_terminal

    svc = await _open_services(settings)
    try:
        await run_terminal(TerminalChat(svc, user_id=args.user_id, name=args.name), sys.stdin, sys.stdout)
    finally:
        await svc.repo.close()
    return 0


async def _web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the web chat until SIGINT/SIGTERM."""
    from handlers.web import serve

    svc = await _open_services(settings)
    try:
        await serve(svc, args.host, args.port)
    finally:
        await svc.repo.close()
    return 0


async def _run(settings: Settings) -> int:
    """Run against Telegram until SIGINT/SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    from telegram.error import InvalidToken, NetworkError

    from handlers.telegram.app import build_application
    from handlers.telegram.broadcast import resume_unfinished
    from handlers.telegram.ratelimit import PacedRateLimiter

    svc = await _open_services(settings)
    app = build_application(svc, rate_limiter=PacedRateLimiter())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await app.initialize()
        except InvalidToken:
            raise _StartupError("Telegram 拒绝了 TELEGRAM_BOT_TOKEN：请核对 @BotFather 提供的令牌。") from None
        except NetworkError as exc:
            raise _StartupError(f"无法连接 Telegram Bot API（{settings.base_url}）：{exc}") from None
        async with app:
            await app.start()
            assert app.updater is not None
            if settings.webhook_url:
                await app.updater.start_webhook(
                    listen="0.0.0.0",
                    port=settings.webhook_port,
                    url_path=settings.webhook_path,
                    webhook_url=settings.webhook_url,
                    secret_token=settings.webhook_secret or None,
                )
            else:
                await app.updater.start_polling()
            app.create_task(resume_unfinished(app))
            logger.info("Bot running; admins configured: %d", len(settings.admin_ids))
            await stop.wait()
            await app.updater.stop()
            await app.stop()
    finally:
        await svc.repo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
