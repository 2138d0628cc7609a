"""Suppliers: a product's supplier (publisher, brand), and users tied to one supplier

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("product", sa.Column("supplier_code", sa.String(32), nullable=True))
    op.add_column("product", sa.Column("supplier_name", sa.String(200), nullable=True))
    op.create_index(op.f("ix_product_supplier_code"), "product", ["supplier_code"])
    op.add_column("app_user", sa.Column("supplier_code", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("app_user", "supplier_code")
    op.drop_index(op.f("ix_product_supplier_code"), table_name="product")
    op.drop_column("product", "supplier_name")
    op.drop_column("product", "supplier_code")
