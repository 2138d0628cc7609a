"""The supplier report's queries: one per source, each grouped by product, over the supplier's titles."""

from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from app.catalog.models import Product, StockMovement
from app.db import Quantity
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine

_product = cast(Table, Product.__table__)
_movement = cast(Table, StockMovement.__table__)
_line = cast(Table, SaleOrderLine.__table__)
_order = cast(Table, SaleOrder.__table__)

# Ledger kinds, as app.catalog.stock records them, by report column.
SHIPPED_KINDS = ("shipment", "void")
RETURNED_KINDS = ("return", "return_cancelled")
RECEIVED_KINDS = ("receipt",)
COUNTED_KINDS = ("count",)


def list_titles(session: Session, supplier_code: str) -> list[Row[Any]]:
    """(id, code, gtin, name, supplier_name, stock_on_hand, stock_as_of) of the supplier's products."""
    p = _product
    query = (
        select(p.c.id, p.c.code, p.c.gtin, p.c.name, p.c.supplier_name, p.c.stock_on_hand, p.c.stock_as_of)
        .where(p.c.supplier_code == supplier_code)
        .order_by(p.c.code)
    )
    return list(session.execute(query))


def _sum(condition: ColumnElement[bool], quantity: ColumnElement[Any]) -> ColumnElement[Decimal]:
    return type_coerce(func.coalesce(func.sum(case((condition, quantity), else_=0)), 0), Quantity())


def moved(session: Session, supplier_code: str, *, start: datetime, end: datetime) -> dict[int, Row[Any]]:
    """Per product: the ledger's movements in `[start, end)` by column, those after its snapshot's
    date (`since_snapshot`) and those from `end` on (`after_end`)."""
    m, p = _movement, _product
    in_period = and_(m.c.moved_at >= start, m.c.moved_at < end)
    query = (
        select(
            m.c.product_id,
            _sum(and_(in_period, m.c.kind.in_(SHIPPED_KINDS)), -m.c.quantity).label("shipped"),
            _sum(and_(in_period, m.c.kind.in_(RETURNED_KINDS)), m.c.quantity).label("returned"),
            _sum(and_(in_period, m.c.kind.in_(RECEIVED_KINDS)), m.c.quantity).label("received"),
            _sum(and_(in_period, m.c.kind.in_(COUNTED_KINDS)), m.c.quantity).label("counted"),
            _sum(m.c.moved_at > p.c.stock_as_of, m.c.quantity).label("since_snapshot"),
            _sum(m.c.moved_at >= end, m.c.quantity).label("after_end"),
        )
        .join(p, p.c.id == m.c.product_id)
        .where(p.c.supplier_code == supplier_code)
        .group_by(m.c.product_id)
    )
    return {row.product_id: row for row in session.execute(query)}


def ordered(session: Session, supplier_code: str, *, start: datetime, end: datetime) -> dict[int, Row[Any]]:
    """Per product: quantity ordered and still backordered on orders captured in `[start, end)`,
    cancelled orders left out."""
    line, o, p = _line, _order, _product
    query = (
        select(
            line.c.product_id,
            type_coerce(func.sum(line.c.quantity), Quantity()).label("ordered"),
            type_coerce(func.sum(line.c.backordered_quantity), Quantity()).label("backordered"),
        )
        .join(o, o.c.id == line.c.order_id)
        .join(p, p.c.id == line.c.product_id)
        .where(
            p.c.supplier_code == supplier_code,
            o.c.created_at >= start,
            o.c.created_at < end,
            o.c.status != OrderStatus.CANCELLED,
        )
        .group_by(line.c.product_id)
    )
    return {row.product_id: row for row in session.execute(query)}
