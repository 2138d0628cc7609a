"""replay: incidents, the replay outbox (items, dependencies, recap members) and runs; the final
number of deferred documents

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:08:37.737045
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from app.db import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("declared_at", UtcDateTime(), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.Column("ended_by", sa.String(length=64), nullable=True),
        sa.Column("replayed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident")),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_started_at"), ["started_at"], unique=False)
        batch_op.create_index(
            "uq_incident_is_open",
            ["is_open"],
            unique=True,
            sqlite_where=sa.text("is_open"),
            postgresql_where=sa.text("is_open"),
        )

    op.create_table(
        "replay_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("connector", sa.String(length=16), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.Column("already_received", sa.Integer(), nullable=False),
        sa.Column("retried", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("dead", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_replay_run_incident_id_incident")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_run")),
    )
    with op.batch_alter_table("replay_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replay_run_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replay_run_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_replay_run_running",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "replay_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", UtcDateTime(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("final_number", sa.String(length=64), nullable=True),
        sa.Column("erp_reference", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customer.id"], name=op.f("fk_replay_item_customer_id_customer")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["deferred_document.id"],
            name=op.f("fk_replay_item_document_id_deferred_document"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incident.id"], name=op.f("fk_replay_item_incident_id_incident")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["sale_order.id"], name=op.f("fk_replay_item_order_id_sale_order")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["replay_run.id"], name=op.f("fk_replay_item_run_id_replay_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replay_item")),
        sa.UniqueConstraint("document_id", name=op.f("uq_replay_item_document_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_replay_item_idempotency_key")),
        sa.UniqueConstraint("order_id", name=op.f("uq_replay_item_order_id")),
    )
    with op.batch_alter_table("replay_item", schema=None) as batch_op:
        batch_op.create_index("ix_replay_item_claim", ["status", "kind", "issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_replay_item_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_replay_item_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_replay_item_recap", ["customer_id", "period"], unique=False)
        batch_op.create_index(batch_op.f("ix_replay_item_run_id"), ["run_id"], unique=False)

    op.create_table(
        "replay_dependency",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("needs_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["replay_item.id"],
            name=op.f("fk_replay_dependency_item_id_replay_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["needs_id"],
            ["replay_item.id"],
            name=op.f("fk_replay_dependency_needs_id_replay_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "needs_id", name=op.f("pk_replay_dependency")),
    )
    with op.batch_alter_table("replay_dependency", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replay_dependency_needs_id"), ["needs_id"], unique=False)

    op.create_table(
        "replay_recap_member",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["deferred_document.id"],
            name=op.f("fk_replay_recap_member_document_id_deferred_document"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["replay_item.id"],
            name=op.f("fk_replay_recap_member_item_id_replay_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_replay_recap_member")),
    )
    with op.batch_alter_table("replay_recap_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replay_recap_member_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("deferred_document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final_number", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_deferred_document_final_number"), ["final_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deferred_document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deferred_document_final_number"))
        batch_op.drop_column("final_number")

    with op.batch_alter_table("replay_recap_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replay_recap_member_item_id"))

    op.drop_table("replay_recap_member")
    with op.batch_alter_table("replay_dependency", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replay_dependency_needs_id"))

    op.drop_table("replay_dependency")
    with op.batch_alter_table("replay_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replay_item_run_id"))
        batch_op.drop_index("ix_replay_item_recap")
        batch_op.drop_index(batch_op.f("ix_replay_item_incident_id"))
        batch_op.drop_index(batch_op.f("ix_replay_item_customer_id"))
        batch_op.drop_index("ix_replay_item_claim")

    op.drop_table("replay_item")
    with op.batch_alter_table("replay_run", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_replay_run_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index(batch_op.f("ix_replay_run_status"))
        batch_op.drop_index(batch_op.f("ix_replay_run_incident_id"))

    op.drop_table("replay_run")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_incident_is_open", sqlite_where=sa.text("is_open"), postgresql_where=sa.text("is_open")
        )
        batch_op.drop_index(batch_op.f("ix_incident_started_at"))

    op.drop_table("incident")
