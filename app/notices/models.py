"""The outbox of customer notices."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class NoticeKind(enum.StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    DELIVERY = "delivery"
    BACKORDER_SHIPPED = "backorder_shipped"
    BACKORDER_CLOSED = "backorder_closed"


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    GIVEN_UP = "given_up"


class CustomerNotice(Base):
    """One email to a customer about an order, a delivery note or an order line given up; each once."""

    __tablename__ = "customer_notice"
    __table_args__ = (UniqueConstraint("kind", "order_id", "about_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"), index=True)
    # What the notice is about: the delivery note, the order line given up, or 0 for the order's
    # confirmation (not NULL, so that the unique constraint holds on both engines).
    about_id: Mapped[int] = mapped_column(Id)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
