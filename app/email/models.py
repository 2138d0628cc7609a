"""The reps' inbox: every message received, once, as received; what it became."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Id, UtcDateTime


class InboxState(enum.StrEnum):
    NEW = "new"
    TAKEN = "taken"  # a rep is keying it
    KEYED = "keyed"  # its orders exist (keyed by a rep, or made from its attachments)
    NOT_AN_ORDER = "not_an_order"  # with the reason a rep gave


class CustomerMatch(enum.StrEnum):
    ADDRESS = "address"
    DOMAIN = "domain"
    GLN = "gln"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


class InboxMessage(Base):
    """A message as received (`raw`, byte for byte), found again by its Message-ID or its content."""

    __tablename__ = "inbox_message"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(500), index=True)
    source: Mapped[str] = mapped_column(String(100))
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    text_body: Mapped[str] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    customer_match: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(16), index=True)
    taken_by: Mapped[str | None] = mapped_column(String(80))
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    not_an_order_reason: Mapped[str | None] = mapped_column(String(500))
    problems: Mapped[list[Any]] = mapped_column(JSON)

    attachments: Mapped[list["InboxAttachment"]] = relationship(
        back_populates="message", lazy="raise", order_by="InboxAttachment.position"
    )


class InboxAttachment(Base):
    __tablename__ = "inbox_attachment"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("inbox_message.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    declared_type: Mapped[str] = mapped_column(String(100))
    detected_type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[InboxMessage] = relationship(back_populates="attachments", lazy="raise")


class InboxMessageOrder(Base):
    """An order made from a message (keyed by a rep beside it, or read from its attachment)."""

    __tablename__ = "inbox_message_order"

    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_message.id", ondelete="CASCADE"), primary_key=True
    )
    order_id: Mapped[int] = mapped_column(
        ForeignKey("sale_order.id", ondelete="CASCADE"), primary_key=True, index=True
    )
