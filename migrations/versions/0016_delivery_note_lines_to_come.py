"""Delivery notes keep the order's lines that did not ship with them and are still to come

Revision ID: 0016_lines_to_come
Revises: 0015_audit
Create Date: 2026-12-07 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_lines_to_come"
down_revision: str | None = "0015_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Notes issued before this revision have none recorded: they print as they always did.
    op.add_column("delivery_note", sa.Column("lines_to_come", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("delivery_note") as batch:
        batch.drop_column("lines_to_come")
