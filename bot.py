"""结对共建助手 (pairing-bot): command-line entry point.

python bot.py                 run the bot (Telegram with TELEGRAM_BOT_TOKEN, else the offline chat)
python bot.py run             run the bot on Telegram; refuses without a token
python bot.py chat            offline terminal chat through the real handlers (trial database)
python bot.py web             serve the web chat (open http://127.0.0.1:8080/)
python bot.py ask [QUESTION]  answer policy questions (one per stdin line without QUESTION)
python bot.py schedule        list the coming quarterly reminders
python bot.py broadcast TEXT  send TEXT to every subscriber (--resume finishes an interrupted one)
python bot.py export ...      write 清单 / packages / 台账 / 榜单 spreadsheets
python bot.py check           validate the policy and form YAML
python bot.py platforms ...   import the universities' platform catalogue / export its template

Settings come from the environment; a `.env` file in the current directory fills in the variables
the environment does not set (real environment variables win).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import errno
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from policies.settings import PROJECT_ROOT, TIMEZONE, Settings, SettingsError

if TYPE_CHECKING:
    import asyncio

logger = logging.getLogger("pairing_bot")

NO_TOKEN_HINT = (
    "未设置 TELEGRAM_BOT_TOKEN：只启动网页对话（终端对话：python bot.py chat）。"
    "连接 Telegram：在环境变量或 .env 中设置 TELEGRAM_BOT_TOKEN 后重新运行 python bot.py"
)
RUN_NEEDS_TOKEN = (
    "未设置 TELEGRAM_BOT_TOKEN，无法连接 Telegram：请在环境变量或 .env 中设置 @BotFather 提供的令牌"
    "（离线试用请运行 python bot.py chat）。"
)
TRIAL_DB_LINE = "{reset}试用数据库：{where}（与正式数据分开）；清空试用数据：python bot.py chat --reset"
PRODUCTION_DB_LINE = "注意：本次对话使用正式数据库 {where}，填报和订阅都会写入正式数据。"

# Our own loggers follow -v; everything else stays at WARNING (telegram: INFO) whatever -v says,
# because httpx logs request URLs (which contain the token), PTB's webhook handler logs request
# bodies and aiosqlite logs statements with their parameters (what users typed) at DEBUG.
OWN_LOGGERS = ("pairing_bot", "handlers", "policies", "storage")
THIRD_PARTY_LEVELS = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "tornado.access": logging.WARNING,
    "apscheduler": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.WARNING,
    "asyncpg": logging.WARNING,
    "alembic": logging.WARNING,
}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MIN_REDACTED_PASSWORD = 4  # shorter strings would blank out ordinary words in every log line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py", description="结对共建助手 — 科创平台产学研结对共建 Telegram bot"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "run", help="run the bot on Telegram: long polling (or webhook with WEBHOOK_URL); needs a token"
    )

    chat = sub.add_parser("chat", help="offline terminal chat through the real handlers (no Telegram)")
    chat.add_argument("--user-id", type=int, default=10001, help="the Telegram user id to play")
    chat.add_argument("--name", default="访客", help="the user's first name")
    chat.add_argument("--reset", action="store_true", help="delete the trial data first, then chat")
    chat.add_argument(
        "--use-production-db",
        action="store_true",
        help="chat on DATABASE_URL (the real data) instead of the trial database",
    )

    web = sub.add_parser("web", help="serve the web chat for browsers (WeChat included) until Ctrl-C")
    web.add_argument("--host", help="address to listen on (default WEB_HOST or 127.0.0.1)")
    web.add_argument("--port", type=int, help="port to listen on (default WEB_PORT or 8080)")

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
    exp.add_argument(
        "--out",
        type=Path,
        required=True,
        help="FILE.xlsx/FILE.csv (one file), FILE.zip (packed), or an existing directory",
    )
    exp.add_argument("--force", action="store_true", help="replace existing files")

    sub.add_parser("check", help="validate the policy and form YAML and exit")

    un = sub.add_parser("unanswered", help="declined and suggested questions, grouped by similarity")
    un.add_argument("--since", type=_date_arg, help="only questions asked on or after YYYY-MM-DD")
    un.add_argument("--format", dest="fmt", choices=["text", "xlsx"], default="text")
    un.add_argument("--out", type=Path, help="FILE.xlsx (required with --format xlsx)")

    inv = sub.add_parser("invite", help="an invite code that makes its holder a member of an enterprise")
    inv.add_argument("--uscc", required=True, help="the enterprise's unified social credit code")
    inv.add_argument("--name", default="", help="the enterprise's name (shown to whoever joins)")
    inv.add_argument("--days", type=int, default=30, help="valid for this many days (default 30)")
    inv.add_argument("--uses", type=int, default=20, help="how many people may join with it (default 20)")
    plat = sub.add_parser("platforms", help="the universities' platform catalogue (找平台)")
    psub = plat.add_subparsers(dest="platforms_command", metavar="ACTION", required=True)
    imp = psub.add_parser("import", help="import a university list (xlsx or csv), all rows or none")
    imp.add_argument("file", nargs="?", type=Path, help="FILE.xlsx or FILE.csv with Chinese headers")
    imp.add_argument("--university", help="the whole file is this university's list")
    imp.add_argument("--quarter", help="e.g. 2026Q4 (default: the current quarter)")
    imp.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    imp.add_argument("--sample", action="store_true", help="load the shipped sample catalogue (示例数据)")
    pexp = psub.add_parser("export", help="write the import template with the current catalogue")
    pexp.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.csv")
    pexp.add_argument("--force", action="store_true", help="replace an existing file")
    users = sub.add_parser("users", help="dashboard accounts: add, list, disable, enable")
    usub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    uadd = usub.add_parser("add", help="create an account (password from stdin)")
    uadd.add_argument("name")
    uadd.add_argument("--role", required=True, choices=["admin", "university", "district"])
    uadd.add_argument("--scope", default="", help="university or district name (not for admin)")
    uadd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    usub.add_parser("list", help="list the accounts")
    for action, text in (("disable", "disable an account and end its sessions"), ("enable", "enable again")):
        usub.add_parser(action, help=text).add_argument("name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _load_dotenv()
    try:
        settings = Settings.from_environ()
    except SettingsError as exc:
        print(f"配置错误：{exc}", file=sys.stderr)
        return 2
    command = args.command or "run"
    if command == "run" and not settings.token:
        if args.command == "run":  # asked for Telegram explicitly (systemd): refuse, never fall back
            print(RUN_NEEDS_TOKEN, file=sys.stderr)
            return 2
        print(NO_TOKEN_HINT, file=sys.stderr)
        command, args = "web", _default_web_args(args)
    redactor = _configure_logging(command, args.verbose, settings)
    try:
        if command == "ask":  # no event loop: `ask` must start in < 0.5 s (asyncio costs ~0.07 s)
            return _ask(args, _load_policies(settings), settings)
        import asyncio

        return asyncio.run(_dispatch(command, args, settings))
    except KeyboardInterrupt:
        return 130
    except _StartupError as exc:
        print(redactor.redact(str(exc)), file=sys.stderr)
        return 2
    except BrokenPipeError:
        return _closed_pipe()


class _StartupError(Exception):
    """A problem the user can fix (bad YAML, unreachable database): printed as one line, no traceback."""


def _load_dotenv() -> None:
    """Fill unset variables from ./.env (the service's working directory); the environment wins."""
    from dotenv import load_dotenv

    load_dotenv(Path.cwd() / ".env", override=False)


def _default_web_args(args: argparse.Namespace) -> argparse.Namespace:
    """`python bot.py` without a token: the web chat on WEB_HOST:WEB_PORT."""
    web = build_parser().parse_args(["web"])
    web.verbose = args.verbose
    return web


def _closed_pipe() -> int:
    """stdout's reader went away (`bot.py ask ... | head -1`): stop quietly, like other CLI tools."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
    return 0


# --- logging -------------------------------------------------------------------------------------


class _Redactor(logging.Filter):
    """Replaces the bot token, the webhook secret and database passwords in every record with ***:
    a last line of defence should a library or an exception message ever carry one of them."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it, we only must not leak
            message = str(record.msg)
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _secrets(settings: Settings) -> list[str]:
    """The strings to redact. Database URLs are split with urllib, not SQLAlchemy: importing
    SQLAlchemy costs ~0.6 s, and `bot.py ask` must start in < 0.5 s."""
    found = [settings.token, quote(settings.token, safe=""), settings.webhook_secret]
    for url in (settings.database_url, settings.trial_database_url):
        with contextlib.suppress(ValueError):
            raw = urlsplit(url).password
            password = unquote(raw) if raw else ""
            if password and len(password) >= MIN_REDACTED_PASSWORD:
                found += [password, quote(password, safe=""), str(raw)]
    return found


def _configure_logging(command: str, verbose: bool, settings: Settings) -> _Redactor:
    """The bot logs to stderr (journald); the terminal chat to a file, so logs never interrupt it;
    other commands only warnings. Every handler redacts secrets."""
    service = command in ("run", "web")
    own_level = logging.DEBUG if verbose else logging.INFO if service else logging.WARNING
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    if command == "chat":
        handler = _chat_log_handler(settings)
    redactor = _Redactor(_secrets(settings))
    handler.addFilter(redactor)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(own_level)
    for name, level in THIRD_PARTY_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    return redactor


def _chat_log_handler(settings: Settings) -> logging.Handler:
    """data/chat.log (beside the trial database); stderr at ERROR only if that file cannot be opened."""
    trial_db = _sqlite_file(settings.trial_database_url)
    path = (trial_db.parent if trial_db else PROJECT_ROOT / "data") / "chat.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.ERROR)
        return handler


# --- commands ------------------------------------------------------------------------------------


async def _dispatch(command: str, args: argparse.Namespace, settings: Settings) -> int:
    if command == "check":
        _load_policies(settings, problem="政策数据校验未通过")
        _load_form(settings, problem="表单定义校验未通过")
        print("政策数据与表单定义校验通过。")
        return 0
    if command == "schedule":
        from policies.schedule import format_upcoming

        print(format_upcoming(_load_policies(settings).base, settings.today(), args.days))
        return 0
    if command == "export":
        return await _export(args, settings)
    if command == "unanswered":
        return await _unanswered(args, settings)
    if command == "platforms":
        return await _platforms(args, settings)
    if command == "users":
        return await _users(args, settings)
    if command == "invite":
        return await _invite(args, settings)
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


def _load_policies(settings: Settings, problem: str = "政策数据有误") -> Any:
    from policies.loader import PolicyError
    from policies.store import PolicyStore

    store = PolicyStore(settings.policy_dir, settings.policy_cache_dir)
    try:
        store.load()
    except PolicyError as exc:
        raise _StartupError(f"{problem}：{exc}") from None
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
                "band": answer.band,
                "confidence": None if answer.confidence is None else round(answer.confidence, 3),
                "facts": dict(answer.facts),
                "alternatives": [
                    {"id": entry.id, "topic": entry.topic, "score": round(score, 1)}
                    for entry, score in store.matcher.alternatives_of(answer)
                ],
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            print(answer.text + "\n", flush=True)
    return 0


def _load_form(settings: Settings, problem: str = "表单定义有误") -> Any:
    from policies.form import DEFAULT_PATH, FormSpec, FormSpecError

    path = settings.policy_dir / "form.yaml"
    try:
        return FormSpec.load(path if path.exists() else DEFAULT_PATH)
    except FormSpecError as exc:
        raise _StartupError(f"{problem}：{exc}") from None


async def _open_repository(
    url: str, pool_size: int | None = None, retention_days: int | None = None
) -> Any:
    from storage import StorageError, open_repository

    try:
        repo = await open_repository(url, pool_size=pool_size)
    except StorageError as exc:
        raise _StartupError(f"数据库不可用：{exc}") from None
    if retention_days is not None:
        repo.unanswered_retention = dt.timedelta(days=retention_days)
    return repo


async def _open_services(settings: Settings) -> Any:
    from handlers.services import Services

    policies = _load_policies(settings, problem="政策数据有误，无法启动")
    _load_form(settings, problem="表单定义有误，无法启动")
    repo = await _open_repository(
        settings.database_url, settings.db_pool_size, settings.unanswered_retention_days
    )
    return Services(settings=settings, repo=repo, policies=policies)


async def _export(args: argparse.Namespace, settings: Settings) -> int:
    from policies.cycle import quarter_of
    from storage.exports import ExportError, export_to, plan_output

    try:
        plan = plan_output(args.out, by=args.by, fmt=args.fmt, force=args.force)
    except ExportError as exc:
        raise _StartupError(f"导出失败：{exc}") from None
    repo = await _open_repository(settings.database_url, retention_days=settings.unanswered_retention_days)
    quarter = args.quarter or (None if args.by == "ledger" else quarter_of(settings.today()))
    try:
        result = await export_to(repo, plan, by=args.by, quarter=quarter, fmt=args.fmt)
    except ExportError as exc:
        raise _StartupError(f"导出失败：{exc}") from None
    finally:
        await repo.close()
    if not result.paths:
        print("没有符合条件的填报记录，未生成文件。", file=sys.stderr)
        return 0
    for path in result.paths:
        print(path)
    print(f"共导出 {result.rows} 条记录，{len(result.paths)} 个文件。", file=sys.stderr)
    return 0


def _date_arg(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"不是 YYYY-MM-DD 格式的日期：{text}") from None


async def _invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a new invite code for one enterprise with its Telegram and web links (districts, week 2)."""
    from policies.validators import ValidationError, validate_uscc

    try:
        code = validate_uscc(args.uscc)
    except ValidationError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    if not 1 <= args.days <= 365 or not 1 <= args.uses <= 10_000:
        print("有效天数须在 1–365 之间，可用次数须在 1–10000 之间。", file=sys.stderr)
        return 2
    repo = await _open_repository(settings.database_url)
    try:
        invite = await repo.create_invite(code, args.name.strip(), "cli", days=args.days, max_uses=args.uses)
    finally:
        await repo.close()
    print(f"邀请码：{invite}")
    name = args.name.strip() or "（未填名称）"
    print(f"企业：{name}（{code}），{args.days} 天内有效，可供 {args.uses} 人使用")
    if settings.bot_username:
        print(f"Telegram：https://t.me/{settings.bot_username}?start=inv_{invite}")
    print(f"网页版：{settings.web_base()}/?invite={invite}")
    print(f"也可在任一渠道发送：/join {invite}")
    return 0


async def _unanswered(args: argparse.Namespace, settings: Settings) -> int:
    """The logged questions the bot declined or only suggested, similar ones together, most frequent first."""
    from policies.unanswered import group_questions, topic_label

    if args.fmt == "xlsx" and args.out is None:
        print("用法：python bot.py unanswered --format xlsx --out 文件.xlsx", file=sys.stderr)
        return 2
    store = _load_policies(settings)
    since = dt.datetime.combine(args.since, dt.time(), TIMEZONE) if args.since else None
    repo = await _open_repository(settings.database_url, retention_days=settings.unanswered_retention_days)
    try:
        groups = group_questions(await repo.unanswered_since(since))
    finally:
        await repo.close()

    def topic(faq_id: str | None) -> str:
        return topic_label(store.matcher, faq_id)

    if args.fmt == "xlsx":
        from storage.unanswered import write_unanswered

        write_unanswered(args.out, groups, topic)
        print(args.out)
    else:
        for g in groups:
            when = g.newest.asked_at.astimezone(TIMEZONE).strftime("%Y-%m-%d")
            print(f"{g.count} 次  最近 {when}「{g.newest.question}」  最接近：{topic(g.top_candidate)}")
            for other in g.examples()[1:]:
                print(f"    「{other}」")
    print(f"共 {sum(g.count for g in groups)} 个问题，{len(groups)} 组。", file=sys.stderr)
    return 0


async def _users(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.web.dashboard.cli import users_cli

    spec = _load_form(settings)
    repo = await _open_repository(settings.database_url)
    try:
        return await users_cli(args, repo, spec)
    finally:
        await repo.close()


async def _platforms(args: argparse.Namespace, settings: Settings) -> int:
    """`platforms import` (all rows or none; one line per bad row) and `platforms export` (the template)."""
    from policies.cycle import QuarterError, quarter_of
    from policies.platform_catalogue import SAMPLE_PATH
    from storage.platform_files import CatalogueFileError, import_file, write_template

    if args.platforms_command == "export":
        out: Path = args.out
        _check_template_out(out, args.force)
        repo = await _open_repository(settings.database_url)
        try:
            platforms = await repo.current_platforms()
        finally:
            await repo.close()
        import asyncio

        count = await asyncio.to_thread(write_template, out, platforms)
        print(out)
        print(f"已导出平台清单模板，含 {count} 个平台。", file=sys.stderr)
        return 0
    if (args.file is None) == (not args.sample):
        raise _StartupError(
            "用法：python bot.py platforms import 文件.xlsx|csv [--university 高校] 或 --sample"
        )
    try:
        quarter = _quarter_arg(args.quarter) or quarter_of(settings.today())
    except QuarterError:
        raise _StartupError(f"季度格式应为 2026Q4：{args.quarter}") from None
    spec = _load_form(settings)
    path = SAMPLE_PATH if args.sample else args.file
    repo = await _open_repository(settings.database_url, retention_days=settings.unanswered_retention_days)
    try:
        report = await import_file(
            repo, path, spec=spec, quarter=quarter, university=args.university,
            sample=args.sample, dry_run=args.dry_run,
        )  # fmt: skip
    except CatalogueFileError as exc:
        raise _StartupError(f"导入失败：{exc}") from None
    finally:
        await repo.close()
    for line in report.check.errors:
        print(line, file=sys.stderr)
    for line in report.lines(path.name):
        print(line, file=sys.stderr if not report.check.ok else sys.stdout)
    return 0 if report.check.ok else 2


def _check_template_out(out: Path, force: bool) -> None:
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise _StartupError(f"导出失败：{out} 的扩展名应为 .xlsx 或 .csv")
    if out.exists() and not force:
        raise _StartupError(f"导出失败：{out} 已存在（加 --force 覆盖）")
    if not out.parent.is_dir():
        raise _StartupError(f"导出失败：目录 {out.parent} 不存在")


def _quarter_arg(raw: str | None) -> str | None:
    from policies.cycle import parse_quarter

    if not raw:
        return None
    year, q = parse_quarter(raw)
    return f"{year}Q{q}"


async def _load_sample_if_empty(svc: Any, settings: Settings) -> None:
    """The trial database gets the sample catalogue (示例数据) so 找平台 can be tried at once."""
    from policies.cycle import quarter_of
    from policies.platform_catalogue import SAMPLE_PATH
    from storage.platform_files import import_file

    if not (await svc.repo.platforms_version()).startswith("0:"):
        return
    report = await import_file(
        svc.repo, SAMPLE_PATH, spec=_load_form(settings), quarter=quarter_of(settings.today()), sample=True
    )
    logger.info("Sample catalogue loaded into the trial database: %d platforms", len(report.check.platforms))


# --- the terminal chat's trial database ----------------------------------------------------------


def _sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (relative to the current directory, as SQLAlchemy opens it)."""
    from storage.db import parse_url

    try:
        parsed = parse_url(url)
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database)).expanduser().resolve()


