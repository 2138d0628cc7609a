"""Orders captured while the ERP is down, and the idempotency records that make retries safe."""

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Customer
from app.db import Base, Id, Money, Quantity, Rate, UnitPrice, UtcDateTime


class OrderStatus(enum.StrEnum):
    CAPTURED = "captured"
    NEEDS_REVIEW = "needs_review"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Channel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    EDI = "edi"
    WEB = "web"
    API = "api"


OPEN_STATUSES = (OrderStatus.CAPTURED, OrderStatus.NEEDS_REVIEW, OrderStatus.PARTIALLY_SHIPPED)


class SaleOrder(Base):
    __tablename__ = "sale_order"
    __table_args__ = (
        Index("ix_sale_order_customer_reference", "customer_id", "customer_reference"),
        Index("ix_sale_order_customer_content", "customer_id", "content_fingerprint"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    channel: Mapped[str] = mapped_column(String(8), index=True)
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    requested_date: Mapped[date | None] = mapped_column(Date)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    # The customer's email, pasted by the rep who keyed the order from it.
    email_text: Mapped[str | None] = mapped_column(Text)
    customer_discount_percent: Mapped[Decimal] = mapped_column(Rate())
    net_total: Mapped[Decimal] = mapped_column(Money())
    vat_total: Mapped[Decimal] = mapped_column(Money())
    gross_total: Mapped[Decimal] = mapped_column(Money())
    vat_breakdown: Mapped[list[Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    # What a rep must resolve before the order may ship (status needs_review): unknown items, prices...
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The partner's own references (document number and date, parties, interchange, message).
    external_references: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Same customer, same products and quantities: how a phone order and its EDI twin are recognised.
    content_fingerprint: Mapped[str] = mapped_column(String(64))
    captured_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    customer: Mapped[Customer] = relationship(lazy="raise")
    lines: Mapped[list["SaleOrderLine"]] = relationship(
        back_populates="order", lazy="raise", order_by="SaleOrderLine.line_no"
    )
    unresolved_lines: Mapped[list["UnresolvedOrderLine"]] = relationship(
        lazy="raise", order_by="UnresolvedOrderLine.position"
    )


class PricedLineColumns:
    """The columns every priced document line has (order, delivery note, deferred document lines):
    what was sold, at what frozen price, discount and VAT rate, and the amounts app/pricing computed."""

    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    gtin: Mapped[str | None] = mapped_column(String(14))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    price_includes_vat: Mapped[bool] = mapped_column(Boolean)
    discount_percent: Mapped[Decimal] = mapped_column(Rate())
    vat_rate: Mapped[Decimal] = mapped_column(Rate())
    line_amount: Mapped[Decimal] = mapped_column(Money())
    net_amount: Mapped[Decimal] = mapped_column(Money())


class SaleOrderLine(PricedLineColumns, Base):
    __tablename__ = "sale_order_line"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"))
    external_line_no: Mapped[str | None] = mapped_column(String(35))
    shipped_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    backordered_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    # What the customer gave up of a backorder: it will not ship (its reservation was released).
    closed_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0), server_default=text("0"))

    order: Mapped[SaleOrder] = relationship(back_populates="lines", lazy="raise")

    @property
    def open_quantity(self) -> Decimal:
        """What is still to ship: ordered, less shipped, less what the customer gave up."""
        # A line not flushed yet has no closed quantity (its column default applies at insert).
        return self.quantity - self.shipped_quantity - (self.closed_quantity or Decimal(0))


class UnresolvedLineStatus(enum.StrEnum):
    OPEN = "open"
    MAPPED = "mapped"  # a person named the product; it became an order line
    CORRECTED = "corrected"  # a person corrected the quantity; it became an order line
    REMOVED = "removed"  # a person took it off the order


class UnresolvedOrderLine(Base):
    """A line a partner sent that could not become an order line as sent: an unknown item, a zero,
    invalid or fractional-for-the-unit quantity, an amount no line can hold. It stays on the order
    with the partner's own values, reserves nothing, and holds the order for review until a person
    maps it to a product, corrects its quantity or removes it, with a reason."""

    __tablename__ = "sale_order_unresolved_line"
    __table_args__ = (UniqueConstraint("order_id", "position"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the line's rank in the partner's message
    external_line_no: Mapped[str | None] = mapped_column(String(35))
    items: Mapped[list[Any]] = mapped_column(JSON)  # the partner's item ids: [{id, kind, qualifier}]
    description: Mapped[str | None] = mapped_column(String(300))
    quantity: Mapped[str] = mapped_column(String(40))  # as sent
    unit: Mapped[str | None] = mapped_column(String(20))
    unit_price: Mapped[str | None] = mapped_column(String(40))  # as sent
    reason: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str] = mapped_column(String(300))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))  # when the item is known
    product_code: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    order_line_no: Mapped[int | None] = mapped_column(Integer)  # the order line it became
