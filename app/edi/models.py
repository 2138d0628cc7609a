"""EDI partners' interchanges as received, the acknowledgments sent back, and partner mappings."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Id, UtcDateTime


class InterchangeStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not processed yet (or processing crashed: reprocess it)
    ACCEPTED = "accepted"  # every order message became an order
    PARTIALLY_ACCEPTED = "partially_accepted"  # some messages were refused, the others are orders
    REJECTED = "rejected"  # refused as a whole (syntax), or no message could become an order
    DUPLICATE = "duplicate"  # a resend of an accepted interchange: nothing created


class EdiInterchange(Base):
    """One transmission, stored byte for byte before anything else is done with it.

    `content_key` and `control_key` are set only on interchanges that created orders; their unique
    constraints are what makes a concurrent resend lose the race instead of creating a double.
    """

    __tablename__ = "edi_interchange"
    __table_args__ = (
        UniqueConstraint("content_key", "partner_id"),
        UniqueConstraint("control_key", "partner_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    received_by: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), index=True)
    format: Mapped[str | None] = mapped_column(String(10))
    control_ref: Mapped[str | None] = mapped_column(String(200))
    charset: Mapped[str | None] = mapped_column(String(20))  # what the bytes were read as
    sender_id: Mapped[str | None] = mapped_column(String(100))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    content_key: Mapped[str | None] = mapped_column(String(64))
    control_key: Mapped[str | None] = mapped_column(String(64))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("edi_interchange.id"))
    # A refused file an admin had processed again: the new interchange it became.
    resubmitted_as_id: Mapped[int | None] = mapped_column(ForeignKey("edi_interchange.id"))
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    order_numbers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # One entry per business document: its references, outcome, order number or refusal reasons.
    messages: Mapped[list[Any]] = mapped_column(JSON, default=list)

    acknowledgments: Mapped[list["EdiAcknowledgment"]] = relationship(
        back_populates="interchange", lazy="raise", order_by="EdiAcknowledgment.id"
    )


class EdiEnvelopeClaim(Base):
    """One envelope (UNB / ISA interchange) of a partner that has created orders, and where.

    A partner's batch file may repeat an envelope it sent alone before (or the other way round): the
    whole-file keys of `edi_interchange` differ, but the envelope must not create its orders twice.
    """

    __tablename__ = "edi_envelope_claim"
    __table_args__ = (UniqueConstraint("partner_id", "envelope_key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    envelope_key: Mapped[str] = mapped_column(String(64))
    interchange_id: Mapped[int] = mapped_column(
        ForeignKey("edi_interchange.id", ondelete="CASCADE"), index=True
    )


class EdiAcknowledgment(Base):
    """A document for a partner, kept as the exact bytes it downloads: the answers to an interchange
    (CONTRL, ORDRSP, APERAK, 997, 855, 824 or JSON), and later the order's news (an ORDRSP or 855 again,
    a DESADV or 856 on each shipment), filed under the interchange the order came in."""

    __tablename__ = "edi_acknowledgment"
    __table_args__ = (Index("ix_edi_acknowledgment_partner_outbox", "partner_id", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    interchange_id: Mapped[int] = mapped_column(
        ForeignKey("edi_interchange.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    control_ref: Mapped[str] = mapped_column(String(35))
    po_number: Mapped[str | None] = mapped_column(String(100))
    order_number: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(100))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The outbox: every document for a partner, in the order a transport sends them.
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    delivery_note_number: Mapped[str | None] = mapped_column(String(32))

    interchange: Mapped[EdiInterchange] = relationship(back_populates="acknowledgments", lazy="raise")


class PartnerParty(Base):
    """A partner's own id for a party (buyer, delivery point) mapped to our customer and address."""

    __tablename__ = "partner_party"
    __table_args__ = (UniqueConstraint("partner_id", "party_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    party_id: Mapped[str] = mapped_column(String(35))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    shipping_address_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipping_address.id", ondelete="SET NULL")
    )


class PartnerItem(Base):
    """A partner's own article number mapped to our product."""

    __tablename__ = "partner_item"
    __table_args__ = (UniqueConstraint("partner_id", "item_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(35))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id", ondelete="CASCADE"), index=True)


class EdiPartnerProfile(Base):
    """How a partner's files are read and what it gets back, beyond its CSV layout (on `partner`).

    `format` and `charset` are applied before any sniffing: the format of data that carries no
    signature of its own, the character set of text that declares none (CSV, X12). None: recognised
    from the bytes (UTF-8, else Windows-1252, said). `despatch_advice`: a DESADV (EDIFACT orders) or
    856 (X12 orders) on every shipment of its orders.
    """

    __tablename__ = "edi_partner_profile"

    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), primary_key=True)
    format: Mapped[str | None] = mapped_column(String(10))
    charset: Mapped[str | None] = mapped_column(String(30))
    despatch_advice: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_by: Mapped[str] = mapped_column(String(64))


class EdiOrder(Base):
    """The EDI side of an order that came from a partner: who sent it, in which interchange and
    format, its envelope and message references and its lines as sent (position, line number, item
    id, unit, quantity, and the order line each became), so that every later answer (an order response
    after a backorder ships, a despatch advice) is addressed back and speaks of the partner's lines."""

    __tablename__ = "edi_order"

    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"), primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id", ondelete="CASCADE"), index=True)
    interchange_id: Mapped[int] = mapped_column(ForeignKey("edi_interchange.id"), index=True)
    format: Mapped[str] = mapped_column(String(10))
    # {po_number, document_date, parties, envelope, message}: what an answer must echo.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    # [{position, line_number, item, qualifier, kind, unit, quantity, line_no}] as the partner sent them.
    lines: Mapped[list[Any]] = mapped_column(JSON)
