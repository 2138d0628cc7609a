"""Order use cases: capture (with idempotency, stock and duplicate warnings), read, list, cancel."""

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import Actor
from app.catalog.schemas import Address
from app.clock import utcnow
from app.config import get_settings
from app.errors import BusinessRuleViolation, Conflict, FieldError, InvalidInput, NotFound, NotPermitted
from app.money import ZERO, rate_str
from app.numbering import format_number, next_number, yearly_series
from app.orders import repository
from app.orders.models import IdempotencyRecord, OrderStatus, SaleOrder, SaleOrderLine
from app.orders.schemas import (
    OrderCreate,
    OrderLineRead,
    OrderRead,
    TotalsRead,
    VatLineRead,
    Warning,
)
from app.pagination import Page, encode_cursor
from app.pricing import PricedLine, Totals, VatLine, compute_totals, price_line

CAPTURE_ROLES = (Role.REP,)


@dataclass(frozen=True)
class CaptureAnswer:
    """What the caller gets: the order's JSON and the status, first time or replayed."""

    status_code: int
    body: bytes
    replayed: bool


def capture_order(
    session: Session, *, draft: OrderCreate, actor: Actor, idempotency_key: str | None = None
) -> CaptureAnswer:
    """Record an order against the master-data snapshot.

    With an idempotency key, the same key and body give back the first answer and create nothing;
    the same key with another body is refused. The key is claimed first, inside the transaction, so
    that of two concurrent requests with one key, the second waits for the first and replays it.
    """
    if actor.kind == "user":
        actor.require(*CAPTURE_ROLES)
    record: IdempotencyRecord | None = None
    if idempotency_key is not None:
        request_hash = _request_hash(draft)
        replay = _claim_key(session, actor=actor, key=idempotency_key, request_hash=request_hash)
        if isinstance(replay, CaptureAnswer):
            return replay
        record = replay

    read = _record_order(session, draft=draft, actor=actor)
    body = orjson.dumps(read.model_dump(mode="json"))
    if record is not None:
        record.response_body = body.decode()
        record.response_status = 201
    return CaptureAnswer(status_code=201, body=body, replayed=False)


def _request_hash(draft: OrderCreate) -> str:
    canonical = orjson.dumps(draft.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _claim_key(
    session: Session, *, actor: Actor, key: str, request_hash: str
) -> IdempotencyRecord | CaptureAnswer:
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 200 printable characters", loc=("header", "Idempotency-Key")
        )
    existing = _find_key(session, actor.caller_key, key)
    if existing is None:
        record = IdempotencyRecord(
            caller=actor.caller_key,
            key=key,
            request_hash=request_hash,
            response_status=0,
            response_body="",
            created_at=utcnow(),
        )
        try:
            with session.begin_nested():
                session.add(record)
            return record
        except IntegrityError:
            # A concurrent request claimed the key and has committed by now: answer as it did.
            existing = _find_key(session, actor.caller_key, key)
            if existing is None:
                raise
    if existing.request_hash != request_hash:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return CaptureAnswer(
        status_code=existing.response_status, body=existing.response_body.encode(), replayed=True
    )


def _find_key(session: Session, caller: str, key: str) -> IdempotencyRecord | None:
    return session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.caller == caller, IdempotencyRecord.key == key)
    ).scalar_one_or_none()


