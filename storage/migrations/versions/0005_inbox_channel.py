"""Subscribers and outbox rows name the channel a broadcast reaches them by: "telegram" (sent through the
Bot API) or "web" (written into the web chat's history in the same transaction that creates it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("subscribers", "outbox"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("channel", sa.String(length=16), server_default="telegram", nullable=False)
            )


def downgrade() -> None:
    for table in ("outbox", "subscribers"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("channel")
