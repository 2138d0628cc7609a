"""Reviewing the lines a partner sent that could not become order lines as sent
(`UnresolvedOrderLine`: an unknown item, a zero, invalid or fractional-for-the-unit quantity).

A person maps each to a product, corrects its quantity, or removes it, always with a reason. A line
mapped or corrected becomes an order line priced as at capture (the product's price, the discount
the order was captured with), reserving its stock; the order's totals follow. Once no line is left
open and nothing else waits for review (`problems`), the order is released: it may ship. Otherwise a
rep accepts it (`accept_reviewed_order`) once every line is settled.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.money import MAX_AMOUNT, ZERO
from app.orders import repository
from app.orders.capture import content_fingerprint
from app.orders.models import (
    OrderStatus,
    SaleOrder,
    SaleOrderLine,
    UnresolvedLineStatus,
    UnresolvedOrderLine,
)
from app.orders.schemas import Warning
from app.pricing import PricedLine, breakdown_json, compute_totals, price_line

REVIEW_ROLES = (Role.REP,)
MAX_QUANTITY = Decimal(1_000_000)
_MILLI = Decimal("0.001")


@dataclass(frozen=True)
class Reviewed:
    """The order after one line was settled, and that line."""

    order: SaleOrder
    line: UnresolvedOrderLine
    released: bool


def map_line(
    session: Session,
    *,
    number: str,
    line_id: int,
    product_code: str | None,
    gtin: str | None,
    quantity: Decimal | None,
    reason: str,
    actor: Actor,
) -> Reviewed:
    """The line names this product (the partner's item was unknown, or another product is meant)."""
    order, line = _open_line(session, number=number, line_id=line_id, actor=actor)
    found = repository.products_for_capture(
        session, codes={product_code} if product_code else set(), gtins={gtin} if gtin else set()
    )
    product = next((p for p in found if (p.code == product_code if product_code else p.gtin == gtin)), None)
    if product is None:
        field, value = ("product_code", product_code) if product_code else ("gtin", gtin)
        raise InvalidInput(f"unknown product {value!r}", loc=("body", field))
    if quantity is None:
        quantity = capturable(line.quantity)
        if quantity is None:
            raise InvalidInput(
                f"the partner's quantity {line.quantity!r} cannot be an order line: give the quantity",
                loc=("body", "quantity"),
            )
    _add_order_line(session, order, line, product, quantity)
    return _settle(session, order, line, UnresolvedLineStatus.MAPPED, reason, actor, quantity)


def correct_line(
    session: Session, *, number: str, line_id: int, quantity: Decimal, reason: str, actor: Actor
) -> Reviewed:
    """The item is known; the quantity the partner sent was not possible: this is the right one."""
    order, line = _open_line(session, number=number, line_id=line_id, actor=actor)
    if line.product_code is None:
        raise Conflict(
            f"line {line.external_line_no or line.position} names no product we know: map it to one",
            errors=[FieldError(("path", "line_id"), "unknown item")],
            slug="line-item-unknown",
        )
    found = repository.products_for_capture(session, codes={line.product_code}, gtins=set())
    product = next((p for p in found if p.code == line.product_code), None)
    if product is None:
        raise Conflict(f"product {line.product_code} is no longer in the catalogue", slug="product-gone")
    _add_order_line(session, order, line, product, quantity)
    return _settle(session, order, line, UnresolvedLineStatus.CORRECTED, reason, actor, quantity)


def remove_line(session: Session, *, number: str, line_id: int, reason: str, actor: Actor) -> Reviewed:
    """The line is taken off the order: nothing of it will ship."""
    order, line = _open_line(session, number=number, line_id=line_id, actor=actor)
    return _settle(session, order, line, UnresolvedLineStatus.REMOVED, reason, actor)


def open_lines(order: SaleOrder) -> list[UnresolvedOrderLine]:
    return [line for line in order.unresolved_lines if line.status == UnresolvedLineStatus.OPEN]


def capturable(text: str) -> Decimal | None:
    """A quantity as the partner sent it, when an order line can hold it."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    if not value.is_finite() or not ZERO < value <= MAX_QUANTITY or value != value.quantize(_MILLI):
        return None
    return value


def _open_line(
    session: Session, *, number: str, line_id: int, actor: Actor
) -> tuple[SaleOrder, UnresolvedOrderLine]:
    actor.require(*REVIEW_ROLES)
    order = repository.get_order(session, number, lock=True)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}", errors=[FieldError(("path", "number"), "unknown order")])
    line = next((line for line in order.unresolved_lines if line.id == line_id), None)
    if line is None:
        raise NotFound(
            f"order {number} has no unresolved line {line_id}",
            errors=[FieldError(("path", "line_id"), "unknown line")],
        )
    if line.status != UnresolvedLineStatus.OPEN:
        raise Conflict(
            f"line {line.external_line_no or line.position} of order {number} is already {line.status}",
            errors=[FieldError(("path", "line_id"), f"already {line.status}")],
            slug="line-already-settled",
        )
    if order.status != OrderStatus.NEEDS_REVIEW:
        raise Conflict(
            f"order {number} is {order.status}, not waiting for review",
            errors=[FieldError(("path", "number"), f"order {order.status}")],
            slug="order-not-in-review",
        )
    return order, line


def _add_order_line(
    session: Session, order: SaleOrder, line: UnresolvedOrderLine, product: Any, quantity: Decimal
) -> None:
    if not product.allows_decimal_quantity and quantity != quantity.to_integral_value():
        raise InvalidInput(f"product {product.code} is sold in whole units", loc=("body", "quantity"))
    priced = price_line(
        quantity=quantity,
        unit_price=product.unit_price,
        price_includes_vat=product.price_includes_vat,
        vat_rate=product.vat_rate,
        customer_discount_percent=order.customer_discount_percent,
    )
    if priced.line_amount > MAX_AMOUNT:
        raise InvalidInput(f"the line amount would exceed {MAX_AMOUNT}", loc=("body", "quantity"))
    line_no = max((existing.line_no for existing in order.lines), default=0) + 1
    order_line = SaleOrderLine(
        line_no=line_no,
        product_id=product.id,
        product_code=product.code,
        gtin=product.gtin,
        description=product.name,
        quantity=quantity,
        unit_price=product.unit_price,
        price_includes_vat=product.price_includes_vat,
        discount_percent=ZERO,
        vat_rate=product.vat_rate,
        line_amount=priced.line_amount,
        net_amount=priced.net_amount,
        shipped_quantity=ZERO,
        backordered_quantity=ZERO,
        closed_quantity=ZERO,
        external_line_no=line.external_line_no,
    )
    lines = [*order.lines, order_line]
    totals = compute_totals(_priced(lines))
    if totals.gross > MAX_AMOUNT:
        raise InvalidInput(f"the order's total would exceed {MAX_AMOUNT}", loc=("body", "quantity"))
    available = product.stock_on_hand - product.reserved_quantity
    if quantity > available:
        order.warnings = [
            *order.warnings,
            Warning(
                code="stock_shortfall",
                line_no=line_no,
                detail=f"line {line_no}: {product.code} has {max(available, ZERO)} available "
                f"for {quantity} ordered",
            ).model_dump(exclude_none=True),
        ]
    order.lines.append(order_line)
    order.net_total, order.vat_total, order.gross_total = totals.net, totals.vat, totals.gross
    order.vat_breakdown = breakdown_json(totals)
    order.content_fingerprint = content_fingerprint(_demand(lines))
    repository.add_reserved_quantities(session, {product.id: quantity})
    line.product_id, line.product_code, line.order_line_no = product.id, product.code, line_no


SETTLED: dict[UnresolvedLineStatus, Action] = {
    UnresolvedLineStatus.MAPPED: Action.ORDER_LINE_MAPPED,
    UnresolvedLineStatus.CORRECTED: Action.ORDER_LINE_CORRECTED,
    UnresolvedLineStatus.REMOVED: Action.ORDER_LINE_REMOVED,
}


def _settle(
    session: Session,
    order: SaleOrder,
    line: UnresolvedOrderLine,
    status: UnresolvedLineStatus,
    reason: str,
    actor: Actor,
    quantity: Decimal | None = None,
) -> Reviewed:
    line.status = status
    line.resolution_reason = reason
    line.resolved_by = actor.caller_key
    line.resolved_at = utcnow()
    details = {
        "line": line.external_line_no or line.position,
        "reason": reason,
        "product": line.product_code,
        "quantity": quantity,
        "order_line": line.order_line_no,
    }
    audit.record(
        session, actor=actor, action=SETTLED[status], subject="order", ref=order.number, details=details
    )
    released = (
        bool(order.lines)
        and not open_lines(order)
        and all("resolved_by" in problem for problem in order.problems)
    )
    if released:
        order.status = OrderStatus.CAPTURED
        audit.record(
            session,
            actor=actor,
            action=Action.ORDER_ACCEPTED,
            subject="order",
            ref=order.number,
            details={"released": "its last unresolved line was settled"},
        )
    return Reviewed(order, line, released)


def _priced(lines: Sequence[SaleOrderLine]) -> list[PricedLine]:
    return [
        PricedLine(line.quantity, line.unit_price, line.price_includes_vat, line.vat_rate, line.line_amount)
        for line in lines
    ]


def _demand(lines: Sequence[SaleOrderLine]) -> dict[int, Decimal]:
    demand: dict[int, Decimal] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, ZERO) + line.quantity
    return demand
