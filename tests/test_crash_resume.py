"""kill -9 in the middle of the form, then a new process on the same database: nothing typed is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def start_chat(db: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN_"))}
    env.update(TRIAL_DATABASE_URL=f"sqlite+aiosqlite:///{db}", BOT_TODAY="2026-10-12", PYTHONUNBUFFERED="1")
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), "chat", "--user-id", "777",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=env, cwd=ROOT,
    )  # fmt: skip


async def say(proc: asyncio.subprocess.Process, line: str, expect: str, seen: list[str]) -> None:
    """Type `line`, then read output until `expect` appears (the bot has answered and committed)."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{line}\n".encode())
    await proc.stdin.drain()
    buffer = ""
    while expect not in buffer:
        chunk = await asyncio.wait_for(proc.stdout.read(4096), timeout=30)
        assert chunk, f"bot exited before saying {expect!r}; it said: {buffer[-500:]}"
        buffer += chunk.decode()
    seen.append(buffer)


async def test_sigkill_mid_form_then_a_new_process_resumes_at_the_same_field(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    seen: list[str] = []
    first = await start_chat(db)
    await say(first, "/start", "[1] 问政策", seen)
    await say(first, "填报结对项目", "第1/16项", seen)
    await say(first, "1", "第2/16项", seen)
    await say(first, "海洋工程装备重点实验室", "第3/16项", seen)
    await say(first, "1", "第4/16项", seen)
    first.send_signal(signal.SIGKILL)  # a crash, not a clean exit
    await first.wait()

    second = await start_chat(db)
    await say(second, "/start", "继续填写", seen)
    assert "已填 3 项" in seen[-1]
    await say(second, "继续填写", "第4/16项", seen)
    await say(second, "王老师", "第5/16项", seen)
    assert second.stdin is not None
    second.stdin.close()
    assert await asyncio.wait_for(second.wait(), timeout=30) == 0
