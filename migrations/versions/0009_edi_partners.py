"""EDI partners: every line kept, partner profiles, the EDI side of an order, the outbox

* `sale_order_unresolved_line`: a line a partner sent that is not (yet) an order line, as sent.
* `edi_partner_profile`: how a partner's files are read (format, character set) and what it gets back.
* `edi_interchange.charset`: what the bytes were read as.
* `edi_order`: the EDI side of an order (partner, interchange, envelope, lines as sent).
* `edi_acknowledgment.partner_id`, `.delivery_note_number`: the outbox of every document for a partner.

Revision ID: 0009_edi_partners
Revises: 0013
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_edi_partners"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sale_order_unresolved_line",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("external_line_no", sa.String(length=35), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("unit_price", sa.String(length=40), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        sa.Column("product_id", ID, nullable=True),
        sa.Column("product_code", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_line_no", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sale_order.id"],
            name=op.f("fk_sale_order_unresolved_line_order_id_sale_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["product.id"], name=op.f("fk_sale_order_unresolved_line_product_id_product")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_order_unresolved_line")),
        sa.UniqueConstraint("order_id", "position", name=op.f("uq_sale_order_unresolved_line_order_id")),
    )
    op.create_table(
        "edi_partner_profile",
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("format", sa.String(length=10), nullable=True),
        sa.Column("charset", sa.String(length=30), nullable=True),
        sa.Column("despatch_advice", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
            name=op.f("fk_edi_partner_profile_partner_id_partner"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("partner_id", name=op.f("pk_edi_partner_profile")),
    )
    with op.batch_alter_table("edi_interchange") as batch_op:
        batch_op.add_column(sa.Column("charset", sa.String(length=20), nullable=True))
    op.create_table(
        "edi_order",
        sa.Column("order_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=False),
        sa.Column("interchange_id", ID, nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["interchange_id"], ["edi_interchange.id"], name=op.f("fk_edi_order_interchange_id_edi_interchange")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_edi_order_order_id_sale_order"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partner.id"], name=op.f("fk_edi_order_partner_id_partner"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_edi_order")),
    )
    with op.batch_alter_table("edi_order") as batch_op:
        batch_op.create_index(batch_op.f("ix_edi_order_interchange_id"), ["interchange_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_edi_order_partner_id"), ["partner_id"], unique=False)
    with op.batch_alter_table("edi_acknowledgment") as batch_op:
        batch_op.add_column(sa.Column("partner_id", ID, nullable=True))
        batch_op.add_column(sa.Column("delivery_note_number", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_edi_acknowledgment_partner_id_partner"),
            "partner",
            ["partner_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index("ix_edi_acknowledgment_partner_outbox", ["partner_id", "id"], unique=False)
    op.execute(
        "UPDATE edi_acknowledgment SET partner_id = (SELECT partner_id FROM edi_interchange "
        "WHERE edi_interchange.id = edi_acknowledgment.interchange_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("edi_acknowledgment") as batch_op:
        batch_op.drop_index("ix_edi_acknowledgment_partner_outbox")
        batch_op.drop_constraint(batch_op.f("fk_edi_acknowledgment_partner_id_partner"), type_="foreignkey")
        batch_op.drop_column("delivery_note_number")
        batch_op.drop_column("partner_id")
    op.drop_table("edi_order")
    with op.batch_alter_table("edi_interchange") as batch_op:
        batch_op.drop_column("charset")
    op.drop_table("edi_partner_profile")
    op.drop_table("sale_order_unresolved_line")
