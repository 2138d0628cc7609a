"""Documents a customer signs for and the tax office accepts: the buyer's SIREN, the default shipping
address, what a note says was already delivered, its parcels, carrier and tracking number

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Quantity

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("siren", sa.String(9), nullable=True))
    with op.batch_alter_table("shipping_address") as batch:
        batch.add_column(sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("delivery_note") as batch:
        batch.add_column(sa.Column("parcel_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("carrier", sa.String(100), nullable=True))
        batch.add_column(sa.Column("tracking_number", sa.String(100), nullable=True))
    with op.batch_alter_table("delivery_note_line") as batch:
        batch.add_column(
            sa.Column("previously_shipped_quantity", Quantity(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_note_line") as batch:
        batch.drop_column("previously_shipped_quantity")
    with op.batch_alter_table("delivery_note") as batch:
        batch.drop_column("tracking_number")
        batch.drop_column("carrier")
        batch.drop_column("parcel_count")
    with op.batch_alter_table("shipping_address") as batch:
        batch.drop_column("is_default")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("siren")
