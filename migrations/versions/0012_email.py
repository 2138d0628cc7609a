"""Orders by email: the inbox, its attachments, the orders made from a message; customer notices

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Id, UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox_message",
        sa.Column("id", Id, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("sender_name", sa.String(200), nullable=False),
        sa.Column("sender_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("customer_id", Id, nullable=True),
        sa.Column("customer_match", sa.String(12), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("taken_by", sa.String(80), nullable=True),
        sa.Column("taken_at", UtcDateTime(), nullable=True),
        sa.Column("not_an_order_reason", sa.String(500), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_inbox_message_customer_id_customer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_message")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_inbox_message_content_hash")),
    )
    for column in ("message_id", "sender_address", "received_at", "customer_id", "state"):
        op.create_index(op.f(f"ix_inbox_message_{column}"), "inbox_message", [column])
    op.create_table(
        "inbox_attachment",
        sa.Column("id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("declared_type", sa.String(100), nullable=False),
        sa.Column("detected_type", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_message.id"],
            name=op.f("fk_inbox_attachment_message_id_inbox_message"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_attachment")),
    )
    op.create_index(op.f("ix_inbox_attachment_message_id"), "inbox_attachment", ["message_id"])
    op.create_table(
        "inbox_message_order",
        sa.Column("message_id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["inbox_message.id"],
            name=op.f("fk_inbox_message_order_message_id_inbox_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sale_order.id"],
            name=op.f("fk_inbox_message_order_order_id_sale_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "order_id", name=op.f("pk_inbox_message_order")),
    )
    op.create_index(op.f("ix_inbox_message_order_order_id"), "inbox_message_order", ["order_id"])
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("email_notices", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "customer_notice",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("about_id", Id, nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sale_order.id"],
            name=op.f("fk_customer_notice_order_id_sale_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notice")),
        sa.UniqueConstraint("kind", "order_id", "about_id", name=op.f("uq_customer_notice_kind")),
    )
    op.create_index(op.f("ix_customer_notice_order_id"), "customer_notice", ["order_id"])
    op.create_index(op.f("ix_customer_notice_status"), "customer_notice", ["status"])


def downgrade() -> None:
    op.drop_table("customer_notice")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("email_notices")
    op.drop_table("inbox_message_order")
    op.drop_table("inbox_attachment")
    op.drop_table("inbox_message")
