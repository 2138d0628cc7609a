"""Master data snapshot: customers, their addresses, products and stock, as exported from the ERP."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Id, Quantity, Rate, UnitPrice, UtcDateTime


class Customer(Base):
    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    vat_number: Mapped[str | None] = mapped_column(String(20))
    # The buyer's SIREN, a mandatory mention of French B2B invoices (BT-47, scheme 0002).
    siren: Mapped[str | None] = mapped_column(String(9))
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    billing_name: Mapped[str | None] = mapped_column(String(200))
    billing_street: Mapped[str] = mapped_column(String(200))
    billing_street2: Mapped[str | None] = mapped_column(String(200))
    billing_postal_code: Mapped[str] = mapped_column(String(20))
    billing_city: Mapped[str] = mapped_column(String(100))
    billing_country: Mapped[str] = mapped_column(String(2))
    discount_percent: Mapped[Decimal] = mapped_column(Rate(), default=Decimal(0))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    show_prices_on_delivery_note: Mapped[bool] = mapped_column(Boolean, default=True)
    email_notices: Mapped[bool] = mapped_column(Boolean, default=False)  # order and delivery notices
    snapshot_at: Mapped[datetime] = mapped_column(UtcDateTime())

    shipping_addresses: Mapped[list["ShippingAddress"]] = relationship(
        back_populates="customer", lazy="raise", order_by="ShippingAddress.id", cascade="all, delete-orphan"
    )


class ShippingAddress(Base):
    __tablename__ = "shipping_address"
    __table_args__ = (UniqueConstraint("customer_id", "code"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(200))
    street: Mapped[str] = mapped_column(String(200))
    street2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str] = mapped_column(String(20))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    gln: Mapped[str | None] = mapped_column(String(13), index=True)
    # Where goods go when an order names no address (a customer's only address is its default anyway).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    customer: Mapped[Customer] = relationship(back_populates="shipping_addresses", lazy="raise")


class Product(Base):
    __tablename__ = "product"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    name: Mapped[str] = mapped_column(String(300), index=True)  # the desk's title search (app/catalog)
    unit_price: Mapped[Decimal] = mapped_column(UnitPrice())
    price_includes_vat: Mapped[bool] = mapped_column(Boolean, default=False)
    # A fixed public price (French books, loi Lang): reps may discount it but not override it.
    price_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    vat_rate: Mapped[Decimal] = mapped_column(Rate())
    allows_decimal_quantity: Mapped[bool] = mapped_column(Boolean, default=False)
    stock_on_hand: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    stock_as_of: Mapped[datetime] = mapped_column(UtcDateTime())
    # Quantity on open orders not yet shipped; kept up to date by capture, delivery and cancellation.
    reserved_quantity: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    snapshot_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Who publishes or makes it (publisher, brand): what a supplier's users may see (app/suppliers).
    supplier_code: Mapped[str | None] = mapped_column(String(32), index=True)
    supplier_name: Mapped[str | None] = mapped_column(String(200))


class SnapshotImport(Base):
    """One import of master data: when the ERP exported it and what was accepted."""

    __tablename__ = "snapshot_import"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(500))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime())
    rows_accepted: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    report: Mapped[str] = mapped_column(Text, default="")


class StockMovement(Base):
    """Goods that left or came in, as Carnet saw them (a shipment, a void, a receipt, a return, a
    count): the ledger that lets a stock figure from the ERP, dated, be brought up to now."""

    __tablename__ = "stock_movement"
    __table_args__ = (Index("ix_stock_movement_product_moved", "product_id", "moved_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    moved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Signed: what left is negative.
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(64))
