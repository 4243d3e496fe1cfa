"""Shared fixtures: `db_url` (SQLite, and PostgreSQL when TEST_DATABASE_URL is set) and `repo`.

PostgreSQL: one throw-away database `pairing_test_<hex>` per test session on the server named by
TEST_DATABASE_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test), dropped at the end;
every test starts from emptied tables (TRUNCATE ... RESTART IDENTITY), so ids start at 1 again.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy.engine import URL, make_url

from storage import SqlRepository, open_repository

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"
T = TypeVar("T")


def _pg_server_url() -> URL | None:
    raw = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    return make_url(raw).set(drivername="postgresql+asyncpg") if raw else None


async def _pg_admin(server: URL, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        user=server.username,
        password=server.password,
        host=server.host or "127.0.0.1",
        port=server.port or 5432,
        database=server.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_pg_database(server: URL) -> URL:
    """A new empty database on the TEST_DATABASE_URL server (tests needing a pristine schema)."""
    name = f"pairing_test_{uuid.uuid4().hex[:12]}"
    await _pg_admin(server, f'CREATE DATABASE "{name}"')
    return server.set(database=name)


async def drop_pg_database(server: URL, url: URL) -> None:
    await _pg_admin(server, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run admin coroutines from sync fixtures on a private loop (never touching the test's)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


@pytest.fixture(scope="session")
def pg_server_url() -> URL:
    """The TEST_DATABASE_URL server; skips the test when it is not set."""
    server = _pg_server_url()
    if server is None:
        pytest.skip(f"{TEST_DATABASE_URL_ENV} not set")
    return server


@pytest.fixture(scope="session")
def pg_session_url(pg_server_url: URL) -> Iterator[URL]:
    url = run_sync(create_pg_database(pg_server_url))
    yield url
    run_sync(drop_pg_database(pg_server_url, url))


async def _truncate_all(url: URL) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        user=url.username, password=url.password, host=url.host, port=url.port or 5432, database=url.database
    )
    try:
        names = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        if names:
            tables = ", ".join(f'"{row["tablename"]}"' for row in names)
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with an empty database behind it (SQLite file in tmp_path, or PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'pairing.sqlite3'}"
    url: URL = request.getfixturevalue("pg_session_url")
    run_sync(_truncate_all(url))
    return url.render_as_string(hide_password=False)


@pytest.fixture
async def repo(db_url: str) -> AsyncIterator[SqlRepository]:
    """An opened SqlRepository on `db_url`, closed after the test."""
    repository = await open_repository(db_url)
    try:
        yield repository
    finally:
        await repository.close()
