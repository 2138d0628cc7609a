"""Warehouse use cases: ship an order (a delivery note), void a note, receive stock, list backorders.

What the warehouse can ship is what is physically on hand (`stock_on_hand`), first come first served:
reservations by other open orders do not hold goods back. Every shipped quantity leaves stock on hand
and the product's reservation; what is left of the order becomes its backorder (see
`app.orders.service.record_shipment`).

The deferred invoice that every delivery note needs is issued by `app.invoicing.service.ship_order`,
which calls `issue_delivery_note` here: imports point from invoicing to delivery, never back.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.catalog import repository as catalog_repository
from app.catalog.models import Customer, Product
from app.catalog.service import default_shipping_address, shipping_address_data
from app.catalog.stock import Movement, record_movements
from app.clock import utcnow
from app.config import get_settings
from app.delivery import repository
from app.delivery.models import (
    DeliveryNote,
    DeliveryNoteLine,
    DeliveryNoteStatus,
    StockReceipt,
    StockReceiptLine,
)
from app.delivery.schemas import (
    BackorderRead,
    Consignment,
    DeliveryLineIn,
    DeliveryNoteLineRead,
    DeliveryNoteRead,
    ProductQuantityIn,
    StockCorrectionCreate,
    StockCorrectionRead,
    StockReceiptCreate,
    StockReceiptLineRead,
    StockReceiptRead,
)
from app.errors import BusinessRuleViolation, Conflict, FieldError, InvalidInput, NotFound
from app.money import ZERO, quantity_out
from app.numbering import business_moment, take_number
from app.orders import service as orders_service
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine
from app.orders.schemas import OrderRead, totals_read
from app.pagination import Page, next_cursor
from app.pricing import PricedLine, breakdown_json, compute_totals, price_line, stored_totals

SHIPPING_ROLES = (Role.WAREHOUSE,)
READING_ROLES = (Role.WAREHOUSE, Role.REP)


def qty(value: Decimal) -> str:
    """A quantity as people write it in a message: `3`, `2.5`."""
    return str(quantity_out(value))


def issue_delivery_note(
    session: Session,
    *,
    number: str,
    lines: Sequence[DeliveryLineIn] | None,
    actor: Actor,
    consignment: Consignment | None = None,
) -> DeliveryNote:
    """Ship (part of) an order: a numbered delivery note with its lines priced and frozen."""
    actor.require(*SHIPPING_ROLES)
    order = repository.lock_order_by_number(session, number)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}", errors=[FieldError(("path", "number"), "unknown order")])
    check_shippable(order)
    products = repository.lock_products(session, {line.product_id for line in order.lines})
    quantities = _quantities_to_ship(order, products, lines)
    already_shipped = {line.line_no: line.shipped_quantity for line in order.lines}

    orders_service.record_shipment(order, quantities=quantities)
    for line in order.lines:
        shipped = quantities.get(line.line_no)
        if shipped:
            products[line.product_id].stock_on_hand -= shipped
            products[line.product_id].reserved_quantity -= shipped

    moment = business_moment()
    note_lines: list[DeliveryNoteLine] = []
    priced: list[PricedLine] = []
    for line in order.lines:
        shipped = quantities.get(line.line_no)
        if not shipped:
            continue
        amounts = price_line(
            quantity=shipped,
            unit_price=line.unit_price,
            price_includes_vat=line.price_includes_vat,
            vat_rate=line.vat_rate,
            line_discount_percent=line.discount_percent,
            customer_discount_percent=order.customer_discount_percent,
        )
        priced.append(amounts)
        note_lines.append(
            DeliveryNoteLine(
                line_no=len(note_lines) + 1,
                order_line=line,
                order_line_no=line.line_no,
                product_id=line.product_id,
                product_code=line.product_code,
                gtin=line.gtin,
                description=line.description,
                ordered_quantity=line.quantity,
                previously_shipped_quantity=already_shipped[line.line_no],
                quantity=shipped,
                backordered_quantity=max(line.open_quantity, ZERO),
                unit_price=line.unit_price,
                price_includes_vat=line.price_includes_vat,
                discount_percent=line.discount_percent,
                vat_rate=line.vat_rate,
                line_amount=amounts.line_amount,
                net_amount=amounts.net_amount,
            )
        )
    totals = compute_totals(priced)
    consignment = consignment or Consignment()
    note = DeliveryNote(
        number=take_number(session, get_settings().delivery_note_prefix, moment),
        status=DeliveryNoteStatus.ISSUED,
        order=order,
        customer=order.customer,
        issue_date=moment.day,
        issued_at=moment.at,
        issued_by=actor.caller_key,
        shipping_address=order.shipping_address or _default_address(session, order.customer),
        show_prices=order.customer.show_prices_on_delivery_note,
        parcel_count=consignment.parcel_count,
        carrier=consignment.carrier,
        tracking_number=consignment.tracking_number,
        customer_discount_percent=order.customer_discount_percent,
        net_total=totals.net,
        vat_total=totals.vat,
        gross_total=totals.gross,
        vat_breakdown=breakdown_json(totals),
        print_count=0,
        lines=note_lines,
        lines_to_come=[
            [line.line_no, line.product_code, line.gtin, line.description]
            + [str(quantity) for quantity in (line.quantity, line.shipped_quantity, line.open_quantity)]
            for line in order.lines
            if not quantities.get(line.line_no) and line.open_quantity > 0
        ],
    )
    session.add(note)
    session.flush()
    record_movements(
        session,
        (
            Movement(line.product_id, -line.quantity, "shipment", note.number, actor.caller_key, moment.at)
            for line in note_lines
        ),
    )
    return note


def check_shippable(order: SaleOrder) -> None:
    where = [FieldError(("path", "number"), f"order {order.number} is {order.status}")]
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(
            f"order {order.number} is cancelled: nothing may ship", errors=where, slug="order-cancelled"
        )
    if order.status == OrderStatus.NEEDS_REVIEW:
        raise Conflict(
            f"order {order.number} needs review before it may ship", errors=where, slug="order-needs-review"
        )
    if order.status == OrderStatus.SHIPPED:
        raise Conflict(f"order {order.number} has shipped in full", errors=where, slug="order-shipped")


def _quantities_to_ship(
    order: SaleOrder, products: dict[int, Product], wanted: Sequence[DeliveryLineIn] | None
) -> dict[int, Decimal]:
    """Quantity to ship per order line number: as asked (checked against what is left to ship and the
    stock on hand), or, when nothing is asked, as much of each open line as the stock allows."""
    left = stock_left(products.values())
    quantities: dict[int, Decimal] = {}
    if wanted is None:
        quantities = shippable_quantities(order, products, left)
        if not quantities:
            raise BusinessRuleViolation(
                f"nothing of order {order.number} can ship: no stock on hand for what is left to ship",
                errors=[FieldError(("path", "number"), "no stock for any open line")],
                slug="nothing-to-ship",
            )
        return quantities

    by_no = {line.line_no: line for line in order.lines}
    input_errors: list[FieldError] = []
    stock_errors: list[FieldError] = []
    for index, asked in enumerate(wanted):
        loc = ("body", "lines", index)
        found = by_no.get(asked.line_no)
        if found is None:
            input_errors.append(
                FieldError((*loc, "line_no"), f"order {order.number} has no line {asked.line_no}")
            )
            continue
        line = found
        product = products[line.product_id]
        remaining = line.open_quantity
        if asked.quantity > remaining:
            input_errors.append(
                FieldError(
                    (*loc, "quantity"),
                    f"line {line.line_no}: {qty(asked.quantity)} asked but only {qty(remaining)} left to "
                    f"ship (ordered {qty(line.quantity)}, shipped {qty(line.shipped_quantity)})",
                )
            )
            continue
        if not product.allows_decimal_quantity and asked.quantity != asked.quantity.to_integral_value():
            input_errors.append(
                FieldError((*loc, "quantity"), f"product {product.code} ships in whole units")
            )
            continue
        if asked.quantity > left[line.product_id]:
            stock_errors.append(
                FieldError(
                    (*loc, "quantity"),
                    f"line {line.line_no}: {qty(asked.quantity)} of {product.code} asked but "
                    f"{qty(left[line.product_id])} in stock",
                )
            )
            continue
        left[line.product_id] -= asked.quantity
        quantities[line.line_no] = asked.quantity
    if input_errors:
        raise InvalidInput("the delivery has invalid lines", errors=input_errors + stock_errors)
    if stock_errors:
        raise BusinessRuleViolation(
            "not enough stock on hand for this delivery", errors=stock_errors, slug="insufficient-stock"
        )
    return quantities


def _default_address(session: Session, customer: Customer) -> dict[str, Any]:
    """Where an order that names no address ships (orders captured before defaults, or by EDI)."""
    default = default_shipping_address(catalog_repository.shipping_addresses_of(session, customer.id))
    return shipping_address_data(default) if default is not None else billing_address(customer)


def stock_left(products: Iterable[Product]) -> dict[int, Decimal]:
    """What may still leave the warehouse, by product id: the stock on hand, never below zero."""
    return {product.id: max(product.stock_on_hand, ZERO) for product in products}


def shippable_quantities(
    order: SaleOrder, products: Mapping[int, Product], left: dict[int, Decimal]
) -> dict[int, Decimal]:
    """How much of each open line of the order the stock `left` allows, by order line number, taken
    from `left` (so that successive orders share the stock first come, first served)."""
    quantities: dict[int, Decimal] = {}
    for line in order.lines:
        product = products[line.product_id]
        can = min(line.open_quantity, left[line.product_id])
        if not product.allows_decimal_quantity:
            can = can.to_integral_value(rounding=ROUND_FLOOR)
        if can > 0:
            quantities[line.line_no] = can
            left[line.product_id] -= can
    return quantities


def billing_address(customer: Customer) -> dict[str, Any]:
    return {
        "name": customer.billing_name or customer.name,
        "street": customer.billing_street,
        "street2": customer.billing_street2,
        "postal_code": customer.billing_postal_code,
        "city": customer.billing_city,
        "country": customer.billing_country,
    }


def lock_delivery_note(session: Session, *, number: str, actor: Actor) -> DeliveryNote:
    """The note with its order locked (order first, then the note: the order of every lock)."""
    note = repository.get_note(session, number)
    if note is None or not actor.may_see_customer(note.customer_id):
        raise NotFound(
            f"no delivery note {number!r}", errors=[FieldError(("path", "number"), "unknown delivery note")]
        )
    repository.lock_order(session, note.order_id)
    locked = repository.get_note(session, number, lock=True)
    assert locked is not None
    return locked


def check_voidable(session: Session, note: DeliveryNote) -> None:
    where = [FieldError(("path", "number"), f"delivery note {note.number} is {note.status}")]
    if note.status == DeliveryNoteStatus.VOID:
        raise Conflict(f"delivery note {note.number} is already void", errors=where, slug="note-void")
    if repository.has_returns(session, note.id):
        raise Conflict(
            f"goods were returned against delivery note {note.number}: it can no longer be voided",
            errors=[FieldError(("path", "number"), "returns were recorded against this note")],
            slug="note-has-returns",
        )


def void_delivery_note(session: Session, *, note: DeliveryNote, actor: Actor) -> DeliveryNote:
    """Take a shipment back (the note keeps its number): stock, reservations, shipped quantities and
    the order's status return to what they were without it. The caller holds the note locked."""
    actor.require(*SHIPPING_ROLES)
    check_voidable(session, note)
    order = note.order
    products = repository.lock_products(session, {line.product_id for line in note.lines})
    quantities: dict[int, Decimal] = {}
    for line in note.lines:
        quantities[line.order_line_no] = quantities.get(line.order_line_no, ZERO) - line.quantity
        products[line.product_id].stock_on_hand += line.quantity
        products[line.product_id].reserved_quantity += line.quantity
    orders_service.record_shipment(order, quantities=quantities)
    note.status = DeliveryNoteStatus.VOID
    note.voided_at = utcnow()
    note.voided_by = actor.caller_key
    session.flush()
    record_movements(
        session,
        (
            Movement(line.product_id, line.quantity, "void", note.number, actor.caller_key, note.voided_at)
            for line in note.lines
        ),
    )
    return note


