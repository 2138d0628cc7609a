"""Nothing left behind: the ERP invoice a return corrects, resolutions by a person

- `goods_return.invoice_reference`: the ERP invoice (billed before the outage) a return corrects.
- `deferred_document.corrected_erp_invoice`: that reference on the credit note of goods Carnet did not
  deliver; `deferred_document.void_reason`: why a person voided a document.
- `replay_item.resolved_by`, `resolved_at`, `resolution_note`: an item keyed into the ERP by hand or
  cancelled by a person.

Revision ID: 0008_replay_truth
Revises: 0007
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import UtcDateTime

revision: str = "0008_replay_truth"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("goods_return", sa.Column("invoice_reference", sa.String(length=35), nullable=True))
    op.add_column(
        "deferred_document", sa.Column("corrected_erp_invoice", sa.String(length=35), nullable=True)
    )
    op.add_column("deferred_document", sa.Column("void_reason", sa.String(length=500), nullable=True))
    op.add_column("replay_item", sa.Column("resolved_by", sa.String(length=64), nullable=True))
    op.add_column("replay_item", sa.Column("resolved_at", UtcDateTime(), nullable=True))
    op.add_column("replay_item", sa.Column("resolution_note", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("replay_item", "resolution_note")
    op.drop_column("replay_item", "resolved_at")
    op.drop_column("replay_item", "resolved_by")
    op.drop_column("deferred_document", "void_reason")
    op.drop_column("deferred_document", "corrected_erp_invoice")
    op.drop_column("goods_return", "invoice_reference")
