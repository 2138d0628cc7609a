"""Order use cases after capture: read, list, cancel (capture itself is in `capture.py`), and the
bookkeeping of shipments on an order (shipped and backordered quantities, status)."""

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.clock import utcnow
from app.errors import Conflict, NotFound
from app.money import ZERO
from app.orders import repository
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine, UnresolvedLineStatus, UnresolvedOrderLine
from app.orders.schemas import OrderLineRead, OrderRead, UnresolvedLineRead, Warning, totals_read
from app.pagination import Page, next_cursor
from app.pricing import stored_totals


def get_order(session: Session, *, number: str, actor: Actor) -> SaleOrder:
    order = repository.get_order(session, number)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}")
    return order


def list_orders(
    session: Session,
    *,
    actor: Actor,
    customer_code: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Page[OrderRead]:
    rows = repository.list_orders(
        session,
        customer_code=customer_code,
        status=status,
        channel=channel,
        q=q,
        before_id=before_id,
        limit=limit,
        customer_ids=actor.customer_ids,
    )
    cursor = next_cursor(rows, limit)
    return Page[OrderRead](items=[order_read(order) for order in rows], next_cursor=cursor)


def cancel_order(session: Session, *, number: str, actor: Actor) -> SaleOrder:
    """Cancel an order nothing of which has shipped, and release what it reserved."""
    actor.require(Role.REP)
    order = repository.get_order(session, number, lock=True)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}")
    if order.status == OrderStatus.CANCELLED:
        return order
    if order.status in (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED) or any(
        line.shipped_quantity > 0 for line in order.lines
    ):
        raise Conflict(f"order {number} has shipped goods and can no longer be cancelled")
    release: dict[int, Decimal] = {}
    for line in order.lines:
        release[line.product_id] = release.get(line.product_id, ZERO) + line.open_quantity
    repository.add_reserved_quantities(session, {pid: -qty for pid, qty in release.items()})
    audit.record(
        session,
        actor=actor,
        action=Action.ORDER_CANCELLED,
        subject="order",
        ref=number,
        details={"status_before": order.status},
    )
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    return order


def accept_reviewed_order(session: Session, *, number: str, actor: Actor) -> SaleOrder:
    """A rep has looked at an order held for review (an EDI order with a price that differs from ours,
    an unknown delivery party, a partner's own prices...) and accepts it as it stands: it may ship and
    be replayed. Each problem keeps who resolved it and when. The lines the partner sent that are not
    order lines yet are settled one by one first (`app.orders.review`)."""
    actor.require(Role.REP)
    order = repository.get_order(session, number, lock=True)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}")
    if order.status != OrderStatus.NEEDS_REVIEW:
        raise Conflict(f"order {number} is {order.status}, not waiting for review")
    pending = [line for line in order.unresolved_lines if line.status == UnresolvedLineStatus.OPEN]
    if pending:
        labels = ", ".join(str(line.external_line_no or line.position) for line in pending)
        raise Conflict(
            f"order {number} has lines the partner sent that are not settled yet ({labels}): map, "
            "correct or remove each first",
            slug="unresolved-lines",
        )
    resolved_at = utcnow().isoformat()
    order.problems = [
        {**problem, "resolved_by": actor.caller_key, "resolved_at": resolved_at} for problem in order.problems
    ]
    order.status = OrderStatus.CAPTURED
    audit.record(
        session,
        actor=actor,
        action=Action.ORDER_ACCEPTED,
        subject="order",
        ref=number,
        details={"problems": [problem.get("code") for problem in order.problems]},
    )
    return order


SHIPPABLE_STATUSES = (OrderStatus.CAPTURED, OrderStatus.PARTIALLY_SHIPPED)


def shipping_status(lines: list[SaleOrderLine]) -> OrderStatus:
    """The status an open order has once shipping has moved its lines: nothing shipped (again, after a
    delivery note was voided), some of it, or all of it."""
    if all(line.open_quantity <= 0 for line in lines):
        return OrderStatus.SHIPPED
    if any(line.shipped_quantity > 0 for line in lines):
        return OrderStatus.PARTIALLY_SHIPPED
    return OrderStatus.CAPTURED


def record_shipment(order: SaleOrder, *, quantities: Mapping[int, Decimal]) -> None:
    """Add shipped quantities (by order line number; negative when a delivery note is voided) to an
    order locked by the caller, then set its status and backorders.

    Once something has shipped, what is left of every line is a backorder (ordered - shipped); an
    order that has shipped nothing, or everything, has none. The stock and the reservations of the
    products are the caller's: it holds the product rows locked.
    """
    if order.status not in SHIPPABLE_STATUSES and order.status != OrderStatus.SHIPPED:
        raise Conflict(f"order {order.number} is {order.status}: its shipments cannot change")
    for line in order.lines:
        line.shipped_quantity += quantities.get(line.line_no, ZERO)
    order.status = shipping_status(order.lines)
    for line in order.lines:
        remaining = max(line.open_quantity, ZERO)
        line.backordered_quantity = remaining if order.status == OrderStatus.PARTIALLY_SHIPPED else ZERO


def order_read(order: SaleOrder) -> OrderRead:
    totals = stored_totals(order.net_total, order.vat_total, order.gross_total, order.vat_breakdown)
    return OrderRead(
        number=order.number,
        status=order.status,
        customer_code=order.customer.code,
        customer_name=order.customer.name,
        channel=order.channel,
        customer_reference=order.customer_reference,
        requested_date=order.requested_date,
        shipping_address=order.shipping_address,
        notes=order.notes,
        email_text=order.email_text,
        customer_discount_percent=order.customer_discount_percent,
        created_at=order.created_at,
        captured_by=order.captured_by,
        lines=[OrderLineRead.model_validate(line) for line in order.lines],
        totals=totals_read(totals),
        warnings=[Warning(**w) for w in order.warnings],
        problems=order.problems,
        external_references=order.external_references,
        unresolved_lines=[UnresolvedLineRead.model_validate(line) for line in _unresolved_lines(order)],
    )


def _unresolved_lines(order: SaleOrder) -> list[UnresolvedOrderLine]:
    """The order's unresolved lines, when the query that read it loaded them: the shipping paths lock
    an order without them (an order that ships has none left open), and they are not read again."""
    if "unresolved_lines" in inspect(order).unloaded:
        return []
    return list(order.unresolved_lines)
