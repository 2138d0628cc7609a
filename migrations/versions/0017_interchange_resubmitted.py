"""A refused interchange names the interchange it was processed again as

Revision ID: 0017_resubmitted_as
Revises: 0016_lines_to_come
Create Date: 2026-12-08 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Id

revision: str = "0017_resubmitted_as"
down_revision: str | None = "0016_lines_to_come"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FOREIGN_KEY = "fk_edi_interchange_resubmitted_as_id_edi_interchange"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in one statement; a batch copy of the table would
        # drop a table that acknowledgments and envelope claims refer to.
        op.execute(
            "ALTER TABLE edi_interchange ADD COLUMN resubmitted_as_id INTEGER "
            f"CONSTRAINT {FOREIGN_KEY} REFERENCES edi_interchange (id)"
        )
        return
    op.add_column("edi_interchange", sa.Column("resubmitted_as_id", Id, nullable=True))
    op.create_foreign_key(FOREIGN_KEY, "edi_interchange", "edi_interchange", ["resubmitted_as_id"], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FOREIGN_KEY, "edi_interchange", type_="foreignkey")
    op.drop_column("edi_interchange", "resubmitted_as_id")