def get_delivery_note(session: Session, *, number: str, actor: Actor) -> DeliveryNote:
    actor.require(*READING_ROLES)
    note = repository.get_note(session, number)
    if note is None or not actor.may_see_customer(note.customer_id):
        raise NotFound(f"no delivery note {number!r}")
    return note


def receive_stock(session: Session, *, draft: StockReceiptCreate, actor: Actor) -> StockReceipt:
    """Goods arrived: add them to the stock on hand, so that backorders can ship."""
    actor.require(*SHIPPING_ROLES)
    found = resolve_products(session, draft.lines)
    check_whole_units(draft.lines, found)
    products = repository.lock_products(session, {product.id for product in found})
    receipt = StockReceipt(reference=draft.reference, received_at=utcnow(), received_by=actor.caller_key)
    receipt.lines = []
    for line, product in zip(draft.lines, found, strict=True):
        products[product.id].stock_on_hand += line.quantity
        receipt.lines.append(StockReceiptLine(product=products[product.id], quantity=line.quantity))
    session.add(receipt)
    session.flush()
    record_movements(
        session,
        (
            Movement(
                line.product.id,
                line.quantity,
                "receipt",
                draft.reference,
                actor.caller_key,
                receipt.received_at,
            )
            for line in receipt.lines
        ),
    )
    audit.record(
        session,
        actor=actor,
        action=Action.STOCK_RECEIVED,
        subject="stock_receipt",
        ref=receipt.id,
        details={
            "reference": draft.reference,
            "lines": [[line.product.code, line.quantity] for line in receipt.lines],
        },
    )
    return receipt


