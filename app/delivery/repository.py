"""Queries on delivery notes, backorders, stock receipts and returns.

Locks are always taken in the same order, order → delivery note → product (products by id), so that
concurrent deliveries, voids and returns on PostgreSQL never wait on each other in a cycle.
"""

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.sql import Select

from app.catalog.models import Customer, Product
from app.delivery.models import (
    DeliveryNote,
    DeliveryNoteLine,
    DeliveryNoteStatus,
    GoodsReturn,
    GoodsReturnLine,
)
from app.incidents.models import Incident
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine


def incident_windows(session: Session) -> list[tuple[int, datetime, datetime | None]]:
    """Every incident's id and window (a handful of rows), to tell which one a note was issued in."""
    rows = session.execute(select(Incident.id, Incident.started_at, Incident.ended_at))
    return [(id_, start, end) for id_, start, end in rows]


def _notes() -> Select[DeliveryNote]:
    return select(DeliveryNote).options(
        selectinload(DeliveryNote.lines),
        selectinload(DeliveryNote.customer),
        selectinload(DeliveryNote.order).selectinload(SaleOrder.lines),
    )


def get_note(session: Session, number: str, *, lock: bool = False) -> DeliveryNote | None:
    query = _notes().where(DeliveryNote.number == number)
    if lock:
        query = query.with_for_update(of=DeliveryNote).execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def notes_by_numbers(session: Session, numbers: Collection[str], *, lock: bool = False) -> list[DeliveryNote]:
    query = _notes().where(DeliveryNote.number.in_(numbers)).order_by(DeliveryNote.id)
    if lock:
        query = query.with_for_update(of=DeliveryNote).execution_options(populate_existing=True)
    return list(session.execute(query).scalars())


def notes_issued_on(session: Session, day: date, *, lock: bool = False) -> list[DeliveryNote]:
    query = (
        _notes()
        .where(DeliveryNote.issue_date == day, DeliveryNote.status == DeliveryNoteStatus.ISSUED)
        .order_by(DeliveryNote.id)
    )
    if lock:
        query = query.with_for_update(of=DeliveryNote).execution_options(populate_existing=True)
    return list(session.execute(query).scalars())


