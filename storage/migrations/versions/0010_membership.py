"""Enterprise membership: members per credit code, invite codes, link codes; buttons on broadcasts.

Every user who filed an entry before this revision becomes an active member of the credit codes they
filed for (the interim rule let them see exactly those entries, so nobody loses access).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprise_members",
        sa.Column("credit_code", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enterprise_name", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", "user_id", name=op.f("pk_enterprise_members")),
    )
    op.create_index(op.f("ix_enterprise_members_user_id"), "enterprise_members", ["user_id"], unique=False)
    op.create_index(op.f("ix_enterprise_members_status"), "enterprise_members", ["status"], unique=False)
    op.create_table(
        "enterprise_invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("credit_code", sa.String(length=32), nullable=False),
        sa.Column("enterprise_name", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("used_by", sa.BigInteger(), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enterprise_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_enterprise_invites_code_hash")),
    )
    op.create_index(
        op.f("ix_enterprise_invites_credit_code"), "enterprise_invites", ["credit_code"], unique=False
    )
    op.create_table(
        "link_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_link_codes")),
    )
    op.create_index(op.f("ix_link_codes_user_id"), "link_codes", ["user_id"], unique=False)
    op.add_column("broadcasts", sa.Column("buttons", sa.JSON(), nullable=True))
    _backfill()


def _backfill() -> None:
    """Filers of existing entries become active members of the credit codes they filed for."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT credit_code, user_id, MIN(enterprise_name) FROM entries "
            "WHERE credit_code <> '' GROUP BY credit_code, user_id"
        )
    ).all()
    if not rows:
        return
    members = sa.table(
        "enterprise_members",
        sa.column("credit_code", sa.String),
        sa.column("user_id", sa.BigInteger),
        sa.column("status", sa.String),
        sa.column("enterprise_name", sa.Text),
        sa.column("requested_at", sa.DateTime(timezone=True)),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("decided_by", sa.String),
    )
    now = dt.datetime.now(dt.UTC)
    if bind.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # storage keeps naive UTC on SQLite (tables.UTCDateTime)
    op.bulk_insert(
        members,
        [
            {
                "credit_code": code,
                "user_id": int(user_id),
                "status": "active",
                "enterprise_name": name or "",
                "requested_at": now,
                "decided_at": now,
                "decided_by": "backfill",
            }
            for code, user_id, name in rows
        ],
    )


def downgrade() -> None:
    op.drop_column("broadcasts", "buttons")
    op.drop_index(op.f("ix_link_codes_user_id"), table_name="link_codes")
    op.drop_table("link_codes")
    op.drop_index(op.f("ix_enterprise_invites_credit_code"), table_name="enterprise_invites")
    op.drop_table("enterprise_invites")
    op.drop_index(op.f("ix_enterprise_members_status"), table_name="enterprise_members")
    op.drop_index(op.f("ix_enterprise_members_user_id"), table_name="enterprise_members")
    op.drop_table("enterprise_members")
