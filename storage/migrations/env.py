"""Alembic environment, async-aware.

The bot calls `storage.db.migrate(engine)`, which passes an open connection in
`config.attributes["connection"]`; the alembic CLI (storage/alembic.ini) gets none and builds an
async engine from `sqlalchemy.url` or the DATABASE_URL environment variable. No logging setup
here: the application owns logging.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import Connection

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone() -> None:
    from storage.db import create_engine

    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("set DATABASE_URL (or sqlalchemy.url) to run alembic from the command line")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")

existing = config.attributes.get("connection")
if existing is not None:
    run_with(existing)
else:
    asyncio.run(run_standalone())
