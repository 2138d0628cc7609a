"""64-bit keys on PostgreSQL

Every primary key and every column referring to one becomes BIGINT (with its sequence): tables that
grow (orders, lines, documents, the outbox, interchanges) never run out of ids, and any id a client
sends in a path fits the column. SQLite's INTEGER PRIMARY KEY is already 64 bits: nothing changes there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS: dict[str, tuple[str, ...]] = {
    "app_user": ("id",),
    "customer": ("id",),
    "idempotency_record": ("id",),
    "incident": ("id",),
    "partner": ("id",),
    "product": ("id",),
    "snapshot_import": ("id",),
    "stock_receipt": ("id",),
    "edi_interchange": ("id", "partner_id", "duplicate_of_id"),
    "partner_customer": ("partner_id", "customer_id"),
    "partner_item": ("id", "partner_id", "product_id"),
    "replay_run": ("id", "incident_id"),
    "sale_order": ("id", "customer_id"),
    "shipping_address": ("id", "customer_id"),
    "stock_receipt_line": ("id", "receipt_id", "product_id"),
    "delivery_note": ("id", "order_id", "customer_id"),
    "edi_acknowledgment": ("id", "interchange_id"),
    "edi_envelope_claim": ("id", "partner_id", "interchange_id"),
    "partner_party": ("id", "partner_id", "customer_id", "shipping_address_id"),
    "sale_order_line": ("id", "order_id", "product_id"),
    "delivery_note_line": ("id", "delivery_note_id", "order_line_id", "product_id"),
    "goods_return": ("id", "customer_id", "delivery_note_id"),
    "deferred_document": (
        "id",
        "customer_id",
        "order_id",
        "delivery_note_id",
        "goods_return_id",
        "invoice_id",
    ),
    "goods_return_line": ("id", "return_id", "product_id", "delivery_note_line_id"),
    "deferred_document_line": (
        "id",
        "document_id",
        "delivery_note_line_id",
        "goods_return_line_id",
        "product_id",
    ),
    "replay_item": ("id", "order_id", "document_id", "customer_id", "incident_id", "run_id"),
    "replay_dependency": ("item_id", "needs_id"),
    "replay_recap_member": ("item_id", "document_id"),
}
SEQUENCES = (
    "app_user",
    "customer",
    "idempotency_record",
    "incident",
    "partner",
    "product",
    "snapshot_import",
    "stock_receipt",
    "edi_interchange",
    "partner_item",
    "replay_run",
    "sale_order",
    "shipping_address",
    "stock_receipt_line",
    "delivery_note",
    "edi_acknowledgment",
    "edi_envelope_claim",
    "partner_party",
    "sale_order_line",
    "delivery_note_line",
    "goods_return",
    "deferred_document",
    "goods_return_line",
    "deferred_document_line",
    "replay_item",
)


def _retype(column_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in KEYS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {column_type}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    for table in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS {column_type}")


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")
