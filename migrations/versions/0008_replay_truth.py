"""Nothing left behind: the ERP invoice a return corrects, resolutions by a person

- `goods_return.invoice_reference`: the ERP invoice (billed before the outage) a return corrects;
  `cancelled_at`, `cancelled_by`, `cancel_reason`: a return cancelled before its replay.
- `deferred_document.corrected_erp_invoice`: that reference on the credit note of goods Carnet did not
  deliver; `deferred_document.void_reason`: why a person voided a document.
- `replay_item.resolved_by`, `resolved_at`, `resolution_note`: an item keyed into the ERP by hand or
  cancelled by a person; `replay_item.scope`: finance's inclusions and exclusions after a dry run.
- `sale_order_line.closed_quantity`: what the customer gave up of a backorder.
- `stock_movement`: what left and came in, so that a dated stock figure from the ERP is brought up to
  now; filled from the shipments, voids, receipts and returns recorded so far.

Revision ID: 0008_replay_truth
Revises: 0007
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import ExactDecimal, UtcDateTime

revision: str = "0008_replay_truth"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("goods_return", sa.Column("invoice_reference", sa.String(length=35), nullable=True))
    op.add_column("goods_return", sa.Column("cancelled_at", UtcDateTime(), nullable=True))
    op.add_column("goods_return", sa.Column("cancelled_by", sa.String(length=64), nullable=True))
    op.add_column("goods_return", sa.Column("cancel_reason", sa.String(length=500), nullable=True))
    op.add_column(
        "deferred_document", sa.Column("corrected_erp_invoice", sa.String(length=35), nullable=True)
    )
    op.add_column("deferred_document", sa.Column("void_reason", sa.String(length=500), nullable=True))
    op.add_column("replay_item", sa.Column("resolved_by", sa.String(length=64), nullable=True))
    op.add_column("replay_item", sa.Column("resolved_at", UtcDateTime(), nullable=True))
    op.add_column("replay_item", sa.Column("resolution_note", sa.String(length=500), nullable=True))
    op.add_column("replay_item", sa.Column("scope", sa.String(length=8), nullable=True))
    op.add_column(
        "sale_order_line",
        sa.Column("closed_quantity", ExactDecimal(14, 3), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "stock_movement",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("moved_at", UtcDateTime(), nullable=False),
        sa.Column("quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], name=op.f("fk_stock_movement_product_id_product")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    op.create_index("ix_stock_movement_product_moved", "stock_movement", ["product_id", "moved_at"])
    # What was recorded before the ledger existed.
    op.execute(
        "INSERT INTO stock_movement (product_id, moved_at, quantity, kind, reference, recorded_by)"
        " SELECT l.product_id, n.issued_at, -l.quantity, 'shipment', n.number, n.issued_by"
        " FROM delivery_note_line l JOIN delivery_note n ON n.id = l.delivery_note_id"
    )
    op.execute(
        "INSERT INTO stock_movement (product_id, moved_at, quantity, kind, reference, recorded_by)"
        " SELECT l.product_id, n.voided_at, l.quantity, 'void', n.number, COALESCE(n.voided_by, '')"
        " FROM delivery_note_line l JOIN delivery_note n ON n.id = l.delivery_note_id"
        " WHERE n.voided_at IS NOT NULL"
    )
    op.execute(
        "INSERT INTO stock_movement (product_id, moved_at, quantity, kind, reference, recorded_by)"
        " SELECT l.product_id, r.received_at, l.quantity, 'receipt', r.reference, r.received_by"
        " FROM stock_receipt_line l JOIN stock_receipt r ON r.id = l.receipt_id"
    )
    op.execute(
        "INSERT INTO stock_movement (product_id, moved_at, quantity, kind, reference, recorded_by)"
        " SELECT l.product_id, r.recorded_at, l.quantity, 'return', r.number, r.recorded_by"
        " FROM goods_return_line l JOIN goods_return r ON r.id = l.return_id"
    )


def downgrade() -> None:
    op.drop_column("sale_order_line", "closed_quantity")
    op.drop_index("ix_stock_movement_product_moved", table_name="stock_movement")
    op.drop_table("stock_movement")
    op.drop_column("replay_item", "scope")
    op.drop_column("replay_item", "resolution_note")
    op.drop_column("replay_item", "resolved_at")
    op.drop_column("replay_item", "resolved_by")
    op.drop_column("deferred_document", "void_reason")
    op.drop_column("deferred_document", "corrected_erp_invoice")
    op.drop_column("goods_return", "cancel_reason")
    op.drop_column("goods_return", "cancelled_by")
    op.drop_column("goods_return", "cancelled_at")
    op.drop_column("goods_return", "invoice_reference")
