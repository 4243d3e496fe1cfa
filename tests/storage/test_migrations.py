"""Alembic migrations are the schema: they match the ORM, go down and up, and run on open."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from storage import ConfigurationError, DatabaseUnavailable, SqlRepository, open_repository
from storage.db import alembic_config, downgrade, migrate
from storage.tables import Base

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "profiles",
    "drafts",
    "entries",
    "entry_changes",
    "subscribers",
    "users",
    "identities",
    "chat_messages",
    "web_files",
    "platforms",
    "broadcasts",
    "outbox",
    "kv",
    "telegram_updates",
    "unanswered_questions",
    "rate_slots",
    "rate_sends",
    "rate_chats",
    "audit_log",
    "dashboard_accounts",
    "dashboard_sessions",
    "login_attempts",
    "dashboard_audit",
    "enterprise_members",
    "enterprise_invites",
    "link_codes",
}


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def _version(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_migrated_schema_equals_the_orm_metadata(repo: SqlRepository) -> None:
    async with repo.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        assert await conn.run_sync(_tables) == TABLES | {"alembic_version"}
        assert await conn.run_sync(_version) == _head()


async def test_downgrade_to_base_and_upgrade_again(repo: SqlRepository, db_url: str) -> None:
    await repo.save_draft(1, {"step": 1})
    await downgrade(repo.engine, "base")
    async with repo.engine.connect() as conn:
        assert await conn.run_sync(_tables) <= {"alembic_version"}
    await migrate(repo.engine)
    async with repo.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    fresh = await open_repository(db_url)  # a process started after the operator's downgrade
    try:
        assert await fresh.get_draft(1) is None
    finally:
        await fresh.close()


async def test_two_processes_opening_a_fresh_database_at_once(repo: SqlRepository, db_url: str) -> None:
    await downgrade(repo.engine, "base")
    first, second = await asyncio.gather(open_repository(db_url), open_repository(db_url))
    try:
        await first.save_draft(1, {"ok": True})
        assert (await second.get_draft(1)).state == {"ok": True}  # type: ignore[union-attr]
        async with second.engine.connect() as conn:
            assert await conn.run_sync(_version) == _head()
    finally:
        await first.close()
        await second.close()


async def test_reopening_keeps_data_and_does_not_migrate_twice(db_url: str) -> None:
    repo = await open_repository(db_url)
    await repo.upsert_subscriber(1, 1, "张三")
    await repo.close()
    repo = await open_repository(db_url)
    try:
        assert [s.user_id for s in await repo.active_subscribers()] == [1]
    finally:
        await repo.close()


async def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    repo = await open_repository(f"sqlite:///{tmp_path / 'new' / 'dir' / 'bot.sqlite3'}")
    try:
        async with repo.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 15000}
        assert (tmp_path / "new" / "dir" / "bot.sqlite3").exists()
    finally:
        await repo.close()


async def test_in_memory_sqlite_works_for_quick_experiments() -> None:
    repo = await open_repository("sqlite+aiosqlite://")
    try:
        await repo.save_draft(1, {"a": 1})
        assert (await repo.get_draft(1)).state == {"a": 1}  # type: ignore[union-attr]
    finally:
        await repo.close()


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        (
            "postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/nowhere",
            DatabaseUnavailable,
            "cannot open database",
        ),
        ("mysql://root@localhost/db", ConfigurationError, "unsupported database 'mysql'"),
        ("not a url", ConfigurationError, "invalid database URL"),
        (
            "sqlite:////proc/no/such/place.sqlite3",
            DatabaseUnavailable,
            "cannot create the database directory",
        ),
    ],
)
async def test_a_url_pointing_nowhere_gives_one_clear_line(
    url: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        await open_repository(url)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "s3cret" not in text


def test_production_code_never_creates_the_schema_outside_migrations() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("storage", "handlers", "policies")
        for path in (ROOT / package).rglob("*.py")
        if "create_all(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