def close_backorder(session: Session, *, number: str, line_no: int, actor: Actor) -> SaleOrder:
    """The customer gives up the rest of a backordered line: it will not ship, its reservation is
    released, and the order is shipped once nothing else is left to ship."""
    actor.require(*SHIPPING_ROLES, Role.REP)
    order = repository.lock_order_by_number(session, number)
    if order is None or not actor.may_see_customer(order.customer_id):
        raise NotFound(f"no order {number!r}", errors=[FieldError(("path", "number"), "unknown order")])
    line = next((line for line in order.lines if line.line_no == line_no), None)
    if line is None:
        raise NotFound(
            f"order {number} has no line {line_no}", errors=[FieldError(("path", "line_no"), "unknown line")]
        )
    if line.backordered_quantity <= 0:
        raise Conflict(
            f"line {line_no} of order {number} has no backorder to close",
            errors=[FieldError(("path", "line_no"), "nothing backordered")],
            slug="no-backorder",
        )
    product = repository.lock_products(session, {line.product_id})[line.product_id]
    rest = line.open_quantity
    line.closed_quantity += rest
    product.reserved_quantity -= rest
    orders_service.record_shipment(order, quantities={})
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.BACKORDER_CLOSED,
        subject="order",
        ref=number,
        details={"line": line_no, "product": line.product_code, "quantity": rest},
    )
    return order


