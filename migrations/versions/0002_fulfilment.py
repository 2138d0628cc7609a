"""fulfilment: delivery notes, stock receipts, returns, deferred invoices and credit notes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:48:46.366769
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from app.db import ExactDecimal
from app.db import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stock_receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_receipt")),
    )
    with op.batch_alter_table("stock_receipt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_receipt_received_at"), ["received_at"], unique=False)

    op.create_table(
        "stock_receipt_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", ExactDecimal(14, 3), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_stock_receipt_line_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["stock_receipt.id"],
            name=op.f("fk_stock_receipt_line_receipt_id_stock_receipt"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_receipt_line")),
    )
    with op.batch_alter_table("stock_receipt_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_receipt_line_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_receipt_line_receipt_id"), ["receipt_id"], unique=False)

    op.create_table(
        "delivery_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("shipping_address", sa.JSON(), nullable=False),
        sa.Column("show_prices", sa.Boolean(), nullable=False),
        sa.Column("customer_discount_percent", ExactDecimal(5, 2), nullable=False),
        sa.Column("net_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("vat_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("gross_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("vat_breakdown", sa.JSON(), nullable=False),
        sa.Column("print_count", sa.Integer(), nullable=False),
        sa.Column("first_printed_at", UtcDateTime(), nullable=True),
        sa.Column("last_printed_at", UtcDateTime(), nullable=True),
        sa.Column("voided_at", UtcDateTime(), nullable=True),
        sa.Column("voided_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_delivery_note_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_delivery_note_order_id_sale_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_note")),
        sa.UniqueConstraint("number", name=op.f("uq_delivery_note_number")),
    )
    with op.batch_alter_table("delivery_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_note_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_note_issue_date"), ["issue_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_note_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_note_status"), ["status"], unique=False)

    op.create_table(
        "delivery_note_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_note_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("order_line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("ordered_quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("backordered_quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("unit_price", ExactDecimal(12, 4), nullable=False),
        sa.Column("price_includes_vat", sa.Boolean(), nullable=False),
        sa.Column("discount_percent", ExactDecimal(5, 2), nullable=False),
        sa.Column("vat_rate", ExactDecimal(5, 2), nullable=False),
        sa.Column("line_amount", ExactDecimal(12, 2), nullable=False),
        sa.Column("net_amount", ExactDecimal(12, 2), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_note_id"],
            ["delivery_note.id"],
            name=op.f("fk_delivery_note_line_delivery_note_id_delivery_note"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["sale_order_line.id"],
            name=op.f("fk_delivery_note_line_order_line_id_sale_order_line"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_delivery_note_line_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_note_line")),
        sa.UniqueConstraint(
            "delivery_note_id", "line_no", name=op.f("uq_delivery_note_line_delivery_note_id")
        ),
    )
    with op.batch_alter_table("delivery_note_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_note_line_order_line_id"), ["order_line_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_note_line_product_id"), ["product_id"], unique=False)

    op.create_table(
        "goods_return",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("delivery_note_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_goods_return_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_note_id"],
            ["delivery_note.id"],
            name=op.f("fk_goods_return_delivery_note_id_delivery_note"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_return")),
        sa.UniqueConstraint("number", name=op.f("uq_goods_return_number")),
    )
    with op.batch_alter_table("goods_return", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goods_return_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_goods_return_delivery_note_id"), ["delivery_note_id"], unique=False
        )

    op.create_table(
        "deferred_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("delivery_note_id", sa.Integer(), nullable=True),
        sa.Column("goods_return_id", sa.Integer(), nullable=True),
        sa.Column("invoice_id", sa.Integer(), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("voided_at", UtcDateTime(), nullable=True),
        sa.Column("net_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("vat_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("gross_total", ExactDecimal(12, 2), nullable=False),
        sa.Column("vat_breakdown", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_deferred_document_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_note_id"],
            ["delivery_note.id"],
            name=op.f("fk_deferred_document_delivery_note_id_delivery_note"),
        ),
        sa.ForeignKeyConstraint(
            ["goods_return_id"],
            ["goods_return.id"],
            name=op.f("fk_deferred_document_goods_return_id_goods_return"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["deferred_document.id"],
            name=op.f("fk_deferred_document_invoice_id_deferred_document"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_deferred_document_order_id_sale_order")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_document")),
        sa.UniqueConstraint("goods_return_id", name=op.f("uq_deferred_document_goods_return_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_deferred_document_idempotency_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_deferred_document_reference")),
    )
    with op.batch_alter_table("deferred_document", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deferred_document_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deferred_document_delivery_note_id"), ["delivery_note_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deferred_document_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deferred_document_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_deferred_document_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deferred_document_status"), ["status"], unique=False)

    op.create_table(
        "goods_return_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("delivery_note_line_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_note_line_id"],
            ["delivery_note_line.id"],
            name=op.f("fk_goods_return_line_delivery_note_line_id_delivery_note_line"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_goods_return_line_product_id_product")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"],
            ["goods_return.id"],
            name=op.f("fk_goods_return_line_return_id_goods_return"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goods_return_line")),
        sa.UniqueConstraint("return_id", "line_no", name=op.f("uq_goods_return_line_return_id")),
    )
    with op.batch_alter_table("goods_return_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_goods_return_line_delivery_note_line_id"), ["delivery_note_line_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_goods_return_line_product_id"), ["product_id"], unique=False)

    op.create_table(
        "deferred_document_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("product_code", sa.String(length=32), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", ExactDecimal(14, 3), nullable=False),
        sa.Column("unit_price", ExactDecimal(12, 4), nullable=False),
        sa.Column("price_includes_vat", sa.Boolean(), nullable=False),
        sa.Column("discount_percent", ExactDecimal(5, 2), nullable=False),
        sa.Column("customer_discount_percent", ExactDecimal(5, 2), nullable=False),
        sa.Column("vat_rate", ExactDecimal(5, 2), nullable=False),
        sa.Column("line_amount", ExactDecimal(12, 2), nullable=False),
        sa.Column("net_amount", ExactDecimal(12, 2), nullable=False),
        sa.Column("delivery_note_line_id", sa.Integer(), nullable=True),
        sa.Column("goods_return_line_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_note_line_id"],
            ["delivery_note_line.id"],
            name=op.f("fk_deferred_document_line_delivery_note_line_id_delivery_note_line"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["deferred_document.id"],
            name=op.f("fk_deferred_document_line_document_id_deferred_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["goods_return_line_id"],
            ["goods_return_line.id"],
            name=op.f("fk_deferred_document_line_goods_return_line_id_goods_return_line"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_deferred_document_line_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deferred_document_line")),
        sa.UniqueConstraint("document_id", "line_no", name=op.f("uq_deferred_document_line_document_id")),
    )
    with op.batch_alter_table("deferred_document_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deferred_document_line_delivery_note_line_id"),
            ["delivery_note_line_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deferred_document_line_goods_return_line_id"),
            ["goods_return_line_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deferred_document_line_product_id"), ["product_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deferred_document_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_document_line_product_id"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_line_goods_return_line_id"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_line_delivery_note_line_id"))

    op.drop_table("deferred_document_line")
    with op.batch_alter_table("goods_return_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_return_line_product_id"))
        batch_op.drop_index(batch_op.f("ix_goods_return_line_delivery_note_line_id"))

    op.drop_table("goods_return_line")
    with op.batch_alter_table("deferred_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_document_status"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_order_id"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_kind"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_delivery_note_id"))
        batch_op.drop_index(batch_op.f("ix_deferred_document_customer_id"))

    op.drop_table("deferred_document")
    with op.batch_alter_table("goods_return", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goods_return_delivery_note_id"))
        batch_op.drop_index(batch_op.f("ix_goods_return_customer_id"))

    op.drop_table("goods_return")
    with op.batch_alter_table("delivery_note_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_note_line_product_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_note_line_order_line_id"))

    op.drop_table("delivery_note_line")
    with op.batch_alter_table("delivery_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_note_status"))
        batch_op.drop_index(batch_op.f("ix_delivery_note_order_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_note_issue_date"))
        batch_op.drop_index(batch_op.f("ix_delivery_note_customer_id"))

    op.drop_table("delivery_note")
    with op.batch_alter_table("stock_receipt_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_receipt_line_receipt_id"))
        batch_op.drop_index(batch_op.f("ix_stock_receipt_line_product_id"))

    op.drop_table("stock_receipt_line")
    with op.batch_alter_table("stock_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_receipt_received_at"))

    op.drop_table("stock_receipt")
