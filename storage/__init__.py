"""Storage: SQLAlchemy 2 async implementation of `policies.ports.Repository`. No Telegram imports.

    repo = await open_repository("sqlite+aiosqlite:///data/pairing_bot.sqlite3")
    ...
    await repo.close()

Errors are `StorageError` subclasses, see `storage.errors`.
"""

from __future__ import annotations

import logging

from storage.db import create_engine, migrate, parse_url, safe_url
from storage.errors import (
    ConfigurationError,
    DatabaseUnavailable,
    InvalidValue,
    MigrationError,
    NotFound,
    StorageError,
)
from storage.repository import SqlRepository

__all__ = [
    "ConfigurationError",
    "DatabaseUnavailable",
    "InvalidValue",
    "MigrationError",
    "NotFound",
    "SqlRepository",
    "StorageError",
    "open_repository",
]

log = logging.getLogger(__name__)


def _reason(exc: BaseException) -> str:
    """The innermost cause of `exc` as one line (driver errors hide under SQLAlchemy's wrapper)."""
    inner: BaseException = exc
    while True:
        nxt = getattr(inner, "orig", None) or inner.__cause__
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner = nxt
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0]}" if text else type(inner).__name__


async def open_repository(
    url: str, *, inflight_lease: float = 0.0, pool_size: int | None = None
) -> SqlRepository:
    """Connect, migrate to head and return the repository (close it with `await repo.close()`).

    Raises ConfigurationError for a malformed URL, DatabaseUnavailable when the database cannot
    be reached or created, MigrationError when the schema cannot be brought up to date.
    `inflight_lease`: see `storage.repository` (outbox crash recovery); `pool_size`: `storage.db`.
    """
    parsed = parse_url(url)
    where = safe_url(parsed)
    try:
        engine = create_engine(parsed, pool_size=pool_size)
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the database directory for {where}: {exc}") from exc
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except Exception as exc:
        await engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {where}: {_reason(exc)}") from exc
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    log.info("storage ready: %s", where)
    return SqlRepository(engine, inflight_lease=inflight_lease)
