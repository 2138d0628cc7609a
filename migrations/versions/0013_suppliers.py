"""Suppliers: a product's supplier (publisher, brand), and users tied to one supplier

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Id, UtcDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product", sa.Column("supplier_code", sa.String(32), nullable=True))
    op.add_column("product", sa.Column("supplier_name", sa.String(200), nullable=True))
    op.create_index(op.f("ix_product_supplier_code"), "product", ["supplier_code"])
    op.add_column("app_user", sa.Column("supplier_code", sa.String(32), nullable=True))
    op.create_table(
        "supplier_contact",
        sa.Column("id", Id, nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_contact")),
        sa.UniqueConstraint("supplier_code", "email", name=op.f("uq_supplier_contact_supplier_code")),
    )
    op.create_index(op.f("ix_supplier_contact_supplier_code"), "supplier_contact", ["supplier_code"])
    op.create_table(
        "supplier_report_mail",
        sa.Column("id", Id, nullable=False),
        sa.Column("supplier_code", sa.String(32), nullable=False),
        sa.Column("period_key", sa.String(40), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachment_name", sa.String(100), nullable=False),
        sa.Column("attachment", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_report_mail")),
        sa.UniqueConstraint(
            "supplier_code", "period_key", "recipient", name=op.f("uq_supplier_report_mail_supplier_code")
        ),
    )
    op.create_index(op.f("ix_supplier_report_mail_status"), "supplier_report_mail", ["status"])


def downgrade() -> None:
    op.drop_table("supplier_report_mail")
    op.drop_table("supplier_contact")
    op.drop_column("app_user", "supplier_code")
    op.drop_index(op.f("ix_product_supplier_code"), table_name="product")
    op.drop_column("product", "supplier_name")
    op.drop_column("product", "supplier_code")
