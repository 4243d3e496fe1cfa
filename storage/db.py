"""Engine creation and schema migration.

`create_engine(url)` builds an async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg);
`migrate(engine)` applies the Alembic migrations to head. Migrations are the only way the
schema is created, so a database made by an older version is upgraded in place on open.

SQLite runs in WAL mode (readers never block the writer), synchronous=NORMAL (a power cut may
lose the last commits but never corrupts), foreign keys on, and a busy timeout so concurrent
writers queue instead of failing. Write transactions start with BEGIN IMMEDIATE: a deferred
transaction that reads first and writes later can fail with "database is locked" when another
writer committed in between, which busy_timeout cannot cure.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

from storage.errors import ConfigurationError, MigrationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000
PG_CONNECT_TIMEOUT_S = 10
# Execution option that makes the SQLite `begin` hook emit BEGIN IMMEDIATE.
WRITE_OPTION = "pairing_write"
_MIGRATION_LOCK_ID = 0x5041_4952  # "PAIR": serialises concurrent migrations on PostgreSQL

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def parse_url(url: str) -> URL:
    """Parse and complete a database URL: plain `sqlite:` / `postgresql:` get their async driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        # The raw URL is not echoed: it may carry a password.
        raise ConfigurationError(
            f"invalid database URL ({exc}); expected e.g. sqlite+aiosqlite:///data/bot.sqlite3 "
            "or postgresql+asyncpg://user@host/dbname"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername)
    if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ConfigurationError(
            f"unsupported database {parsed.drivername!r}; use sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    return parsed.set(drivername=driver)


def safe_url(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_engine(url: str | URL, *, pool_size: int | None = None) -> AsyncEngine:
    """An async engine for `url`; creates the SQLite file's parent directory. `pool_size` (PostgreSQL):
    connections kept and at most open (default: SQLAlchemy's 5 + 10 overflow)."""
    parsed = parse_url(url) if isinstance(url, str) else url
    # hide_parameters: a failed statement's error (and so its log line) must not carry the values,
    # which are users' form answers, phones and names.
    kwargs: dict[str, Any] = {"json_serializer": _json_dumps, "hide_parameters": True}
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if memory:
            kwargs["poolclass"] = StaticPool  # one shared connection, or each would see its own DB
        else:
            Path(str(parsed.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Every session ends in COMMIT or ROLLBACK, so the pool's extra rollback on check-in would only
        # cost one more round trip to aiosqlite's thread per transaction.
        kwargs["pool_reset_on_return"] = None
        engine = create_async_engine(parsed, **kwargs)
        _install_sqlite_hooks(engine, wal=not memory)
    else:
        kwargs["connect_args"] = {"timeout": PG_CONNECT_TIMEOUT_S}
        kwargs["pool_pre_ping"] = True
        if pool_size is not None:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = 0
            kwargs["pool_timeout"] = 60  # a burst of updates queues for a connection rather than fails
        engine = create_async_engine(parsed, **kwargs)
    return engine


def side_engine(engine: AsyncEngine) -> AsyncEngine:
    """An engine without a pool for the few connections a PostgreSQL worker keeps for its whole life (the
    rate budget, the outbox presence lock, the housekeeping lead): taken from the main pool they could
    find it full of updates that wait for them - a deadlock until the pool's timeout."""
    return create_async_engine(
        engine.url,
        poolclass=NullPool,
        json_serializer=_json_dumps,
        hide_parameters=True,
        connect_args={"timeout": PG_CONNECT_TIMEOUT_S},
    )


def _install_sqlite_hooks(engine: AsyncEngine, *, wal: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the driver) decide when transactions begin, see _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config() -> Config:
    """Alembic configuration built in code (storage/alembic.ini is only for the alembic CLI)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def migrate(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction (PostgreSQL: under an advisory lock)."""
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
            await conn.run_sync(_upgrade, revision)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise MigrationError(f"migrating {safe_url(engine.url)} to {revision} failed: {reason}") from exc
    log.debug("database %s at migration %s", safe_url(engine.url), revision)


def head_revisions() -> set[str]:
    """The revisions the code expects the database at (one head, or several before branches merge)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def schema_problem(engine: AsyncEngine) -> str | None:
    """None when the database answers and its schema is at the code's head; otherwise why not
    (for /readyz: a worker of a newer release waits until the migration has run)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except Exception as exc:
        return f"database unreachable: {type(exc).__name__}"
    if set(rows) != head_revisions():
        return f"schema at {sorted(rows)}, code expects {sorted(head_revisions())}"
    return None


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    """Undo migrations down to `revision` (tests and manual rollbacks only)."""
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as conn:
        await conn.run_sync(_downgrade, revision)
