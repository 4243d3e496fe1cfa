"""Rate budget: remember which database connection reserved each send, so a send whose worker died
(its connection is gone) is not waited for as if it were still in flight.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rate_sends") as batch:
        batch.add_column(sa.Column("backend_pid", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rate_sends") as batch:
        batch.drop_column("backend_pid")
