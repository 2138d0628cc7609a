"""The web desk: customers' status links, the email an order was keyed from, the title index

Revision ID: 0010
Revises: 0008_replay_truth
Create Date: 2026-12-07 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Id, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0008_replay_truth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_status_link",
        sa.Column("id", Id, nullable=False),
        sa.Column("order_id", Id, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["sale_order.id"],
            name=op.f("fk_order_status_link_order_id_sale_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_status_link")),
        sa.UniqueConstraint("token", name=op.f("uq_order_status_link_token")),
    )
    op.create_index(op.f("ix_order_status_link_order_id"), "order_status_link", ["order_id"])
    with op.batch_alter_table("sale_order") as batch:
        batch.add_column(sa.Column("email_text", sa.Text(), nullable=True))
    op.create_index(op.f("ix_product_name"), "product", ["name"])
    _title_search_up()


def _title_search_up() -> None:
    """The desk's title search answers from an index, whatever is typed (three letters or more):
    SQLite's FTS5 with trigrams, kept by triggers; PostgreSQL's trigram index, which ILIKE uses."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE product_search USING fts5("
            "name, content='product', content_rowid='id', tokenize='trigram')"
        )
        op.execute("INSERT INTO product_search(product_search) VALUES ('rebuild')")
        op.execute(
            "CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN "
            "INSERT INTO product_search(rowid, name) VALUES (new.id, new.name); END"
        )
        op.execute(
            "CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN "
            "INSERT INTO product_search(product_search, rowid, name) VALUES ('delete', old.id, old.name); END"
        )
        op.execute(
            "CREATE TRIGGER product_search_update AFTER UPDATE OF name ON product BEGIN "
            "INSERT INTO product_search(product_search, rowid, name) VALUES ('delete', old.id, old.name); "
            "INSERT INTO product_search(rowid, name) VALUES (new.id, new.name); END"
        )
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_product_name_trigram ON product USING gin (name gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER product_search_{trigger}")
        op.execute("DROP TABLE product_search")
    else:
        op.execute("DROP INDEX ix_product_name_trigram")
    op.drop_index(op.f("ix_product_name"), table_name="product")
    with op.batch_alter_table("sale_order") as batch:
        batch.drop_column("email_text")
    op.drop_index(op.f("ix_order_status_link_order_id"), table_name="order_status_link")
    op.drop_table("order_status_link")