def correct_stock(session: Session, *, draft: StockCorrectionCreate, actor: Actor) -> StockCorrectionRead:
    """A warehouse count: the product's stock on hand becomes what was counted, as of now (an ERP
    figure older than the count is no longer applied to it), and the difference is recorded as a
    movement with its reason."""
    actor.require(*SHIPPING_ROLES)
    product = catalog_repository.get_product_by_code(session, draft.product_code)
    if product is None:
        raise InvalidInput(f"unknown product {draft.product_code!r}", loc=("body", "product_code"))
    if not product.allows_decimal_quantity and draft.counted != draft.counted.to_integral_value():
        raise InvalidInput(f"{product.code} is counted in whole units", loc=("body", "counted"))
    locked = repository.lock_products(session, {product.id})[product.id]
    previous, now = locked.stock_on_hand, utcnow()
    locked.stock_on_hand, locked.stock_as_of = draft.counted, now
    difference = draft.counted - previous
    record_movements(
        session, [Movement(product.id, difference, "count", None, actor.caller_key, now, draft.reason)]
    )
    audit.record(
        session,
        actor=actor,
        action=Action.STOCK_COUNTED,
        subject="product",
        ref=product.code,
        details={"counted": draft.counted, "previous": previous, "reason": draft.reason},
    )
    session.flush()
    return StockCorrectionRead(
        product_code=product.code,
        counted=draft.counted,
        previous=previous,
        difference=difference,
        reason=draft.reason,
        counted_at=now,
    )


def resolve_products(session: Session, lines: Sequence[ProductQuantityIn]) -> list[Product]:
    """The product each line names (by code or GTIN), or every unknown one as a located error."""
    by_code, by_gtin = catalog_repository.products_by_codes_or_gtins(
        session,
        codes=[line.product_code for line in lines if line.product_code],
        gtins=[line.gtin for line in lines if line.gtin],
    )
    found: list[Product] = []
    errors: list[FieldError] = []
    for index, line in enumerate(lines):
        loc = ("body", "lines", index)
        product = by_code.get(line.product_code) if line.product_code else by_gtin.get(line.gtin or "")
        if product is None:
            field, value = ("product_code", line.product_code) if line.product_code else ("gtin", line.gtin)
            errors.append(FieldError((*loc, field), f"unknown product {value!r}"))
        elif line.product_code and line.gtin and product.gtin != line.gtin:
            errors.append(FieldError((*loc, "gtin"), f"GTIN {line.gtin} is not product {product.code}'s"))
        else:
            found.append(product)
    if errors:
        raise InvalidInput("some lines name no known product", errors=errors)
    return found


