"""Goods that leave or come back: delivery notes, stock receipts and returns.

A delivery note freezes what it shipped and at what price (copied from the order line, priced by
app/pricing.py), so that a reprint, its deferred invoice and any later credit note all read the same
figures whatever master-data import happens in between.
"""

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Customer, Product
from app.db import Base, Id, Money, Quantity, Rate, UtcDateTime
from app.orders.models import PricedLineColumns, SaleOrder, SaleOrderLine


class DeliveryNoteStatus(enum.StrEnum):
    ISSUED = "issued"
    VOID = "void"


class DeliveryNote(Base):
    __tablename__ = "delivery_note"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(12), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    issue_date: Mapped[date] = mapped_column(Date, index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    issued_by: Mapped[str] = mapped_column(String(64))
    shipping_address: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Whether the customer wanted prices on its delivery notes when this one was issued.
    show_prices: Mapped[bool] = mapped_column(Boolean)
    customer_discount_percent: Mapped[Decimal] = mapped_column(Rate())
    net_total: Mapped[Decimal] = mapped_column(Money())
    vat_total: Mapped[Decimal] = mapped_column(Money())
    gross_total: Mapped[Decimal] = mapped_column(Money())
    vat_breakdown: Mapped[list[Any]] = mapped_column(JSON)
    # The order's lines that did not ship with this note and were still to come when it was issued
    # (line_no, product_code, gtin, description, ordered, shipped before, to come; quantities as text):
    # the customer reads on the paper what else waits. None on notes issued before it was kept.
    lines_to_come: Mapped[list[Any] | None] = mapped_column(JSON)
    # Given by the warehouse when shipping; a note without them leaves room to write them by hand.
    parcel_count: Mapped[int | None] = mapped_column(Integer)
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    # The first print is the original; every later one is a duplicate.
    print_count: Mapped[int] = mapped_column(Integer, default=0)
    first_printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_printed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    voided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    voided_by: Mapped[str | None] = mapped_column(String(64))

    order: Mapped[SaleOrder] = relationship(lazy="raise")
    customer: Mapped[Customer] = relationship(lazy="raise")
    lines: Mapped[list["DeliveryNoteLine"]] = relationship(
        back_populates="note", lazy="raise", order_by="DeliveryNoteLine.line_no"
    )


class DeliveryNoteLine(PricedLineColumns, Base):
    """One order line as shipped by this note, with the quantities printed on it."""

    __tablename__ = "delivery_note_line"
    __table_args__ = (UniqueConstraint("delivery_note_id", "line_no"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    delivery_note_id: Mapped[int] = mapped_column(ForeignKey("delivery_note.id", ondelete="CASCADE"))
    order_line_id: Mapped[int] = mapped_column(ForeignKey("sale_order_line.id"), index=True)
    order_line_no: Mapped[int] = mapped_column(Integer)
    ordered_quantity: Mapped[Decimal] = mapped_column(Quantity())
    # What earlier notes of the order had delivered of this line when this one left.
    previously_shipped_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    # What was still to ship on the order line once this note left, as printed.
    backordered_quantity: Mapped[Decimal] = mapped_column(Quantity())

    note: Mapped[DeliveryNote] = relationship(back_populates="lines", lazy="raise")
    order_line: Mapped[SaleOrderLine] = relationship(lazy="raise")


class StockReceipt(Base):
    """Goods received by the warehouse during the outage; each line adds to the product's stock on hand."""

    __tablename__ = "stock_receipt"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    received_by: Mapped[str] = mapped_column(String(64))

    lines: Mapped[list["StockReceiptLine"]] = relationship(
        back_populates="receipt", lazy="raise", order_by="StockReceiptLine.id"
    )


class StockReceiptLine(Base):
    __tablename__ = "stock_receipt_line"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("stock_receipt.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())

    receipt: Mapped[StockReceipt] = relationship(back_populates="lines", lazy="raise")
    product: Mapped[Product] = relationship(lazy="raise")


class GoodsReturn(Base):
    """Goods a customer sent back (e.g. unsold books), optionally against one delivery note."""

    __tablename__ = "goods_return"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    delivery_note_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_note.id"), index=True)
    # The ERP invoice the goods were billed on before the outage, read from the customer's paperwork:
    # what the credit note of goods Carnet did not deliver corrects.
    invoice_reference: Mapped[str | None] = mapped_column(String(35))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    # Cancelled before its credit note was replayed: the goods left the stock again, the credit note
    # is void; the return keeps its number.
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    customer: Mapped[Customer] = relationship(lazy="raise")
    delivery_note: Mapped[DeliveryNote | None] = relationship(lazy="raise")
    lines: Mapped[list["GoodsReturnLine"]] = relationship(
        back_populates="goods_return", lazy="raise", order_by="GoodsReturnLine.line_no"
    )


class GoodsReturnLine(Base):
    """Returned quantity of a product. When Carnet delivered it, the line points at the delivery note
    line it goes back against (its prices make the credit note); otherwise it points at nothing."""

    __tablename__ = "goods_return_line"
    __table_args__ = (UniqueConstraint("return_id", "line_no"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("goods_return.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    gtin: Mapped[str | None] = mapped_column(String(14))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    reason: Mapped[str | None] = mapped_column(String(200))
    delivery_note_line_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_note_line.id"), index=True)

    goods_return: Mapped[GoodsReturn] = relationship(back_populates="lines", lazy="raise")
    delivery_note_line: Mapped[DeliveryNoteLine | None] = relationship(lazy="raise")
