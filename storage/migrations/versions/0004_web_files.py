"""Files the web chat offers for download (exports), kept in the database so every worker can serve them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("mime", sa.String(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_files")),
    )
    op.create_index(op.f("ix_web_files_user_id"), "web_files", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_web_files_user_id"), table_name="web_files")
    op.drop_table("web_files")
