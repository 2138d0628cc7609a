"""Revocable sessions and sign-in throttling shared by every worker process

* `app_user.session_version`: the version every token and desk session of the user carries; raised by
  sign-out, deactivation, a role or password change, which end them all at once.
* `auth_throttle`: failed sign-ins and unknown API keys counted per (account, address), per address
  and per account, with the lock they led to; the addresses an account signed in from.

Revision ID: 0014_auth_sessions
Revises: 0009_edi_partners
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.db import Id, UtcDateTime

revision: str = "0014_auth_sessions"
down_revision: str | None = "0009_edi_partners"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "auth_throttle",
        sa.Column("id", Id, nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", UtcDateTime(), nullable=True),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("signed_in_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_throttle")),
        sa.UniqueConstraint("scope", "subject", name=op.f("uq_auth_throttle_scope")),
    )
    op.create_index(op.f("ix_auth_throttle_expires_at"), "auth_throttle", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_auth_throttle_expires_at"), table_name="auth_throttle")
    op.drop_table("auth_throttle")
    op.drop_column("app_user", "session_version")
