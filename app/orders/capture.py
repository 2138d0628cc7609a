"""Capturing an order, in two phases so that the write lock is held as briefly as possible.

`plan_order` reads the snapshot (customer, products), validates and prices the order and decides
its stock warnings: no write. `record_order` numbers and writes it, reserves the stock and checks for
a possible duplicate, in the caller's transaction. The HTTP route runs the first phase on a read
session and the second through the writer; `capture_order` runs both on one session (CLI, demo data,
tests). An interchange's orders are recorded together by `record_orders`.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.catalog import repository as catalog_repository
from app.catalog.schemas import Address
from app.catalog.service import default_shipping_address, shipping_address_data
from app.clock import utcnow
from app.config import get_settings
from app.errors import BusinessRuleViolation, FieldError, InvalidInput, NotPermitted
from app.money import MAX_AMOUNT, ZERO
from app.numbering import business_moment, take_number, take_numbers
from app.orders import repository
from app.orders.models import OrderStatus
from app.orders.schemas import OrderCreate, OrderLineRead, OrderRead, Warning, totals_read
from app.pricing import PricedLine, Totals, breakdown_json, compute_totals, price_line

CAPTURE_ROLES = (Role.REP,)
DUPLICATE_WINDOW = timedelta(days=5)
MAX_LOOK_ALIKES = 5


class PlannedLine(NamedTuple):
    """An order line checked and priced against the snapshot, as it will be stored. A named tuple:
    an interchange plans ten thousand of them, and a frozen dataclass costs three times as much to
    build."""

    line_no: int
    product_id: int
    product_code: str
    gtin: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    price_includes_vat: bool
    discount_percent: Decimal
    vat_rate: Decimal
    priced: PricedLine
    external_line_no: str | None = None

    @property
    def line_amount(self) -> Decimal:
        return self.priced.line_amount

    @property
    def net_amount(self) -> Decimal:
        return self.priced.net_amount

    def row(self) -> dict[str, Any]:
        """The values of its `sale_order_line` row (without the order's id)."""
        return {
            "line_no": self.line_no,
            "product_id": self.product_id,
            "product_code": self.product_code,
            "gtin": self.gtin,
            "description": self.description,
            "quantity": self.quantity,
            "unit_price": self.unit_price,
            "price_includes_vat": self.price_includes_vat,
            "discount_percent": self.discount_percent,
            "vat_rate": self.vat_rate,
            "line_amount": self.line_amount,
            "net_amount": self.net_amount,
            "shipped_quantity": ZERO,
            "backordered_quantity": ZERO,
            "external_line_no": self.external_line_no,
        }


@dataclass(frozen=True)
class UnresolvedLinePlan:
    """A line a partner sent that cannot be an order line as sent, kept on the order with the
    partner's values (stored as `UnresolvedOrderLine`, reviewed in `app.orders.review`)."""

    position: int
    external_line_no: str | None
    items: tuple[dict[str, Any], ...]
    description: str | None
    quantity: str
    unit: str | None
    unit_price: str | None
    reason: str
    detail: str
    product_id: int | None = None
    product_code: str | None = None

    def row(self) -> dict[str, Any]:
        """The values of its `sale_order_unresolved_line` row (without the order's id)."""
        return {
            "position": self.position,
            "external_line_no": self.external_line_no,
            "items": list(self.items),
            "description": self.description,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price": self.unit_price,
            "reason": self.reason,
            "detail": self.detail,
            "product_id": self.product_id,
            "product_code": self.product_code,
            "status": "open",
            "resolution_reason": None,
            "resolved_by": None,
            "resolved_at": None,
            "order_line_no": None,
        }


@dataclass(frozen=True)
class OrderPlan:
    """An order validated and priced against the snapshot, ready to be numbered and written."""

    caller: str
    customer_id: int
    customer_code: str
    customer_name: str
    customer_discount_percent: Decimal
    channel: str
    customer_reference: str | None
    requested_date: date | None
    shipping_address: dict[str, Any] | None
    notes: str | None
    email_text: str | None
    lines: tuple[PlannedLine, ...]
    totals: Totals
    warnings: tuple[Warning, ...]
    demand: dict[int, Decimal]
    content_fingerprint: str
    status: OrderStatus = OrderStatus.CAPTURED
    problems: tuple[dict[str, Any], ...] = ()
    external_references: dict[str, Any] | None = None
    unresolved: tuple[UnresolvedLinePlan, ...] = ()


def capture_order(session: Session, *, draft: OrderCreate, actor: Actor) -> OrderRead:
    """Record an order against the master-data snapshot, in one transaction."""
    return record_order(session, plan=plan_order(session, draft=draft, actor=actor), actor=actor)


def plan_order(session: Session, *, draft: OrderCreate, actor: Actor) -> OrderPlan:
    """Validate and price an order against the snapshot; nothing is written."""
    if actor.kind == "user":
        actor.require(*CAPTURE_ROLES)
    customer = repository.customer_for_capture(session, draft.customer_code)
    if customer is None:
        raise InvalidInput(f"unknown customer {draft.customer_code!r}", loc=("body", "customer_code"))
    if not actor.may_see_customer(customer.id):
        raise NotPermitted(f"customer {draft.customer_code!r} is not one of yours")
    if customer.blocked:
        raise BusinessRuleViolation(
            f"customer {customer.code} is blocked: no order may be taken", slug="customer-blocked"
        )
    shipping_address = _resolve_shipping_address(session, customer.id, draft.shipping_address)
    products = repository.products_for_capture(
        session,
        codes={line.product_code for line in draft.lines if line.product_code},
        gtins={line.gtin for line in draft.lines if line.gtin},
    )
    plan = price_order(
        draft=draft,
        caller=actor.caller_key,
        customer=customer,
        products=products,
        shipping_address=shipping_address,
    )
    _check_storable_amounts(plan)
    if actor.kind == "partner":
        plan = _hold_partner_prices(plan, draft)
    return plan


def preview_order(session: Session, *, draft: OrderCreate, actor: Actor) -> OrderPlan:
    """What the order would be if recorded now, its possible duplicates included; nothing is written.
    The desk shows it while the rep types, with the same prices and warnings capture gives."""
    plan = plan_order(session, draft=draft, actor=actor)
    duplicate = _possible_duplicate(session, plan, utcnow())
    return plan if duplicate is None else replace(plan, warnings=(*plan.warnings, duplicate))


def _hold_partner_prices(plan: OrderPlan, draft: OrderCreate) -> OrderPlan:
    """A partner may propose its own prices or discounts, but not impose them: the order waits for a
    rep's review (POST /orders/{number}/accept) before it ships or reaches the ERP."""
    asked = [
        {
            "code": "partner_price",
            "line_no": line_no,
            "detail": f"line {line_no}: the partner asks"
            + (f" a unit price of {line.unit_price}" if line.unit_price is not None else "")
            + (f" a discount of {line.discount_percent} %" if line.discount_percent is not None else ""),
        }
        for line_no, line in enumerate(draft.lines, start=1)
        if line.unit_price is not None or line.discount_percent is not None
    ]
    if not asked:
        return plan
    return replace(plan, status=OrderStatus.NEEDS_REVIEW, problems=(*plan.problems, *asked))


def _check_storable_amounts(plan: OrderPlan) -> None:
    """Amounts a money column cannot hold are refused here, located, rather than failing the insert
    (PostgreSQL) or being stored out of range (SQLite). Every line of a plan is its draft line."""
    errors = [
        FieldError(("body", "lines", index, "quantity"), f"the line amount exceeds {MAX_AMOUNT}")
        for index, line in enumerate(plan.lines)
        if line.line_amount > MAX_AMOUNT
    ]
    if errors:
        raise InvalidInput("the order has invalid lines", errors=errors)
    if plan.totals.gross > MAX_AMOUNT:
        raise InvalidInput(f"the order's total exceeds {MAX_AMOUNT}", loc=("body", "lines"))


def price_order(
    *,
    draft: OrderCreate,
    caller: str,
    customer: Any,
    products: Sequence[Any],
    shipping_address: dict[str, Any] | None,
    already_demanded: Mapping[int, Decimal] | None = None,
) -> OrderPlan:
    """The pure part of planning: lines checked and priced against rows already read (`customer` and
    `products` as `repository.customer_for_capture` / `products_for_capture` return them).

    `already_demanded` is what earlier orders of the same batch (an EDI interchange) will reserve
    but have not recorded yet, so that their stock warnings see each other.
    """
    lines, warnings = _checked_lines(draft, products)
    return plan_lines(
        caller=caller,
        customer=customer,
        channel=draft.channel,
        customer_reference=draft.customer_reference,
        requested_date=draft.requested_date,
        shipping_address=shipping_address,
        notes=draft.notes,
        email_text=draft.email_text,
        lines=lines,
        warnings=warnings,
        already_demanded=already_demanded,
    )


class LineToPrice(NamedTuple):
    """A line whose product is known and whose quantity and price were checked."""

    product: Any
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = ZERO
    external_line_no: str | None = None


def plan_lines(
    *,
    caller: str,
    customer: Any,
    channel: str,
    customer_reference: str | None,
    requested_date: date | None,
    shipping_address: dict[str, Any] | None,
    notes: str | None,
    email_text: str | None,
    lines: Sequence[LineToPrice],
    warnings: Sequence[Warning] = (),
    already_demanded: Mapping[int, Decimal] | None = None,
    status: OrderStatus = OrderStatus.CAPTURED,
    problems: tuple[dict[str, Any], ...] = (),
    external_references: dict[str, Any] | None = None,
    unresolved: tuple[UnresolvedLinePlan, ...] = (),
) -> OrderPlan:
    """Checked lines priced (app.pricing) into an order plan, with its stock warnings. What a caller
    that resolved its products itself (an EDI interchange's planner) calls directly."""
    discount = customer.discount_percent
    planned = [
        PlannedLine(
            line_no=line_no,
            product_id=line.product.id,
            product_code=line.product.code,
            gtin=line.product.gtin,
            description=line.product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            price_includes_vat=line.product.price_includes_vat,
            discount_percent=line.discount_percent,
            vat_rate=line.product.vat_rate,
            priced=price_line(
                quantity=line.quantity,
                unit_price=line.unit_price,
                price_includes_vat=line.product.price_includes_vat,
                vat_rate=line.product.vat_rate,
                line_discount_percent=line.discount_percent,
                customer_discount_percent=discount,
            ),
            external_line_no=line.external_line_no,
        )
        for line_no, line in enumerate(lines, start=1)
    ]
    demand: dict[int, Decimal] = {}
    for line in planned:
        demand[line.product_id] = demand.get(line.product_id, ZERO) + line.quantity
    available = {
        line.product.id: line.product.stock_on_hand - line.product.reserved_quantity for line in lines
    }
    if already_demanded:  # an interchange's every product so far: look up this order's few in it
        for product_id in available:
            available[product_id] -= already_demanded.get(product_id, ZERO)
    return OrderPlan(
        caller=caller,
        customer_id=customer.id,
        customer_code=customer.code,
        customer_name=customer.name,
        customer_discount_percent=discount,
        channel=channel,
        customer_reference=customer_reference,
        requested_date=requested_date,
        shipping_address=shipping_address,
        notes=notes,
        email_text=email_text,
        lines=tuple(planned),
        totals=compute_totals(line.priced for line in planned),
        warnings=(*warnings, *_stock_shortfalls(planned, demand, available)),
        demand=demand,
        content_fingerprint=content_fingerprint(demand),
        status=status,
        problems=problems,
        external_references=external_references,
        unresolved=unresolved,
    )


def _checked_lines(draft: OrderCreate, products: Sequence[Any]) -> tuple[list[LineToPrice], list[Warning]]:
    """Each draft line matched to its product; every refusal is located in one error."""
    by_code = {p.code: p for p in products}
    by_gtin = {p.gtin: p for p in products if p.gtin}
    errors: list[FieldError] = []
    warnings: list[Warning] = []
    lines: list[LineToPrice] = []
    for index, line in enumerate(draft.lines):
        loc = ("body", "lines", index)
        product = by_code.get(line.product_code) if line.product_code else by_gtin.get(line.gtin or "")
        if product is None:
            field, value = ("product_code", line.product_code) if line.product_code else ("gtin", line.gtin)
            errors.append(FieldError((*loc, field), f"unknown product {value!r}"))
            continue
        if line.product_code and line.gtin and product.gtin != line.gtin:
            errors.append(FieldError((*loc, "gtin"), f"GTIN {line.gtin} is not product {product.code}'s"))
            continue
        if not product.allows_decimal_quantity and line.quantity != line.quantity.to_integral_value():
            errors.append(FieldError((*loc, "quantity"), f"product {product.code} is sold in whole units"))
            continue
        line_no = len(lines) + 1
        unit_price = product.unit_price
        if line.unit_price is not None and line.unit_price != product.unit_price:
            if product.price_locked:
                errors.append(FieldError((*loc, "unit_price"), f"product {product.code} has a fixed price"))
                continue
            unit_price = line.unit_price
            warnings.append(
                Warning(
                    code="price_override",
                    line_no=line_no,
                    detail=f"line {line_no}: price {line.unit_price} instead of {product.unit_price}",
                )
            )
        discount = line.discount_percent if line.discount_percent is not None else ZERO
        lines.append(LineToPrice(product, line.quantity, unit_price, discount))
    if errors:
        raise InvalidInput("the order has invalid lines", errors=errors)
    return lines, warnings


def _stock_shortfalls(
    lines: Sequence[PlannedLine], demand: Mapping[int, Decimal], available: Mapping[int, Decimal]
) -> list[Warning]:
    return [
        Warning(
            code="stock_shortfall",
            line_no=line.line_no,
            product_code=line.product_code,
            available=max(available[line.product_id], ZERO),
            ordered=demand[line.product_id],
            detail=f"line {line.line_no}: {line.product_code} has {max(available[line.product_id], ZERO)} "
            f"available for {demand[line.product_id]} ordered",
        )
        for line in lines
        if demand[line.product_id] > available[line.product_id]
    ]


def record_order(session: Session, *, plan: OrderPlan, actor: audit.Who) -> OrderRead:
    """Number and write a planned order, reserve its stock, warn of a possible duplicate."""
    now = utcnow()
    warnings = list(plan.warnings)
    duplicate = _possible_duplicate(session, plan, now)
    if duplicate is not None:
        warnings.append(duplicate)
    number = take_number(session, get_settings().order_number_prefix, business_moment(now))
    rows = [line.row() for line in plan.lines]
    repository.insert_order(session, _order_row(plan, number, now, warnings), rows)
    repository.add_reserved_quantities(session, plan.demand)
    _audit_capture(session, actor, plan, number)
    return OrderRead(
        number=number,
        status=plan.status,
        customer_code=plan.customer_code,
        customer_name=plan.customer_name,
        channel=plan.channel,
        customer_reference=plan.customer_reference,
        requested_date=plan.requested_date,
        shipping_address=plan.shipping_address,
        notes=plan.notes,
        email_text=plan.email_text,
        customer_discount_percent=plan.customer_discount_percent,
        created_at=now,
        captured_by=plan.caller,
        lines=[OrderLineRead(**row) for row in rows],
        totals=totals_read(plan.totals),
        warnings=warnings,
        problems=list(plan.problems),
        external_references=plan.external_references,
    )


@dataclass(frozen=True)
class RecordedOrder:
    id: int
    number: str
    warnings: tuple[Warning, ...]


class _BatchOrder(NamedTuple):
    number: str
    channel: str
    customer_reference: str | None


def record_orders(
    session: Session, *, plans: Sequence[OrderPlan], actor: audit.Who = audit.COMMAND_LINE
) -> list[RecordedOrder]:
    """Number and write the orders of one batch (an EDI interchange) together: one range of numbers,
    multi-row inserts, one stock reservation per product. Each order still gets its duplicate check,
    against earlier orders and against the batch's own. No idempotency keys: the caller dedups."""
    if not plans:
        return []
    now = utcnow()
    prefix = get_settings().order_number_prefix
    numbers = take_numbers(session, prefix, business_moment(now), len(plans))
    earlier = _earlier_look_alikes(session, plans, now - DUPLICATE_WINDOW)
    same_reference: dict[tuple[int, str], list[_BatchOrder]] = {}
    same_content: dict[tuple[int, str], list[_BatchOrder]] = {}
    rows: list[dict[str, Any]] = []
    warned: list[tuple[Warning, ...]] = []
    demand: dict[int, Decimal] = {}
    for plan, number in zip(plans, numbers, strict=True):
        content = (plan.customer_id, plan.content_fingerprint)
        reference = (plan.customer_id, plan.customer_reference) if plan.customer_reference else None
        in_batch = {o.number: o for o in same_content.get(content, ())}
        if reference is not None:
            in_batch.update((o.number, o) for o in same_reference.get(reference, ()))
        warnings = list(plan.warnings)
        duplicate = _duplicate_warning(plan, earlier.get(id(plan), ()), sorted(in_batch.values()))
        if duplicate is not None:
            warnings.append(duplicate)
        rows.append(_order_row(plan, number, now, warnings))
        warned.append(tuple(warnings))
        this = _BatchOrder(number, plan.channel, plan.customer_reference)
        same_content.setdefault(content, []).append(this)
        if reference is not None:
            same_reference.setdefault(reference, []).append(this)
        for product_id, quantity in plan.demand.items():
            demand[product_id] = demand.get(product_id, ZERO) + quantity
    ids = repository.insert_orders(
        session,
        rows,
        [plan.lines for plan in plans],
        [[line.row() for line in plan.unresolved] for plan in plans],
    )
    repository.add_reserved_quantities(session, demand)
    for plan, number in zip(plans, numbers, strict=True):
        _audit_capture(session, actor, plan, number)
    return [RecordedOrder(*recorded) for recorded in zip(ids, numbers, warned, strict=True)]


def _audit_capture(session: Session, actor: audit.Who, plan: OrderPlan, number: str) -> None:
    details: dict[str, Any] = {
        "customer": plan.customer_code,
        "channel": plan.channel,
        "status": plan.status.value,
        "lines": len(plan.lines),
        "gross": plan.totals.gross,
    }
    if plan.unresolved:
        details["unresolved_lines"] = len(plan.unresolved)
    audit.record(
        session, actor=actor, action=Action.ORDER_CAPTURED, subject="order", ref=number, details=details
    )


def _earlier_look_alikes(
    session: Session, plans: Sequence[OrderPlan], since: datetime
) -> dict[int, list[Any]]:
    """Each plan's look-alikes among earlier orders (by `id()` of the plan), read in one query for the
    whole batch rather than one per order."""
    rows = repository.look_alike_orders_of(
        session,
        customer_ids={plan.customer_id for plan in plans},
        references={plan.customer_reference for plan in plans if plan.customer_reference},
        fingerprints={plan.content_fingerprint for plan in plans},
        since=since,
    )
    by_customer: dict[int, list[Any]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    found: dict[int, list[Any]] = {}
    for plan in plans:
        alikes = [
            row
            for row in by_customer.get(plan.customer_id, ())
            if (plan.customer_reference and row.customer_reference == plan.customer_reference)
            or (row.content_fingerprint == plan.content_fingerprint and row.created_at >= since)
        ]
        if alikes:
            found[id(plan)] = alikes[:MAX_LOOK_ALIKES]
    return found


def _order_row(plan: OrderPlan, number: str, now: datetime, warnings: list[Warning]) -> dict[str, Any]:
    return {
        "number": number,
        "status": plan.status,
        "customer_id": plan.customer_id,
        "channel": plan.channel,
        "customer_reference": plan.customer_reference,
        "requested_date": plan.requested_date,
        "shipping_address": plan.shipping_address,
        "notes": plan.notes,
        "email_text": plan.email_text,
        "customer_discount_percent": plan.customer_discount_percent,
        "net_total": plan.totals.net,
        "vat_total": plan.totals.vat,
        "gross_total": plan.totals.gross,
        "vat_breakdown": breakdown_json(plan.totals),
        "warnings": [w.model_dump(mode="json", exclude_none=True) for w in warnings],
        "problems": list(plan.problems),
        "external_references": plan.external_references,
        "content_fingerprint": plan.content_fingerprint,
        "captured_by": plan.caller,
        "created_at": now,
    }


def content_fingerprint(demand: dict[int, Decimal]) -> str:
    """The same products in the same quantities give the same fingerprint, in whatever line order."""
    canonical = ";".join(
        f"{product_id}:{quantity.normalize()}" for product_id, quantity in sorted(demand.items())
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _possible_duplicate(session: Session, plan: OrderPlan, now: datetime) -> Warning | None:
    """Customers in a crisis send the same order twice (by phone, then by EDI): name the look-alikes."""
    earlier = repository.look_alike_orders(
        session,
        customer_id=plan.customer_id,
        reference=plan.customer_reference,
        fingerprint=plan.content_fingerprint,
        since=now - DUPLICATE_WINDOW,
    )
    return _duplicate_warning(plan, earlier)


def _duplicate_warning(
    plan: OrderPlan, earlier: Sequence[Any], in_batch: Sequence[Any] = ()
) -> Warning | None:
    """The warning naming an order's look-alikes: earlier orders, then those of its own batch."""
    alikes = [*earlier, *in_batch][:MAX_LOOK_ALIKES]
    if not plan.demand:  # an order with no line yet (its lines await review) has no content to compare
        alikes = [
            o for o in alikes if plan.customer_reference and o.customer_reference == plan.customer_reference
        ]
    if not alikes:
        return None
    reasons = []
    for order in alikes:
        why = (
            "the same reference"
            if plan.customer_reference and order.customer_reference == plan.customer_reference
            else "the same items and quantities"
        )
        reasons.append(f"{order.number} ({order.channel}, {why})")
    return Warning(
        code="possible_duplicate",
        orders=[order.number for order in alikes],
        detail=f"customer {plan.customer_code} already has {'; '.join(reasons)}",
    )


def _resolve_shipping_address(
    session: Session, customer_id: int, requested: str | Address | None
) -> dict[str, Any] | None:
    """The address the order ships to: the one named, else the customer's default shipping address,
    else (no shipping address at all) None, meaning the billing address. A customer with several
    addresses and no default must be told which one."""
    if isinstance(requested, Address):
        return requested.model_dump()
    if requested is None:
        addresses = catalog_repository.shipping_addresses_of(session, customer_id)
        default = default_shipping_address(addresses)
        if default is None and addresses:
            codes = ", ".join(address.code for address in addresses)
            raise InvalidInput(
                f"the customer has {len(addresses)} shipping addresses and none is the default: "
                f"name one of {codes}",
                loc=("body", "shipping_address"),
            )
        return shipping_address_data(default) if default is not None else None
    address = repository.shipping_address_by_code(session, customer_id, requested)
    if address is None:
        raise InvalidInput(
            f"the customer has no shipping address {requested!r}", loc=("body", "shipping_address")
        )
    return shipping_address_data(address)
