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


def upgrade() -> None:
    with op.batch_alter_table("edi_interchange") as batch:
        batch.add_column(sa.Column("resubmitted_as_id", Id, nullable=True))
        batch.create_foreign_key(
            op.f("fk_edi_interchange_resubmitted_as_id_edi_interchange"),
            "edi_interchange",
            ["resubmitted_as_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("edi_interchange") as batch:
        batch.drop_constraint(op.f("fk_edi_interchange_resubmitted_as_id_edi_interchange"), type_="foreignkey")
        batch.drop_column("resubmitted_as_id")