def lock_notes(session: Session, ids: Iterable[int]) -> list[DeliveryNote]:
    """Lock delivery notes (in id order) and read their status afresh."""
    query = (
        select(DeliveryNote)
        .where(DeliveryNote.id.in_(sorted(set(ids))))
        .order_by(DeliveryNote.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(session.execute(query).scalars())


def _locked_order() -> Select[SaleOrder]:
    return (
        select(SaleOrder)
        .options(selectinload(SaleOrder.lines), joinedload(SaleOrder.customer))
        .with_for_update(of=SaleOrder, key_share=True)
        .execution_options(populate_existing=True)
    )


def lock_order(session: Session, order_id: int) -> SaleOrder:
    """The order with its lines and customer, locked and read afresh."""
    return session.execute(_locked_order().where(SaleOrder.id == order_id)).scalar_one()


def lock_order_by_number(session: Session, number: str) -> SaleOrder | None:
    return session.execute(_locked_order().where(SaleOrder.number == number)).scalar_one_or_none()


def lock_products(session: Session, ids: Iterable[int]) -> dict[int, Product]:
    """Lock the products whose stock is about to change, in id order, and read them afresh."""
    query = (
        select(Product)
        .where(Product.id.in_(sorted(set(ids))))
        .order_by(Product.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    return {product.id: product for product in session.execute(query).scalars()}


_TO_SHIP = (SaleOrder.status.in_((OrderStatus.CAPTURED, OrderStatus.PARTIALLY_SHIPPED)),)


def orders_to_ship(
    session: Session, *, after_id: int | None, limit: int, customer_ids: frozenset[int] | None
) -> Sequence[SaleOrder]:
    """Orders with something left to ship (captured or partly shipped), oldest first: first come,
    first served, as the stock is."""
    query = (
        select(SaleOrder)
        .where(*_TO_SHIP)
        .options(
            selectinload(SaleOrder.lines),
            selectinload(SaleOrder.customer),
            selectinload(SaleOrder.unresolved_lines),
        )
        .order_by(SaleOrder.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(SaleOrder.id > after_id)
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    return session.execute(query).scalars().all()


def count_orders_to_ship(session: Session, *, customer_ids: frozenset[int] | None) -> int:
    query = select(func.count()).select_from(SaleOrder).where(*_TO_SHIP)
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    return session.execute(query).scalar_one()


def orders_to_pick(session: Session, *, number: str | None, day: date) -> list[SaleOrder]:
    """The order of this number, else every order that may ship on `day` (captured or partly shipped,
    wanted by that day or with no date), in the order they were captured, with their lines."""
    query = (
        select(SaleOrder).options(selectinload(SaleOrder.lines)).order_by(SaleOrder.created_at, SaleOrder.id)
    )
    if number is not None:
        return list(session.execute(query.where(SaleOrder.number == number)).scalars())
    query = query.where(
        SaleOrder.status.in_((OrderStatus.CAPTURED, OrderStatus.PARTIALLY_SHIPPED)),
        (SaleOrder.requested_date.is_(None)) | (SaleOrder.requested_date <= day),
    )
    return list(session.execute(query).scalars())


def products_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Product]:
    query = select(Product).where(Product.id.in_(set(ids)))
    return {product.id: product for product in session.execute(query).scalars()}


def has_returns(session: Session, note_id: int) -> bool:
    query = (
        select(GoodsReturnLine.id)
        .join(DeliveryNoteLine, GoodsReturnLine.delivery_note_line_id == DeliveryNoteLine.id)
        .where(
            DeliveryNoteLine.delivery_note_id == note_id, GoodsReturnLine.return_id.in_(standing_returns())
        )
        .limit(1)
    )
    return session.execute(query).first() is not None


def returned_by_note_line(session: Session, note_line_ids: Collection[int]) -> dict[int, Decimal]:
    """How much has already come back against each delivery note line."""
    if not note_line_ids:
        return {}
    query = (
        select(GoodsReturnLine.delivery_note_line_id, func.sum(GoodsReturnLine.quantity))
        .where(
            GoodsReturnLine.delivery_note_line_id.in_(note_line_ids),
            GoodsReturnLine.return_id.in_(standing_returns()),
        )
        .group_by(GoodsReturnLine.delivery_note_line_id)
    )
    return {line_id: total for line_id, total in session.execute(query) if line_id is not None}


def notes_delivering(session: Session, *, customer_id: int, product_ids: Collection[int]) -> list[int]:
    """Ids of the customer's delivery notes (not void) that shipped any of these products."""
    query = (
        select(DeliveryNote.id)
        .join(DeliveryNoteLine, DeliveryNoteLine.delivery_note_id == DeliveryNote.id)
        .where(
            DeliveryNote.customer_id == customer_id,
            DeliveryNote.status == DeliveryNoteStatus.ISSUED,
            DeliveryNoteLine.product_id.in_(product_ids),
        )
        .distinct()
    )
    return list(session.execute(query).scalars())


def delivered_lines(
    session: Session, *, note_ids: Collection[int], product_ids: Collection[int]
) -> Sequence[DeliveryNoteLine]:
    """Lines of these notes for these products, newest delivery first."""
    if not note_ids:
        return []
    query = (
        select(DeliveryNoteLine)
        .where(
            DeliveryNoteLine.delivery_note_id.in_(note_ids),
            DeliveryNoteLine.product_id.in_(product_ids),
        )
        .options(selectinload(DeliveryNoteLine.note))
        .order_by(DeliveryNoteLine.delivery_note_id.desc(), DeliveryNoteLine.line_no)
    )
    return session.execute(query).scalars().all()


def standing_returns() -> Select[int]:
    """Ids of the returns not cancelled: only their goods count as come back."""
    return select(GoodsReturn.id).where(GoodsReturn.cancelled_at.is_(None))


def recent_returns(session: Session, *, customer_id: int, since: datetime) -> Sequence[GoodsReturn]:
    """The customer's returns recorded since `since`, not cancelled, with their lines."""
    query = (
        select(GoodsReturn)
        .where(
            GoodsReturn.customer_id == customer_id,
            GoodsReturn.recorded_at >= since,
            GoodsReturn.cancelled_at.is_(None),
        )
        .options(selectinload(GoodsReturn.lines))
        .order_by(GoodsReturn.id)
    )
    return session.execute(query).scalars().all()


def get_return(session: Session, number: str, *, lock: bool = False) -> GoodsReturn | None:
    if lock:
        session.execute(select(GoodsReturn.id).where(GoodsReturn.number == number).with_for_update())
    query = (
        select(GoodsReturn)
        .where(GoodsReturn.number == number)
        .options(
            selectinload(GoodsReturn.customer),
            selectinload(GoodsReturn.delivery_note),
            selectinload(GoodsReturn.lines)
            .selectinload(GoodsReturnLine.delivery_note_line)
            .selectinload(DeliveryNoteLine.note),
        )
    )
    return session.execute(query).scalar_one_or_none()


def list_backorders(
    session: Session,
    *,
    customer_code: str | None = None,
    product_code: str | None = None,
    product_ids: Collection[int] | None = None,
    created_before: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
    customer_ids: frozenset[int] | None = None,
) -> Sequence[Row[SaleOrderLine, SaleOrder, Customer, Decimal]]:
    """Order lines waiting for stock, oldest first (line ids grow with capture order)."""
    query = (
        select(SaleOrderLine, SaleOrder, Customer, Product.stock_on_hand)
        .join(SaleOrder, SaleOrderLine.order_id == SaleOrder.id)
        .join(Customer, SaleOrder.customer_id == Customer.id)
        .join(Product, SaleOrderLine.product_id == Product.id)
        .where(
            SaleOrder.status == OrderStatus.PARTIALLY_SHIPPED,
            SaleOrderLine.backordered_quantity > 0,
        )
        .order_by(SaleOrderLine.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(SaleOrderLine.id > after_id)
    if customer_code:
        query = query.where(Customer.code == customer_code)
    if product_code:
        query = query.where(SaleOrderLine.product_code == product_code)
    if product_ids is not None:
        query = query.where(SaleOrderLine.product_id.in_(product_ids))
    if created_before is not None:
        query = query.where(SaleOrder.created_at <= created_before)
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    return session.execute(query).all()


def notes_of_order(session: Session, order_id: int) -> list[DeliveryNote]:
    """Every delivery note of an order, void ones included, oldest first."""
    return list(
        session.execute(_notes().where(DeliveryNote.order_id == order_id).order_by(DeliveryNote.id)).scalars()
    )
