"""The Telegram rate budget shared by all workers (30 messages/s per bot, 1/s per chat), see
`storage.ratebudget`.

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_slots",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_rate_slots")),
    )
    op.create_table(
        "rate_sends",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bot_id", "seq", name=op.f("pk_rate_sends")),
    )
    op.create_table(
        "rate_chats",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bot_id", "chat_id", name=op.f("pk_rate_chats")),
    )
    op.create_index(op.f("ix_rate_chats_next_at"), "rate_chats", ["next_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_chats_next_at"), table_name="rate_chats")
    op.drop_table("rate_chats")
    op.drop_table("rate_sends")
    op.drop_table("rate_slots")
