"""The replay outbox and its runs.

`replay_item`: one document to put into the ERP, with a stable idempotency key. Orders are keyed
`order:<number>`; a deferred invoice or credit note by its stored UUID; a monthly recap invoice by
`recap:<customer>:<YYYY-MM>:<n>`. Items enter the outbox when a run starts (see `outbox.sync_outbox`),
not at capture. The ERP document is built and frozen (`payload`, the exact bytes sent) when an item
is first claimed, so that every re-send carries the same body and the ERP recognises it.

`replay_dependency`: what must be acknowledged before an item may be sent (an invoice's orders, a
credit note's invoice). `replay_recap_member`: the deferred invoices a recap invoice covers.

`replay_run`: one replay. At most one is `running` (a partial unique index: the database refuses a
second, whatever the race); its `heartbeat_at` lets the next run take over from a crashed one.
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class ItemStatus(enum.StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    ACKNOWLEDGED = "acknowledged"  # by the ERP, or keyed into it by a person (`resolved_by` set)
    FAILED = "failed"
    DEAD = "dead"
    HELD = "held"  # Carnet cannot send it (a credit note with no invoice to correct): a person must
    CANCELLED = "cancelled"  # a person decided it does not go to the ERP, with a reason


class ItemScope(enum.StrEnum):
    INCLUDED = "included"
    EXCLUDED = "excluded"


# An item in one of these states needs nothing more; any other waits for the ERP or for a person.
SETTLED = (ItemStatus.ACKNOWLEDGED, ItemStatus.CANCELLED)


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"  # nothing left to send in its scope
    INCOMPLETE = "incomplete"  # ended with items failed, dead or blocked behind them
    FAILED = "failed"  # the run itself broke (database, connector configuration)
    ABANDONED = "abandoned"  # its heartbeat stopped (process killed): a later run took over


class ReplayRun(Base):
    __tablename__ = "replay_run"
    __table_args__ = (
        Index(
            "uq_replay_run_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    kinds: Mapped[list[Any]] = mapped_column(JSON)
    connector: Mapped[str] = mapped_column(String(16))
    workers: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Outcomes of this run's sends, counted as they are recorded.
    sent: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged: Mapped[int] = mapped_column(Integer, default=0)
    already_received: Mapped[int] = mapped_column(Integer, default=0)
    retried: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    dead: Mapped[int] = mapped_column(Integer, default=0)
    # The plan of a dry run, the reason of a failed run.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)


class ReplayItem(Base):
    __tablename__ = "replay_item"
    __table_args__ = (
        Index("ix_replay_item_claim", "status", "kind", "issued_at"),
        Index("ix_replay_item_recap", "customer_id", "period"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    reference: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"), unique=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("deferred_document.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id"), index=True)
    # When the document was captured or issued: claim order, hence the order of Carnet's final numbers.
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A recap invoice's month (`2026-11`).
    period: Mapped[str | None] = mapped_column(String(7))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    run_id: Mapped[int | None] = mapped_column(ForeignKey("replay_run.id"), index=True)
    # Who holds the item while it is in flight, and until when (a crashed worker's lease expires).
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The invoice number the customer gets: Carnet's outage series, or the ERP's own number.
    final_number: Mapped[str | None] = mapped_column(String(64))
    erp_reference: Mapped[str | None] = mapped_column(String(100))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A person's resolution: keyed into the ERP by hand (acknowledged, with the ERP's reference) or
    # cancelled; who, when and why.
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    # Finance's word on the run's scope, given after a dry run: `included` (sent although captured
    # outside the run's window), `excluded` (held back from every run until included again).
    scope: Mapped[str | None] = mapped_column(String(8))


class ReplayDependency(Base):
    __tablename__ = "replay_dependency"

    item_id: Mapped[int] = mapped_column(ForeignKey("replay_item.id", ondelete="CASCADE"), primary_key=True)
    needs_id: Mapped[int] = mapped_column(
        ForeignKey("replay_item.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ReplayRecapMember(Base):
    __tablename__ = "replay_recap_member"

    item_id: Mapped[int] = mapped_column(ForeignKey("replay_item.id", ondelete="CASCADE"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("deferred_document.id"), primary_key=True)