def _describe_database(url: str) -> str:
    from storage.db import parse_url, safe_url

    path = _sqlite_file(url)
    if path is not None:
        with contextlib.suppress(ValueError):
            return str(path.relative_to(Path.cwd()))
        return str(path)
    try:
        return safe_url(parse_url(url))
    except Exception:
        return "（无效的数据库地址）"


def _same_database(a: str, b: str) -> bool:
    from storage.db import parse_url, safe_url

    file_a, file_b = _sqlite_file(a), _sqlite_file(b)
    if file_a is not None or file_b is not None:
        return file_a == file_b
    try:
        return safe_url(parse_url(a)) == safe_url(parse_url(b))
    except Exception:
        return False


def _reset_trial_database(url: str) -> None:
    """Delete the trial SQLite file (and its WAL files); anything else must be emptied by hand."""
    from storage.db import parse_url

    path = _sqlite_file(url)
    if path is None:
        with contextlib.suppress(Exception):
            if parse_url(url).get_backend_name() == "sqlite":
                return  # in memory: nothing persists
        raise _StartupError(
            "--reset 只能清空 SQLite 文件形式的试用数据库；TRIAL_DATABASE_URL 指向其他数据库，请手动清空。"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = path.with_name(path.name + suffix)
        try:
            target.unlink(missing_ok=True)
        except OSError as exc:
            raise _StartupError(f"无法删除试用数据库 {target}：{exc.strerror}") from None


async def _open_trial_services(args: argparse.Namespace, settings: Settings) -> Any:
    """The chat's services on the trial database (announced on stderr), or on the real one if asked."""
    if args.use_production_db:
        if args.reset:
            raise _StartupError("--reset 只清空试用数据，不能与 --use-production-db 一起使用。")
        print(PRODUCTION_DB_LINE.format(where=_describe_database(settings.database_url)), file=sys.stderr)
        return await _open_services(settings)
    url = settings.trial_database_url
    if _same_database(url, settings.database_url):
        raise _StartupError(
            "TRIAL_DATABASE_URL 与 DATABASE_URL 是同一个数据库，试用会写入正式数据："
            "请换一个试用数据库，或明确加上 --use-production-db。"
        )
    if args.reset:
        _reset_trial_database(url)
    line = TRIAL_DB_LINE.format(reset="已清空试用数据。" if args.reset else "", where=_describe_database(url))
    print(line, file=sys.stderr)
    trial = dataclasses.replace(settings, database_url=url)
    svc = await _open_services(trial)
    await _load_sample_if_empty(svc, trial)
    return svc


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.terminal import TerminalChat, run_terminal

    svc = await _open_trial_services(args, settings)
    try:
        await run_terminal(TerminalChat(svc, user_id=args.user_id, name=args.name), sys.stdin, sys.stdout)
    finally:
        await svc.repo.close()
    return 0


async def _web(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the web chat until SIGINT/SIGTERM."""
    from handlers.web import serve

    _claim_sqlite(settings.database_url)
    host, port = args.host or settings.web_host, args.port or settings.web_port
    svc = await _open_services(settings)
    try:
        await serve(svc, host, port)
    except OSError as exc:
        raise _StartupError(f"网页对话无法在 {host}:{port} 上启动：{exc.strerror or exc}") from None
    finally:
        await svc.repo.close()
    return 0


# --- Telegram ------------------------------------------------------------------------------------


async def _run(settings: Settings) -> int:
    """Run against Telegram until SIGINT/SIGTERM (long polling, or a webhook when WEBHOOK_URL is set),
    with the web chat beside it on WEB_HOST:WEB_PORT (WEB_PORT=0 leaves the web chat out).

    With a webhook and PostgreSQL this is one of N interchangeable workers (README "Several workers").
    SIGTERM drains: /readyz turns 503, the servers stop accepting and finish the requests in flight,
    the sender gives its claimed outbox rows back, then the process exits."""
    from handlers.health import Health
    from handlers.telegram.app import build_application
    from handlers.telegram.broadcast import sender_loop
    from handlers.telegram.ratelimit import rate_limiter_for

    _claim_sqlite(settings.database_url)
    if settings.webhook_url:
        _check_webhook_prerequisites(settings)
    svc = await _open_services(settings)
    health = Health(svc.repo)
    try:
        app = build_application(svc, rate_limiter=rate_limiter_for(svc.repo, settings))
        stop = _stop_event()
        webhook = await _start_telegram(app, settings, health)
        web = None
        sender = None
        try:
            web = await _start_web_beside(svc, settings, health)
            sender = app.create_task(sender_loop(app), name="sender")
            logger.info("Bot running; admins configured: %d", len(settings.admin_ids))
            await stop.wait()
        finally:
            health.draining = True
            logger.info("Shutting down: finishing updates in flight")
            for runner in (webhook, web):
                if runner is not None:
                    await runner.cleanup()
            if sender is not None:
                sender.cancel()
                import asyncio

                await asyncio.gather(sender, return_exceptions=True)
            await _stop_telegram(app)
            with contextlib.suppress(Exception):
                released = await svc.repo.release_claimed()
                if released:
                    logger.info("Gave %d claimed outbox rows back", released)
    finally:
        await svc.repo.close()
    return 0


async def _start_web_beside(svc: Any, settings: Settings, health: Any) -> Any:
    """The web chat in the Telegram process (users in mainland China cannot reach Telegram)."""
    if settings.web_port == 0:
        return None
    from handlers.web import start_web

    try:
        return await start_web(svc, settings.web_host, settings.web_port, health=health)
    except OSError as exc:
        where = f"{settings.web_host}:{settings.web_port}"
        raise _StartupError(
            f"网页对话无法在 {where} 上启动（可设置 WEB_PORT）：{exc.strerror or exc}"
        ) from None


_SQLITE_LOCKS: list[Any] = []  # open lock files, held until the process exits


def _claim_sqlite(url: str) -> None:
    """SQLite serves one process: a second `run`/`web` on the same file is refused (a lock file next to
    it, released by the OS when the holder exits, even after kill -9). PostgreSQL takes N workers."""
    import fcntl

    path = _sqlite_file(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".lock"), "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise _StartupError(
            f"SQLite 数据库 {_describe_database(url)} 已被另一个进程（pid {holder}）使用：SQLite 只支持"
            "单进程运行。请先停止该进程；需要多个进程时请改用 PostgreSQL（DATABASE_URL=postgresql+asyncpg://…）。"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    _SQLITE_LOCKS.append(handle)


def _stop_event() -> asyncio.Event:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def _check_webhook_prerequisites(settings: Settings) -> None:
    """Before telling Telegram the webhook URL: the port is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webhook server binds
        try:
            probe.bind(("0.0.0.0", settings.webhook_port))
        except OSError as exc:
            raise _StartupError(_startup_message(exc, settings)) from None


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """PTB logs a failed start-up call with a traceback before raising it to us; we report it as one
    line instead, so its own record is dropped while starting (and only then)."""
    target = logging.getLogger(name)
    level = target.level
    target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(level)


async def _start_telegram(app: Any, settings: Settings, health: Any) -> Any:
    """initialize + start + polling/webhook; on any failure undo what started and raise one line.
    Returns the webhook's server runner (None when polling)."""
    try:
        with _quiet_logger("telegram.ext"):
            return await _start_updates(app, settings, health)
    except Exception as exc:
        with contextlib.suppress(Exception):
            await _stop_telegram(app)
        raise _StartupError(_startup_message(exc, settings)) from None


async def _start_updates(app: Any, settings: Settings, health: Any) -> Any:
    await app.initialize()
    if app.post_init is not None:  # what run_polling would do: publish the command list
        await app.post_init(app)
    await app.start()
    if settings.webhook_url:  # our server: it answers only once an update's work is committed
        from handlers.telegram.webhook import start_webhook

        return await start_webhook(app, settings, health)
    assert app.updater is not None
    await app.updater.start_polling()
    return None


async def _stop_telegram(app: Any) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()


def _startup_message(exc: BaseException, settings: Settings) -> str:
    """One Chinese line saying what failed and what to change."""
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    port = settings.webhook_port
    if isinstance(exc, InvalidToken):
        return "Telegram 拒绝了 TELEGRAM_BOT_TOKEN：请核对 @BotFather 提供的令牌。"
    if isinstance(exc, BadRequest) or (isinstance(exc, TelegramError) and not isinstance(exc, NetworkError)):
        what = f"设置 webhook（WEBHOOK_URL={settings.webhook_url}）" if settings.webhook_url else "启动请求"
        return f"Telegram 拒绝了{what}：{exc}"
    if isinstance(exc, NetworkError):  # BadRequest is a NetworkError in PTB, hence checked first
        return f"无法连接 Telegram Bot API（{settings.base_url}）：{exc}"
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"无法启动 webhook：端口 {port} 已被占用，请换一个 WEBHOOK_PORT 或停止占用它的程序。"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return f"无法启动 webhook：没有权限监听端口 {port}（1024 以下需要特权），请换一个 WEBHOOK_PORT。"
    if isinstance(exc, OSError):
        return f"无法启动 webhook（端口 {port}）：{exc.strerror or exc}"
    detail = " ".join(str(exc).split())
    return f"启动失败：{type(exc).__name__}: {detail}" if detail else f"启动失败：{type(exc).__name__}"


if __name__ == "__main__":
    sys.exit(main())
