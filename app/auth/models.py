"""People who sign in (sales reps, warehouse, finance, admins)."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class Role(enum.StrEnum):
    REP = "rep"
    WAREHOUSE = "warehouse"
    FINANCE = "finance"
    ADMIN = "admin"
    SUPPLIER = "supplier"  # read-only: its own titles and their report


# The distributor's own people: they read incidents' reasons, who declared them, and finance's warnings.
STAFF_ROLES = frozenset({Role.REP, Role.WAREHOUSE, Role.FINANCE, Role.ADMIN})


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    supplier_code: Mapped[str | None] = mapped_column(String(32))  # the supplier a `supplier` user is of
    # Carried by every token and desk session of the user, checked on every request: raising it (sign-out,
    # deactivation, a new role or password) ends them all at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Partner(Base):
    """An EDI partner or API client: authenticates with an API key, sees only its own customers.

    API keys are 256-bit random tokens, so a fast hash (SHA-256) is enough to store them: argon2 is for
    low-entropy passwords, and would cost tens of milliseconds on every partner request.
    """

    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The partner's CSV column layout (app.edi.csv_orders.CsvProfile as JSON); None: built-in layouts.
    csv_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PartnerCustomer(Base):
    __tablename__ = "partner_customer"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)


class ThrottleCounter(Base):
    """Failures counted for one subject of one scope (app/auth/throttle.py): an (account, address) pair,
    an address, an account, an address sending API keys. In the database, so that every worker process
    and every instance counts the same failures."""

    __tablename__ = "auth_throttle"
    __table_args__ = (UniqueConstraint("scope", "subject"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # For a pair: when the account last signed in from that address (a lock of the account spares it).
    signed_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)  # forgotten after that
