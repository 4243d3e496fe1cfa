"""Internal users, their channel identities, and the web chat's message history.

Existing rows are keyed by Telegram user ids; each becomes an internal user with the same id and a
`telegram` identity, so nothing already filed changes owner. New users get ids after the largest.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KNOWN_USERS = (
    "SELECT user_id FROM profiles UNION SELECT user_id FROM drafts UNION SELECT user_id FROM entries "
    "UNION SELECT user_id FROM subscribers"
)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "identities",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("channel", "external_id", name=op.f("pk_identities")),
    )
    op.create_index(op.f("ix_identities_user_id"), "identities", ["user_id"], unique=False)
    op.create_table(
        "chat_messages",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
    )
    op.create_index(op.f("ix_chat_messages_user_id_id"), "chat_messages", ["user_id", "id"], unique=False)

    now = "CURRENT_TIMESTAMP"
    op.execute(f"INSERT INTO users (id, name, created_at) SELECT user_id, '', {now} FROM ({_KNOWN_USERS}) k")
    op.execute(
        "INSERT INTO identities (channel, external_id, user_id, created_at) "
        f"SELECT 'telegram', CAST(id AS VARCHAR(32)), id, {now} FROM users"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM users"
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_messages_user_id_id"), table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_index(op.f("ix_identities_user_id"), table_name="identities")
    op.drop_table("identities")
    op.drop_table("users")
