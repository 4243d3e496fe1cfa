"""Issue 7 defects of the command line, driven as a user runs it (a `python bot.py` subprocess):
start-up failures (3, 4), `.env` (5), the terminal chat's trial database (6), `export --out` (7),
secrets and users' words in logs (9), a closed pipe (14), `check` wording, required cycle.yaml and
logs inside the chat (16)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import openpyxl
import pytest
from sqlalchemy import text

from storage import open_repository
from storage.db import create_engine
from tests.conftest import run_sync
from tests.fakeapi.server import FakeBotApiServer
from tests.storage.test_exports import LETTER_CODE, SDUST, UPC, make_fields

ROOT = Path(__file__).resolve().parent.parent
BOT = str(ROOT / "bot.py")
TOKEN = "123456:SECRET-token-for-tests"
WEBHOOK_SECRET = "webhook-secret-XYZ"
Q = "2026Q4"


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "TRIAL_", "ADMIN_", "WEBHOOK_", "BOT_TODAY", "WEB_"))
    }
    env["WEB_PORT"] = (
        "0"  # `run` would also serve the web chat on 8080: not here, where tests run side by side
    )
    env.update(extra)
    return env


def run_bot(
    *args: str, stdin: str = "", cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, BOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(**(env or {})),
        cwd=cwd,
        timeout=120,
    )


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ item 4: run without a token
def test_run_without_token_refuses_with_one_line_and_nonzero_exit() -> None:
    result = run_bot("run", stdin="/start\n")
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in one_line(result.stderr)
    assert result.stdout == ""  # no terminal chat under systemd's Restart=always


async def test_plain_bot_py_without_token_serves_the_web_chat(tmp_path: Path) -> None:
    """No token: `python bot.py` serves the web chat (Telegram is blocked in mainland China) and says
    where to open it; SIGTERM stops it cleanly."""
    port = free_port()
    env = clean_env(DATABASE_URL=sqlite_url(tmp_path / "prod.sqlite3"), WEB_PORT=str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, BOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert f"http://127.0.0.1:{port}/" in line
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/") as page:
            assert page.status == 200 and "结对共建助手" in await page.text()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, raw_stderr = await asyncio.wait_for(proc.communicate(), 30)
    stderr = raw_stderr.decode()
    assert proc.returncode == 0, stderr
    assert "未设置 TELEGRAM_BOT_TOKEN：只启动网页对话" in stderr and "Traceback" not in stderr


# ------------------------------------------------------------------ item 3: start-up failures
def test_webhook_port_in_use_is_one_line_and_nonzero_exit(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_bot(
            "run",
            env={
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_BASE_URL": "http://127.0.0.1:9/bot",
                "DATABASE_URL": sqlite_url(tmp_path / "bot.sqlite3"),
                "WEBHOOK_URL": "https://bot.example.org/telegram",
                "WEBHOOK_PORT": str(port),
            },
        )
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert f"端口 {port} 已被占用" in line
    assert "still running" not in result.stderr


async def test_webhook_refused_by_telegram_is_one_line_not_still_running(tmp_path: Path) -> None:
    """setWebhook fails after the application has started: it is stopped cleanly, one line."""
    async with FakeBotApiServer() as server:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=server.base_url,
            DATABASE_URL=sqlite_url(tmp_path / "bot.sqlite3"),
            WEBHOOK_URL="http://bot.example.org/telegram",  # Telegram demands HTTPS
            WEBHOOK_PORT=str(free_port()),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, BOT, "run", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode != 0
    err = stderr.decode()
    assert "still running" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("Telegram 拒绝了设置 webhook")


async def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_webhook_bot_answers_and_verbose_log_has_no_token_secret_or_message(tmp_path: Path) -> None:
    """Items 3 and 9: `bot.py -v run` in webhook mode serves Telegram's posts; with DEBUG on, stderr
    never shows the token, the webhook secret or what the user typed."""
    user, typed = 5151, "我的手机号13912345678能否作为平台联系人电话？"
    port = free_port()
    async with FakeBotApiServer() as server, aiohttp.ClientSession() as http:
        fake = server.fake
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_BASE_URL=server.base_url,
            DATABASE_URL=sqlite_url(tmp_path / "bot.sqlite3"),
            WEBHOOK_URL="https://bot.example.org/telegram",
            WEBHOOK_PORT=str(port),
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            BOT_TODAY="2026-10-12",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, BOT, "-v", "run", env=env, cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/telegram"

        async def post(update: dict[str, object], secret: str | None = WEBHOOK_SECRET) -> int:
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
            async with http.post(url, json=update, headers=headers) as response:
                return response.status

        try:
            await wait_for(lambda: fake.webhook_url == "https://bot.example.org/telegram", 60, "setWebhook")
            for _ in range(100):  # the server listens right after setWebhook
                try:
                    status = await post(fake.user_says(user, "/start", first_name="李经理", enqueue=False))
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            assert status == 200
            texts = lambda: [m.text or "" for m in fake.messages(user)]  # noqa: E731
            await wait_for(lambda: any("您好，李经理" in t for t in texts()), 30, "the greeting")
            assert await post(fake.user_says(user, typed, enqueue=False)) == 200
            await wait_for(lambda: len(texts()) >= 2, 30, "the answer")
            assert await post(fake.user_says(user, "伪造", enqueue=False), secret=None) == 403
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    log = stderr.decode()
    assert proc.returncode == 0, log[-2000:]
    assert " DEBUG " in log  # -v was in effect
    for secret in (TOKEN, "SECRET-token", WEBHOOK_SECRET, typed, "13912345678", "伪造"):
        assert secret not in log


def test_redacting_filter_hides_secrets_even_in_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot
    from policies.settings import Settings

    settings = Settings.from_environ(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DATABASE_URL": "postgresql+asyncpg://pairing:db-password-1@127.0.0.1/pairing",
        }
    )
    redactor = bot._Redactor(bot._secrets(settings))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", (f"/bot{TOKEN}/x",), None)
    try:
        raise RuntimeError(f"failed with {WEBHOOK_SECRET} and db-password-1")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    redactor.filter(record)
    formatted = logging.Formatter().format(record)
    assert "RuntimeError" in formatted and "***" in formatted
    for secret in (TOKEN, WEBHOOK_SECRET, "db-password-1"):
        assert secret not in formatted


async def test_database_error_does_not_carry_the_users_answers(tmp_path: Path) -> None:
    """A failed statement's error (what the error handler logs) must not contain its parameters."""
    engine = create_engine(sqlite_url(tmp_path / "x.sqlite3"))
    answer = "李娜13812345678"
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (v TEXT UNIQUE)"))
            await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": answer})
        with pytest.raises(Exception) as info:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": answer})
    finally:
        await engine.dispose()
    assert "UNIQUE" in str(info.value)
    assert answer not in str(info.value) and "hidden" in str(info.value)


