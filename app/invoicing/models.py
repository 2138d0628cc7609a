"""Deferred invoices and credit notes: amounts frozen at issue, waiting to be replayed into the ERP.

They carry an internal reference from a gapless series of their own (`DI-2026-000001`,
`DC-2026-000001`), not a final invoice number: the replay decides who numbers the real invoice.
`idempotency_key` is generated once at issue and never changes, so that a replay sent twice is
recognised by the ERP.
"""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Customer
from app.db import Base, Id, Money, Rate, UtcDateTime
from app.delivery.models import DeliveryNote, GoodsReturn
from app.orders.models import PricedLineColumns, SaleOrder


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(enum.StrEnum):
    """`pending` until the replay freezes it for sending (`in_replay`: no longer voidable), then
    `replayed` once the ERP acknowledged it."""

    PENDING = "pending"
    VOID = "void"
    IN_REPLAY = "in_replay"
    REPLAYED = "replayed"


class DeferredDocument(Base):
    __tablename__ = "deferred_document"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    idempotency_key: Mapped[uuid.UUID] = mapped_column(Uuid(), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("sale_order.id"), index=True)
    delivery_note_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_note.id"), index=True)
    goods_return_id: Mapped[int | None] = mapped_column(ForeignKey("goods_return.id"), unique=True)
    # A credit note for goods Carnet delivered points at the deferred invoice of the note its first
    # line went back against (every invoice it corrects follows from its lines' delivery note lines).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("deferred_document.id"), index=True)
    # For goods Carnet did not deliver: the ERP invoice (billed before the outage) the credit note
    # corrects, as the return named it. Without it such a credit note waits for a person.
    corrected_erp_invoice: Mapped[str | None] = mapped_column(String(35))
    issue_date: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Why it was voided, when a person said so (a return cancelled, a document cancelled at replay).
    void_reason: Mapped[str | None] = mapped_column(String(500))
    net_total: Mapped[Decimal] = mapped_column(Money())
    vat_total: Mapped[Decimal] = mapped_column(Money())
    gross_total: Mapped[Decimal] = mapped_column(Money())
    vat_breakdown: Mapped[list[Any]] = mapped_column(JSON)
    # The number the customer's invoice finally bears (Carnet's outage series or the ERP's), set by
    # the replay; a recap invoice's number on every deferred invoice it covers.
    final_number: Mapped[str | None] = mapped_column(String(64), index=True)

    customer: Mapped[Customer] = relationship(lazy="raise")
    order: Mapped[SaleOrder | None] = relationship(lazy="raise")
    delivery_note: Mapped[DeliveryNote | None] = relationship(lazy="raise")
    goods_return: Mapped[GoodsReturn | None] = relationship(lazy="raise")
    invoice: Mapped["DeferredDocument | None"] = relationship(lazy="raise", remote_side=[id])
    lines: Mapped[list["DeferredDocumentLine"]] = relationship(
        back_populates="document", lazy="raise", order_by="DeferredDocumentLine.line_no"
    )


class DeferredDocumentLine(PricedLineColumns, Base):
    __tablename__ = "deferred_document_line"
    __table_args__ = (UniqueConstraint("document_id", "line_no"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("deferred_document.id", ondelete="CASCADE"))
    customer_discount_percent: Mapped[Decimal] = mapped_column(Rate())
    delivery_note_line_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_note_line.id"), index=True)
    goods_return_line_id: Mapped[int | None] = mapped_column(ForeignKey("goods_return_line.id"), index=True)

    document: Mapped[DeferredDocument] = relationship(back_populates="lines", lazy="raise")
