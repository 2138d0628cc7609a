"""Queries on orders. The capture path uses Core statements: it is the hot path of the product."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.catalog.models import Customer, Product, ShippingAddress
from app.orders.models import OrderStatus, SaleOrder

customer_table = Customer.__table__
product_table = Product.__table__
order_table = SaleOrder.__table__


def customer_for_capture(session: Session, code: str) -> Row[Any] | None:
    c = customer_table.c
    return session.execute(
        select(c.id, c.code, c.name, c.blocked, c.discount_percent).where(c.code == code)
    ).one_or_none()


def shipping_address_by_code(session: Session, customer_id: int, code: str) -> ShippingAddress | None:
    return session.execute(
        select(ShippingAddress).where(
            ShippingAddress.customer_id == customer_id, ShippingAddress.code == code
        )
    ).scalar_one_or_none()


def lock_products_for_capture(session: Session, *, codes: set[str], gtins: set[str]) -> Sequence[Row[Any]]:
    """The products an order names, locked in id order (PostgreSQL) so that concurrent captures
    update the reserved quantities one after the other without deadlocking."""
    p = product_table.c
    clauses = []
    if codes:
        clauses.append(p.code.in_(codes))
    if gtins:
        clauses.append(p.gtin.in_(gtins))
    query = (
        select(
            p.id,
            p.code,
            p.gtin,
            p.name,
            p.unit_price,
            p.price_includes_vat,
            p.price_locked,
            p.vat_rate,
            p.allows_decimal_quantity,
            p.stock_on_hand,
            p.reserved_quantity,
        )
        .where(or_(*clauses))
        .order_by(p.id)
        .with_for_update()
    )
    return session.execute(query).all()


def lock_reserved_quantities(session: Session, product_ids: set[int]) -> dict[int, Decimal]:
    p = product_table.c
    rows = session.execute(
        select(p.id, p.reserved_quantity).where(p.id.in_(product_ids)).order_by(p.id).with_for_update()
    )
    return {row.id: row.reserved_quantity for row in rows}


def set_reserved_quantities(session: Session, reserved: dict[int, Decimal]) -> None:
    """Write new reserved quantities of products the caller has locked (computed in Python: on SQLite
    quantities are stored as exact text, so they are not added up in SQL)."""
    p = product_table.c
    session.execute(
        update(product_table)
        .where(p.id == bindparam("pid"))
        .values(reserved_quantity=bindparam("reserved", type_=p.reserved_quantity.type)),
        [{"pid": pid, "reserved": value} for pid, value in reserved.items()],
    )


def open_orders_with_reference(session: Session, customer_id: int, reference: str) -> list[str]:
    o = order_table.c
    return list(
        session.execute(
            select(o.number)
            .where(
                o.customer_id == customer_id,
                o.customer_reference == reference,
                o.status != OrderStatus.CANCELLED,
            )
            .order_by(o.id)
            .limit(5)
        ).scalars()
    )


def get_order(session: Session, number: str, *, lock: bool = False) -> SaleOrder | None:
    query = (
        select(SaleOrder)
        .where(SaleOrder.number == number)
        .options(selectinload(SaleOrder.lines), selectinload(SaleOrder.customer))
    )
    if lock:
        query = query.with_for_update(of=SaleOrder)
    return session.execute(query).scalar_one_or_none()


def list_orders(
    session: Session,
    *,
    customer_code: str | None,
    status: str | None,
    channel: str | None,
    q: str | None,
    before_id: int | None,
    limit: int,
    customer_ids: frozenset[int] | None,
) -> Sequence[SaleOrder]:
    query = (
        select(SaleOrder)
        .join(SaleOrder.customer)
        .options(selectinload(SaleOrder.lines), selectinload(SaleOrder.customer))
        .order_by(SaleOrder.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(SaleOrder.id < before_id)
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    if customer_code:
        query = query.where(Customer.code == customer_code)
    if status:
        query = query.where(SaleOrder.status == status)
    if channel:
        query = query.where(SaleOrder.channel == channel)
    if q:
        pattern = f"%{q.lower()}%"
        query = query.where(
            or_(
                SaleOrder.number == q.upper(),
                func.lower(SaleOrder.customer_reference).like(pattern),
                func.lower(Customer.name).like(pattern),
            )
        )
    return session.execute(query).scalars().all()