# ------------------------------------------------------------------ item 5: .env
def test_dotenv_in_the_current_directory_is_read_and_environment_wins(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# trial\nBOT_TODAY=2026-10-12\nADMIN_IDS=\n", encoding="utf-8")
    from_file = run_bot("ask", "每季度第几周提交清单？", cwd=tmp_path)
    assert from_file.returncode == 0, from_file.stderr
    assert "今天（2026年10月12日）" in from_file.stdout
    from_env = run_bot("ask", "每季度第几周提交清单？", cwd=tmp_path, env={"BOT_TODAY": "2026-11-02"})
    assert "今天（2026年11月2日）" in from_env.stdout


def test_env_example_copied_as_is_runs_the_terminal_chat(tmp_path: Path) -> None:
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    from dotenv import dotenv_values

    values = dotenv_values(tmp_path / ".env")
    assert not values.get("ADMIN_IDS") and not values.get("TELEGRAM_BOT_TOKEN")
    assert not values.get("DATABASE_URL")  # the working default, not a server that is not there
    result = run_bot(
        "chat", stdin="/start\n", cwd=tmp_path, env={"TRIAL_DATABASE_URL": sqlite_url(tmp_path / "t.sqlite3")}
    )
    assert result.returncode == 0, result.stderr
    assert "您好，访客" in result.stdout
    assert run_bot("check", cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------ item 6: trial database
@pytest.fixture
def dbs(tmp_path: Path) -> dict[str, Path]:
    return {"prod": tmp_path / "prod.sqlite3", "trial": tmp_path / "trial.sqlite3"}


def chat(
    dbs: dict[str, Path], *flags: str, stdin: str = "/start\n", verbose: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {"DATABASE_URL": sqlite_url(dbs["prod"]), "TRIAL_DATABASE_URL": sqlite_url(dbs["trial"])}
    return run_bot(*(["-v"] if verbose else []), "chat", *flags, stdin=stdin, env=env)


def test_chat_uses_the_trial_database_and_says_how_to_reset(dbs: dict[str, Path]) -> None:
    result = chat(dbs)
    assert result.returncode == 0, result.stderr
    line = one_line(result.stderr)
    assert "trial.sqlite3" in line and "python bot.py chat --reset" in line
    assert "您好，访客" in result.stdout
    assert not dbs["prod"].exists()  # the real data never saw the trial user
    assert count(dbs["trial"], "identities") == 1


def test_chat_reset_deletes_the_trial_data(dbs: dict[str, Path]) -> None:
    chat(dbs)
    assert count(dbs["trial"], "identities") == 1
    result = chat(dbs, "--reset", stdin="")
    assert result.returncode == 0, result.stderr
    assert "已清空试用数据" in one_line(result.stderr)
    assert count(dbs["trial"], "identities") == 0


def test_chat_on_the_production_database_only_when_asked(dbs: dict[str, Path]) -> None:
    result = chat(dbs, "--use-production-db")
    assert result.returncode == 0, result.stderr
    assert "正式数据库" in one_line(result.stderr)
    assert count(dbs["prod"], "identities") == 1
    refused = chat(dbs, "--use-production-db", "--reset")
    assert refused.returncode != 0 and "--reset" in one_line(refused.stderr)
    assert count(dbs["prod"], "identities") == 1


def test_trial_database_equal_to_production_is_refused(dbs: dict[str, Path]) -> None:
    result = run_bot(
        "chat",
        "--reset",
        stdin="/start\n",
        env={"DATABASE_URL": sqlite_url(dbs["prod"]), "TRIAL_DATABASE_URL": sqlite_url(dbs["prod"])},
    )
    assert result.returncode != 0
    assert "--use-production-db" in one_line(result.stderr)
    assert not dbs["prod"].exists()


# ------------------------------------------------------------------ item 16: logs in the chat
def test_verbose_chat_logs_go_to_a_file_not_into_the_conversation(dbs: dict[str, Path]) -> None:
    result = chat(dbs, stdin="/start\n单个企业贴息最高多少？\n", verbose=True)
    assert result.returncode == 0, result.stderr
    one_line(result.stderr)  # only the trial-database line
    assert not any(w in result.stdout for w in (" DEBUG ", " INFO ", " WARNING "))
    log = (dbs["trial"].parent / "chat.log").read_text(encoding="utf-8")
    assert " DEBUG " in log and "单个企业贴息" not in log


def test_check_failure_says_validation_failed_not_refusing_to_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "policies" / "data", data)
    faq = data / "faq_union.yaml"
    faq.write_text(faq.read_text(encoding="utf-8").replace("source:", "sourc:", 1), encoding="utf-8")
    result = run_bot("check", env={"POLICY_DIR": str(data)})
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "校验未通过" in line and "拒绝启动" not in line and "faq_union.yaml" in line


def test_missing_cycle_yaml_is_one_error_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "policies" / "data", data)
    (data / "cycle.yaml").unlink()
    for command in ("check", "schedule"):
        result = run_bot(command, env={"POLICY_DIR": str(data)})
        assert result.returncode != 0
        assert "cycle.yaml" in one_line(result.stderr)


# ------------------------------------------------------------------ item 14: closed pipe
def test_ask_into_head_exits_quietly(tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("单个企业贴息最高多少？\n" * 400, encoding="utf-8")
    err = tmp_path / "err"
    script = f'"{sys.executable}" "{BOT}" ask < "{questions}" 2> "{err}" | head -1; echo ${{PIPESTATUS[0]}}'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=clean_env(), cwd=ROOT, timeout=120
    )
    first, status = result.stdout.splitlines()
    assert first and status == "0"
    assert err.read_text(encoding="utf-8") == ""


# ------------------------------------------------------------------ item 7: export --out
@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Three 2026Q4 entries at two universities (two enterprises)."""
    url = sqlite_url(tmp_path_factory.mktemp("exportdb") / "bot.sqlite3")

    async def seed() -> None:
        repo = await open_repository(url)
        try:
            await repo.create_entry(1, Q, make_fields())
            await repo.create_entry(2, Q, make_fields(SDUST, "青岛乙有限公司", LETTER_CODE, "智能网箱监测"))
            await repo.create_entry(2, Q, make_fields(UPC, "青岛乙有限公司", LETTER_CODE, "深海传感器"))
        finally:
            await repo.close()

    run_sync(seed())
    yield url


def export(db: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_bot("export", "--quarter", Q, *args, cwd=cwd, env={"DATABASE_URL": db})


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_export_out_file_is_exactly_that_file(ledger_db: str, tmp_path: Path) -> None:
    result = export(ledger_db, tmp_path, "--by", "ledger", "--out", "ledger.xlsx")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "ledger.xlsx"
    assert out.is_file() and result.stdout.strip() == "ledger.xlsx"
    assert openpyxl.load_workbook(out).sheetnames == ["台账", "变更记录"]
    assert leftovers(tmp_path) == ["ledger.xlsx"]  # no work directory left behind


def test_export_never_overwrites_without_force(ledger_db: str, tmp_path: Path) -> None:
    out = tmp_path / "ledger.xlsx"
    out.write_bytes(b"keep me")
    refused = export(ledger_db, tmp_path, "--by", "ledger", "--out", "ledger.xlsx")
    assert refused.returncode != 0
    line = one_line(refused.stderr)
    assert "已存在" in line and "--force" in line
    assert out.read_bytes() == b"keep me" and leftovers(tmp_path) == ["ledger.xlsx"]
    forced = export(ledger_db, tmp_path, "--by", "ledger", "--out", "ledger.xlsx", "--force")
    assert forced.returncode == 0, forced.stderr
    assert openpyxl.load_workbook(out).sheetnames == ["台账", "变更记录"]


def test_export_several_files_into_a_zip(ledger_db: str, tmp_path: Path) -> None:
    result = export(ledger_db, tmp_path, "--by", "university", "--out", "lists.zip")
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "lists.zip") as zf:
        assert sorted(zf.namelist()) == sorted(
            [f"{Q}_{UPC}_结对共建项目清单.xlsx", f"{Q}_{SDUST}_结对共建项目清单.xlsx"]
        )
    enterprise = export(ledger_db, tmp_path, "--by", "enterprise", "--out", "packages.zip")
    assert enterprise.returncode == 0, enterprise.stderr
    with zipfile.ZipFile(tmp_path / "packages.zip") as zf:  # the packages themselves, not a zip in a zip
        assert len(zf.namelist()) == 2 and all(n.endswith(".xlsx") for n in zf.namelist())
    assert leftovers(tmp_path) == ["lists.zip", "packages.zip"]


def test_export_into_an_existing_directory(ledger_db: str, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = export(ledger_db, tmp_path, "--by", "university", "--format", "csv", "--out", "out")
    assert result.returncode == 0, result.stderr
    assert len(leftovers(tmp_path / "out")) == 2
    again = export(ledger_db, tmp_path, "--by", "university", "--format", "csv", "--out", "out")
    assert again.returncode != 0 and "--force" in one_line(again.stderr)
    forced = export(ledger_db, tmp_path, "--by", "university", "--format", "csv", "--out", "out", "--force")
    assert forced.returncode == 0 and len(leftovers(tmp_path / "out")) == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--by", "ledger", "--format", "csv", "--out", "ledger.xlsx"], "不符"),
        (["--by", "ledger", "--out", "ledger.txt"], "扩展名"),
        (["--by", "ledger", "--out", "missing/ledger.xlsx"], "不存在"),
        (["--by", "ledger", "--out", "newdir"], "不存在"),
        (["--by", "ledger", "--format", "csv", "--out", "ledger.csv"], "2 个文件"),
        (["--by", "enterprise", "--out", "packages.xlsx"], ".zip"),
        (["--by", "university", "--out", "lists.xlsx"], "2 个文件"),  # two universities
    ],
)
def test_export_out_failures_are_one_line_and_write_nothing(
    ledger_db: str, tmp_path: Path, args: list[str], expected: str
) -> None:
    result = export(ledger_db, tmp_path, *args)
    assert result.returncode != 0
    assert expected in one_line(result.stderr)
    assert leftovers(tmp_path) == []


def test_export_into_an_unwritable_directory_is_one_line(ledger_db: str, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:  # root ignores file modes; sysfs refuses new files even to root
        locked = Path("/sys")
    try:
        result = export(ledger_db, tmp_path, "--by", "ledger", "--out", str(locked / "ledger.xlsx"))
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert result.returncode != 0
    assert "权限" in one_line(result.stderr)