def check_whole_units(lines: Sequence[ProductQuantityIn], products: Sequence[Product]) -> None:
    errors = [
        FieldError(("body", "lines", index, "quantity"), f"product {product.code} is counted in whole units")
        for index, (line, product) in enumerate(zip(lines, products, strict=True))
        if not product.allows_decimal_quantity and line.quantity != line.quantity.to_integral_value()
    ]
    if errors:
        raise InvalidInput("some quantities are not whole units", errors=errors)


@dataclass(frozen=True)
class OrdersToShip:
    """A page of the orders with something left to ship, oldest first, and how many there are."""

    page: Page[OrderRead]
    total: int


def list_orders_to_ship(
    session: Session, *, actor: Actor, after_id: int | None = None, limit: int = 100
) -> OrdersToShip:
    actor.require(*READING_ROLES)
    rows = repository.orders_to_ship(session, after_id=after_id, limit=limit, customer_ids=actor.customer_ids)
    return OrdersToShip(
        page=Page[OrderRead](
            items=[orders_service.order_read(order) for order in rows], next_cursor=next_cursor(rows, limit)
        ),
        total=repository.count_orders_to_ship(session, customer_ids=actor.customer_ids),
    )


def list_backorders(
    session: Session,
    *,
    actor: Actor,
    customer_code: str | None = None,
    product_code: str | None = None,
    older_than_days: int | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> Page[BackorderRead]:
    actor.require(*READING_ROLES)
    created_before = utcnow() - timedelta(days=older_than_days) if older_than_days is not None else None
    rows = repository.list_backorders(
        session,
        customer_code=customer_code,
        product_code=product_code,
        created_before=created_before,
        after_id=after_id,
        limit=limit,
        customer_ids=actor.customer_ids,
    )
    cursor = next_cursor(rows, limit, lambda row: row[0].id)
    return Page[BackorderRead](items=[backorder_read(*row) for row in rows], next_cursor=cursor)


def backorder_read(
    line: SaleOrderLine, order: SaleOrder, customer: Customer, stock: Decimal
) -> BackorderRead:
    return BackorderRead(
        order_number=order.number,
        order_created_at=order.created_at,
        customer_code=customer.code,
        customer_name=customer.name,
        customer_reference=order.customer_reference,
        line_no=line.line_no,
        product_code=line.product_code,
        gtin=line.gtin,
        description=line.description,
        ordered_quantity=line.quantity,
        shipped_quantity=line.shipped_quantity,
        backordered_quantity=line.backordered_quantity,
        stock_on_hand=stock,
    )


def stock_receipt_read(session: Session, receipt: StockReceipt) -> StockReceiptRead:
    product_ids = {line.product_id for line in receipt.lines}
    waiting = repository.list_backorders(session, product_ids=product_ids, limit=200)
    return StockReceiptRead(
        id=receipt.id,
        reference=receipt.reference,
        received_at=receipt.received_at,
        received_by=receipt.received_by,
        lines=[
            StockReceiptLineRead(
                product_code=line.product.code,
                gtin=line.product.gtin,
                quantity=line.quantity,
                stock_on_hand=line.product.stock_on_hand,
            )
            for line in receipt.lines
        ],
        backorders=[backorder_read(*row) for row in waiting],
    )


def delivery_note_read(note: DeliveryNote) -> DeliveryNoteRead:
    totals = stored_totals(note.net_total, note.vat_total, note.gross_total, note.vat_breakdown)
    return DeliveryNoteRead(
        number=note.number,
        status=note.status,
        order_number=note.order.number,
        order_status=note.order.status,
        customer_code=note.customer.code,
        customer_name=note.customer.name,
        customer_reference=note.order.customer_reference,
        issue_date=note.issue_date,
        issued_at=note.issued_at,
        issued_by=note.issued_by,
        shipping_address=note.shipping_address,
        show_prices=note.show_prices,
        customer_discount_percent=note.customer_discount_percent,
        parcel_count=note.parcel_count,
        carrier=note.carrier,
        tracking_number=note.tracking_number,
        lines=[DeliveryNoteLineRead.model_validate(line) for line in note.lines],
        totals=totals_read(totals),
        print_count=note.print_count,
        first_printed_at=note.first_printed_at,
        voided_at=note.voided_at,
    )
