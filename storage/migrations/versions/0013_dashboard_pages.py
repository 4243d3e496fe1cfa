"""Dashboard pages: a university can retire a catalogue platform between imports (平台目录).

Also the merge point of the membership (0010) and dashboard (0011) branches until they are re-chained.

Revision ID: 0013
Revises: 0010, 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("platforms") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("platforms") as batch:
        batch.drop_column("retired_at")
