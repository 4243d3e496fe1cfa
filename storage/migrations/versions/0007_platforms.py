"""The universities' platform catalogue (one row per platform per quarter), and the catalogue platform
an entry names (`entries.platform_id`), so the leaderboard can count per platform.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "platforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("university", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("introduction", sa.Text(), nullable=False),
        sa.Column("intentions", sa.Text(), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=False),
        sa.Column("contact_name", sa.Text(), nullable=False),
        sa.Column("contact_phone", sa.String(length=64), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("sample", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platforms")),
        sa.UniqueConstraint("quarter", "key", name=op.f("uq_platforms_quarter_key")),
    )
    op.create_index(op.f("ix_platforms_key"), "platforms", ["key"], unique=False)
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("platform_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_entries_platform_id"), ["platform_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_entries_platform_id_platforms"),
            "platforms",
            ["platform_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_constraint(batch.f("fk_entries_platform_id_platforms"), type_="foreignkey")
        batch.drop_index(batch.f("ix_entries_platform_id"))
        batch.drop_column("platform_id")
    op.drop_index(op.f("ix_platforms_key"), table_name="platforms")
    op.drop_table("platforms")
