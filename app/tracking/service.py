"""Issue, find and revoke status links, and build what the status page shows."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from app.clock import utcnow
from app.delivery.models import DeliveryNote
from app.errors import NotFound
from app.orders.models import SaleOrder, SaleOrderLine
from app.tracking.models import OrderStatusLink

TOKEN_BYTES = 24  # 192 bits: nobody guesses a link, and it still fits a line when read out


def issue_link(session: Session, *, order_number: str, issued_by: str) -> str:
    """A new link for the order; any earlier link of the order stops working."""
    order_id = session.execute(select(SaleOrder.id).where(SaleOrder.number == order_number)).scalar()
    if order_id is None:
        raise NotFound(f"no order {order_number}")
    now = utcnow()
    session.execute(
        update(OrderStatusLink)
        .where(OrderStatusLink.order_id == order_id, OrderStatusLink.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(OrderStatusLink(order_id=order_id, token=token, created_at=now, created_by=issued_by))
    session.flush()
    return token


def revoke_links(session: Session, *, order_id: int) -> None:
    session.execute(
        update(OrderStatusLink)
        .where(OrderStatusLink.order_id == order_id, OrderStatusLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def current_token(session: Session, *, order_id: int) -> str | None:
    return session.execute(
        select(OrderStatusLink.token).where(
            OrderStatusLink.order_id == order_id, OrderStatusLink.revoked_at.is_(None)
        )
    ).scalar()


@dataclass(frozen=True)
class ShipmentSeen:
    number: str
    issued_on: datetime
    quantity: Decimal


@dataclass(frozen=True)
class LineStatus:
    description: str
    product_code: str
    ordered: Decimal
    shipped: Decimal
    backordered: Decimal
    cancelled: Decimal
    shipments: tuple[ShipmentSeen, ...]


@dataclass(frozen=True)
class OrderStatusView:
    """What the customer may see: the order's lines and where each stands, nothing else about them."""

    number: str
    customer_reference: str | None
    ordered_on: datetime
    status: str
    lines: tuple[LineStatus, ...]


def status_for_token(session: Session, token: str) -> OrderStatusView:
    order_id = session.execute(
        select(OrderStatusLink.order_id).where(
            OrderStatusLink.token == token, OrderStatusLink.revoked_at.is_(None)
        )
    ).scalar()
    if order_id is None:
        raise NotFound("this link is unknown or no longer valid")
    order = session.execute(
        select(SaleOrder).where(SaleOrder.id == order_id).options(selectinload(SaleOrder.lines))
    ).scalar_one()
    notes = (
        session.execute(
            select(DeliveryNote)
            .where(DeliveryNote.order_id == order_id, DeliveryNote.voided_at.is_(None))
            .options(selectinload(DeliveryNote.lines))
            .order_by(DeliveryNote.id)
        )
        .scalars()
        .all()
    )
    shipped_by_line: dict[int, list[ShipmentSeen]] = {}
    for note in notes:
        for note_line in note.lines:
            shipped_by_line.setdefault(note_line.order_line_id, []).append(
                ShipmentSeen(note.number, note.issued_at, note_line.quantity)
            )
    return OrderStatusView(
        number=order.number,
        customer_reference=order.customer_reference,
        ordered_on=order.created_at,
        status=order.status,
        lines=tuple(
            _line_status(line, order.status, shipped_by_line.get(line.id, [])) for line in order.lines
        ),
    )


def _line_status(line: SaleOrderLine, order_status: str, shipments: list[ShipmentSeen]) -> LineStatus:
    # Cancelled: what the customer gave up on the line, and all that was left of a cancelled order.
    cancelled = (line.closed_quantity or Decimal(0)) + (
        line.open_quantity if order_status == "cancelled" else 0
    )
    return LineStatus(
        description=line.description,
        product_code=line.product_code,
        ordered=line.quantity,
        shipped=line.shipped_quantity,
        backordered=line.backordered_quantity if order_status != "cancelled" else Decimal(0),
        cancelled=cancelled,
        shipments=tuple(shipments),
    )
