"""The dashboard: accounts, server-side sessions, the login throttle, the append-only audit log, and on
entries the enterprise's district (backfilled from `fields`) and a university's platform check.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BATCH = 1000

_NO_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION dashboard_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'dashboard_audit is append-only';
END;
$$ LANGUAGE plpgsql
"""
_NO_CHANGE_TRIGGER = """
CREATE TRIGGER dashboard_audit_append_only BEFORE UPDATE OR DELETE ON dashboard_audit
FOR EACH ROW EXECUTE FUNCTION dashboard_audit_append_only()
"""


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("district", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("platform_check", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("platform_check_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("platform_check_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("platform_check_note", sa.Text(), nullable=True))
        batch.create_index(batch.f("ix_entries_district"), ["district"], unique=False)
    _backfill_district()

    op.create_table(
        "dashboard_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_accounts")),
        sa.UniqueConstraint("name", name=op.f("uq_dashboard_accounts_name")),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reauth_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["dashboard_accounts.id"],
            name=op.f("fk_dashboard_sessions_account_id_dashboard_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_index(
        op.f("ix_dashboard_sessions_account_id"), "dashboard_sessions", ["account_id"], unique=False
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    op.create_index(op.f("ix_login_attempts_key_at"), "login_attempts", ["key", "at"], unique=False)
    op.create_table(
        "dashboard_audit",
        sa.Column("id", _BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_audit")),
    )
    op.create_index(op.f("ix_dashboard_audit_at"), "dashboard_audit", ["at"], unique=False)
    op.create_index(op.f("ix_dashboard_audit_action"), "dashboard_audit", ["action"], unique=False)
    op.create_index(op.f("ix_dashboard_audit_account_at"), "dashboard_audit", ["account", "at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NO_CHANGE_FUNCTION)
        op.execute(_NO_CHANGE_TRIGGER)


def _backfill_district() -> None:
    """entries.district = fields["district"] for the entries filed before this column existed."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, fields FROM entries WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        updates = []
        for entry_id, raw in rows:
            fields = json.loads(raw) if isinstance(raw, str | bytes) else (raw or {})
            value = fields.get("district") if isinstance(fields, dict) else None
            if isinstance(value, str) and value.strip():
                updates.append({"id": entry_id, "district": value.strip()})
        if updates:
            bind.execute(sa.text("UPDATE entries SET district = :district WHERE id = :id"), updates)
        last = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS dashboard_audit_append_only ON dashboard_audit")
        op.execute("DROP FUNCTION IF EXISTS dashboard_audit_append_only()")
    op.drop_index(op.f("ix_dashboard_audit_account_at"), table_name="dashboard_audit")
    op.drop_index(op.f("ix_dashboard_audit_action"), table_name="dashboard_audit")
    op.drop_index(op.f("ix_dashboard_audit_at"), table_name="dashboard_audit")
    op.drop_table("dashboard_audit")
    op.drop_index(op.f("ix_login_attempts_key_at"), table_name="login_attempts")
    op.drop_table("login_attempts")
    op.drop_index(op.f("ix_dashboard_sessions_account_id"), table_name="dashboard_sessions")
    op.drop_table("dashboard_sessions")
    op.drop_table("dashboard_accounts")
    with op.batch_alter_table("entries") as batch:
        batch.drop_index(batch.f("ix_entries_district"))
        batch.drop_column("platform_check_note")
        batch.drop_column("platform_check_at")
        batch.drop_column("platform_check_by")
        batch.drop_column("platform_check")
        batch.drop_column("district")