def _record_order(session: Session, *, draft: OrderCreate, actor: Actor) -> OrderRead:
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

    products = repository.lock_products_for_capture(
        session,
        codes={line.product_code for line in draft.lines if line.product_code},
        gtins={line.gtin for line in draft.lines if line.gtin},
    )
    by_code = {p.code: p for p in products}
    by_gtin = {p.gtin: p for p in products if p.gtin}

    errors: list[FieldError] = []
    warnings: list[Warning] = []
    priced: list[tuple[Any, PricedLine, Decimal]] = []
    demand: dict[int, Decimal] = {}
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
        unit_price = product.unit_price
        if line.unit_price is not None and line.unit_price != product.unit_price:
            if product.price_locked:
                errors.append(FieldError((*loc, "unit_price"), f"product {product.code} has a fixed price"))
                continue
            unit_price = line.unit_price
            warnings.append(
                Warning(
                    code="price_override",
                    line_no=index + 1,
                    detail=f"line {index + 1}: price {line.unit_price} instead of {product.unit_price}",
                )
            )
        line_discount = line.discount_percent if line.discount_percent is not None else ZERO
        priced.append(
            (
                product,
                price_line(
                    quantity=line.quantity,
                    unit_price=unit_price,
                    price_includes_vat=product.price_includes_vat,
                    vat_rate=product.vat_rate,
                    line_discount_percent=line_discount,
                    customer_discount_percent=customer.discount_percent,
                ),
                line_discount,
            )
        )
        demand[product.id] = demand.get(product.id, ZERO) + line.quantity
    if errors:
        raise InvalidInput("the order has invalid lines", errors=errors)

    for line_no, (product, _line, _discount) in enumerate(priced, start=1):
        available = product.stock_on_hand - product.reserved_quantity
        if demand[product.id] > available:
            warnings.append(
                Warning(
                    code="stock_shortfall",
                    line_no=line_no,
                    detail=f"line {line_no}: {product.code} has {max(available, ZERO)} available for "
                    f"{demand[product.id]} ordered",
                )
            )
    if draft.customer_reference:
        others = repository.open_orders_with_reference(session, customer.id, draft.customer_reference)
        if others:
            warnings.append(
                Warning(
                    code="possible_duplicate",
                    orders=others,
                    detail=f"customer {customer.code} already has {', '.join(others)} "
                    f"with reference {draft.customer_reference!r}",
                )
            )

    totals = compute_totals(line for _, line, _ in priced)
    now = utcnow()
    number = format_number(
        get_settings().order_number_prefix,
        now.year,
        next_number(session, yearly_series(get_settings().order_number_prefix, now)),
    )
    warning_dicts = [w.model_dump(exclude_none=True) for w in warnings]
    vat_breakdown = [
        {"rate": rate_str(v.rate), "base": str(v.base), "amount": str(v.amount)} for v in totals.vat_breakdown
    ]
    order_id = session.execute(
        insert(SaleOrder.__table__).returning(SaleOrder.__table__.c.id),
        {
            "number": number,
            "status": OrderStatus.CAPTURED,
            "customer_id": customer.id,
            "channel": draft.channel,
            "customer_reference": draft.customer_reference,
            "requested_date": draft.requested_date,
            "shipping_address": shipping_address,
            "notes": draft.notes,
            "customer_discount_percent": customer.discount_percent,
            "net_total": totals.net,
            "vat_total": totals.vat,
            "gross_total": totals.gross,
            "vat_breakdown": vat_breakdown,
            "warnings": warning_dicts,
            "captured_by": actor.caller_key,
            "created_at": now,
        },
    ).scalar_one()
    line_rows = [
        {
            "order_id": order_id,
            "line_no": line_no,
            "product_id": product.id,
            "product_code": product.code,
            "gtin": product.gtin,
            "description": product.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "price_includes_vat": line.price_includes_vat,
            "discount_percent": discount,
            "vat_rate": line.vat_rate,
            "line_amount": line.line_amount,
            "net_amount": line.net_amount,
            "shipped_quantity": ZERO,
            "backordered_quantity": ZERO,
        }
        for line_no, (product, line, discount) in enumerate(priced, start=1)
    ]
    session.execute(insert(SaleOrderLine.__table__), line_rows)
    reserved = {p.id: p.reserved_quantity for p in products}
    repository.set_reserved_quantities(session, {pid: reserved[pid] + qty for pid, qty in demand.items()})

    return OrderRead(
        number=number,
        status=OrderStatus.CAPTURED,
        customer_code=customer.code,
        customer_name=customer.name,
        channel=draft.channel,
        customer_reference=draft.customer_reference,
        requested_date=draft.requested_date,
        shipping_address=shipping_address,
        notes=draft.notes,
        customer_discount_percent=customer.discount_percent,
        created_at=now,
        captured_by=actor.caller_key,
        lines=[OrderLineRead(**row) for row in line_rows],
        totals=_totals_read(totals),
        warnings=warnings,
    )


def _resolve_shipping_address(
    session: Session, customer_id: int, requested: str | Address | None
) -> dict[str, Any] | None:
    if requested is None:
        return None
    if isinstance(requested, Address):
        return requested.model_dump()
    address = repository.shipping_address_by_code(session, customer_id, requested)
    if address is None:
        raise InvalidInput(
            f"the customer has no shipping address {requested!r}", loc=("body", "shipping_address")
        )
    return {
        "code": address.code,
        "name": address.name,
        "street": address.street,
        "street2": address.street2,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
        "gln": address.gln,
    }


def _totals_read(totals: Totals) -> TotalsRead:
    return TotalsRead(
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        vat_breakdown=[VatLineRead(rate=v.rate, base=v.base, amount=v.amount) for v in totals.vat_breakdown],
    )


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
    cursor = encode_cursor(rows[-1].id) if len(rows) == limit else None
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
        release[line.product_id] = release.get(line.product_id, ZERO) + line.quantity - line.shipped_quantity
    reserved = repository.lock_reserved_quantities(session, set(release))
    repository.set_reserved_quantities(
        session, {pid: max(reserved[pid] - qty, ZERO) for pid, qty in release.items()}
    )
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = utcnow()
    return order


def order_read(order: SaleOrder) -> OrderRead:
    totals = Totals(
        net=order.net_total,
        vat=order.vat_total,
        gross=order.gross_total,
        vat_breakdown=tuple(
            VatLine(rate=Decimal(v["rate"]), base=Decimal(v["base"]), amount=Decimal(v["amount"]))
            for v in order.vat_breakdown
        ),
    )
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
        customer_discount_percent=order.customer_discount_percent,
        created_at=order.created_at,
        captured_by=order.captured_by,
        lines=[
            OrderLineRead(
                line_no=line.line_no,
                product_code=line.product_code,
                gtin=line.gtin,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                price_includes_vat=line.price_includes_vat,
                discount_percent=line.discount_percent,
                vat_rate=line.vat_rate,
                line_amount=line.line_amount,
                net_amount=line.net_amount,
                shipped_quantity=line.shipped_quantity,
                backordered_quantity=line.backordered_quantity,
            )
            for line in order.lines
        ],
        totals=_totals_read(totals),
        warnings=[Warning(**w) for w in order.warnings],
    )
