"""The audit trail's tables: the records, and the head of their hash chain.

A record's id is its place in the chain, given when its transaction commits (`app.audit.chain`): ids
are gapless and in commit order, and each record carries the hash of the one before it. A record is
written once and never updated; nothing in Carnet deletes one.
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime

GENESIS = "0" * 64  # the "previous hash" of the first record


class Action(enum.StrEnum):
    """What happened, in the business's words (the desk shows them in French or English)."""

    SIGNED_IN = "user.signed_in"
    SIGN_IN_FAILED = "user.sign_in_failed"
    USER_CREATED = "user.created"
    USER_CHANGED = "user.changed"  # details.change: role, deactivate, activate, password, sign-out, unlock
    SIGNED_OUT = "user.signed_out"
    PARTNER_CREATED = "partner.created"
    PARTNER_PROFILE_SET = "partner.profile_set"
    PARTNER_CSV_PROFILE_SET = "partner.csv_profile_set"
    PARTY_MAPPED = "partner.party_mapped"
    ITEM_MAPPED = "partner.item_mapped"
    INTERCHANGE_RESUBMITTED = "edi.interchange_resubmitted"
    SUPPLIER_CONTACT_ADDED = "supplier.contact_added"
    CUSTOMER_SAVED = "customer.saved"
    PRODUCT_SAVED = "product.saved"
    MASTER_DATA_IMPORTED = "master_data.imported"
    ORDER_CAPTURED = "order.captured"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_ACCEPTED = "order.accepted"
    ORDER_LINE_MAPPED = "order.line_mapped"
    ORDER_LINE_CORRECTED = "order.line_corrected"
    ORDER_LINE_REMOVED = "order.line_removed"
    BACKORDER_CLOSED = "order.backorder_closed"
    DELIVERY_NOTE_ISSUED = "delivery_note.issued"
    DELIVERY_NOTE_PRINTED = "delivery_note.printed"
    DELIVERY_NOTE_VOIDED = "delivery_note.voided"
    RETURN_RECORDED = "return.recorded"
    RETURN_CANCELLED = "return.cancelled"
    STOCK_RECEIVED = "stock.received"
    STOCK_COUNTED = "stock.counted"
    EMAIL_TAKEN = "email.taken"
    EMAIL_NOT_AN_ORDER = "email.not_an_order"
    INCIDENT_STARTED = "incident.started"
    INCIDENT_ENDED = "incident.ended"
    REPLAY_RUN_STARTED = "replay.run_started"
    REPLAY_SCOPE_CHANGED = "replay.scope_changed"
    DOCUMENT_SENT = "replay.document_sent"
    DOCUMENT_ACKNOWLEDGED = "replay.document_acknowledged"
    DOCUMENT_RETRIED = "replay.document_retried"
    DOCUMENT_RESOLVED = "replay.document_resolved"


class AuditRecord(Base):
    __tablename__ = "audit_record"
    __table_args__ = (
        Index("ix_audit_record_subject", "subject_kind", "subject_ref"),
        Index("ix_audit_record_actor_name", "actor_name"),
        Index("ix_audit_record_action", "action"),
        Index("ix_audit_record_recorded_at", "recorded_at"),
    )

    # Its place in the chain: assigned at commit, never by a sequence (see the module's docstring).
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor_kind: Mapped[str] = mapped_column(String(16))  # user | partner | system | command_line | anonymous
    actor_id: Mapped[int | None] = mapped_column(BigInteger)  # a user's or a partner's id
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(30))
    subject_ref: Mapped[str] = mapped_column(String(100))  # a document's number, a code, an id
    details: Mapped[dict[str, Any]]
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the last record of the chain. Locked by each transaction that adds records, for the
    moment of its commit only."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
