"""Operations (issue 12): /healthz and /readyz for the load balancer, and SQLite refusing a second process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from handlers.health import Health
from handlers.web import build_web_app
from storage import SqlRepository
from storage.db import downgrade, migrate
from tests.web.support import services
from tests.workers import BOT, ROOT, free_port


async def client_for(repo: SqlRepository, health: Health) -> TestClient[Any, Any]:
    client = TestClient(TestServer(build_web_app(services(repo), health=health)))
    await client.start_server()
    return client


async def test_readyz_says_ready_then_not_while_draining(repo: SqlRepository) -> None:
    health = Health(repo)
    client = await client_for(repo, health)
    try:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200 and await ready.text() == "ready"
        health.draining = True  # SIGTERM: the balancer stops sending before the worker stops serving
        draining = await client.get("/readyz")
        assert draining.status == 503 and await draining.text() == "shutting down"
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_readyz_is_503_until_the_schema_is_current(repo: SqlRepository) -> None:
    await downgrade(repo.engine, "0005")  # an older schema: a new release's worker must not take traffic
    client = await client_for(repo, Health(repo))
    try:
        response = await client.get("/readyz")
        assert response.status == 503 and "schema at ['0005']" in await response.text()
        await migrate(repo.engine)
        assert (await client.get("/readyz")).status == 200
    finally:
        await client.close()


async def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    from tests.workers import worker_env

    env = worker_env(f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}", "http://127.0.0.1:9/bot", 0)
    env.pop("TELEGRAM_BOT_TOKEN")
    env["WEB_PORT"] = str(free_port())
    first = await asyncio.create_subprocess_exec(
        sys.executable, BOT, "web", env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert first.stdout is not None
        assert "http://" in (await asyncio.wait_for(first.stdout.readline(), 60)).decode()
        second_env = {**env, "WEB_PORT": str(free_port())}
        second = await asyncio.create_subprocess_exec(
            sys.executable, BOT, "web", env=second_env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(second.communicate(), 60)
        assert second.returncode == 2
        line = err.decode().strip()
        assert "\n" not in line and "Traceback" not in line
        assert f"已被另一个进程（pid {first.pid}）使用" in line and "PostgreSQL" in line
    finally:
        first.terminate()
        await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 0
