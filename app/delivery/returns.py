"""Goods returns: what a customer sends back (a bookseller's unsold books), recorded by a rep.

A return goes back against what Carnet delivered: against the delivery note it names, or, without a
note, against the customer's delivery notes of that product, newest first. Either way no more may
come back than was delivered less what already came back, and each returned quantity is tied to the
delivery note line it goes back against, whose frozen prices make the credit note.

Goods that Carnet never delivered to the customer (shipped before the outage) are accepted with the
warning `not_delivered_by_carnet`; their credit note is priced from the current snapshot and corrects
the ERP invoice the return names (`invoice_reference`, from the customer's paperwork). Without one, it
waits for finance to key it into the ERP by hand.

Returned goods go straight back to the stock on hand: there is no quarantine or inspection step in
degraded mode. The deferred credit note is issued by `app.invoicing.service.record_return`.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import Actor
from app.catalog import repository as catalog_repository
from app.catalog.models import Product
from app.catalog.stock import Movement, record_movements
from app.clock import utcnow
from app.config import get_settings
from app.delivery import repository
from app.delivery.models import (
    DeliveryNote,
    DeliveryNoteLine,
    DeliveryNoteStatus,
    GoodsReturn,
    GoodsReturnLine,
)
from app.delivery.schemas import ReturnCreate, ReturnLineIn, ReturnLineRead, ReturnRead
from app.delivery.service import (
    READING_ROLES,
    check_whole_units,
    qty,
    resolve_products,
)
from app.errors import BusinessRuleViolation, Conflict, FieldError, InvalidInput, NotFound, NotPermitted
from app.money import ZERO
from app.numbering import business_moment, take_number
from app.orders.capture import DUPLICATE_WINDOW, content_fingerprint
from app.orders.schemas import Warning

RETURN_ROLES = (Role.REP,)


def receive_return(session: Session, *, draft: ReturnCreate, actor: Actor) -> GoodsReturn:
    """Record returned goods and put them back in stock; the caller issues the credit note."""
    actor.require(*RETURN_ROLES)
    customer = catalog_repository.get_customer_by_code(session, draft.customer_code)
    if customer is None:
        raise InvalidInput(f"unknown customer {draft.customer_code!r}", loc=("body", "customer_code"))
    if not actor.may_see_customer(customer.id):
        raise NotPermitted(f"customer {draft.customer_code!r} is not one of yours")
    products = resolve_products(session, draft.lines)
    check_whole_units(draft.lines, products)
    product_ids = {product.id for product in products}

    note: DeliveryNote | None = None
    if draft.delivery_note_number is not None:
        note = _locked_note_of(session, draft.delivery_note_number, customer.id)
        note_ids = [note.id]
    else:
        note_ids = [
            n.id
            for n in repository.lock_notes(
                session,
                repository.notes_delivering(session, customer_id=customer.id, product_ids=product_ids),
            )
            if n.status == DeliveryNoteStatus.ISSUED
        ]
    delivered = repository.delivered_lines(session, note_ids=note_ids, product_ids=product_ids)
    returned = repository.returned_by_note_line(session, [line.id for line in delivered])
    room = {line.id: line.quantity - returned.get(line.id, ZERO) for line in delivered}

    return_lines: list[GoodsReturnLine] = []
    warnings: list[Warning] = []
    errors: list[FieldError] = []
    for index, (line, product) in enumerate(zip(draft.lines, products, strict=True)):
        candidates = [d for d in delivered if d.product_id == product.id]
        if not candidates and note is None:
            return_lines.append(_return_line(len(return_lines) + 1, line, product, None, line.quantity))
            corrects = (
                f"its credit note corrects ERP invoice {draft.invoice_reference}"
                if draft.invoice_reference
                else "name the ERP invoice it was billed on (invoice_reference), or finance keys the "
                "credit note into the ERP by hand"
            )
            warnings.append(
                Warning(
                    code="not_delivered_by_carnet",
                    line_no=len(return_lines),
                    detail=f"{product.code} was not delivered to {customer.code} by Carnet: "
                    f"credited at the current snapshot price; {corrects}",
                )
            )
            continue
        available = sum((room[d.id] for d in candidates), ZERO)
        if line.quantity > available:
            errors.append(
                FieldError(
                    ("body", "lines", index, "quantity"),
                    _too_many(line, product, candidates, available, note),
                )
            )
            continue
        wanted = line.quantity
        for delivered_line in candidates:
            taken = min(wanted, room[delivered_line.id])
            if taken <= 0:
                continue
            room[delivered_line.id] -= taken
            wanted -= taken
            return_lines.append(_return_line(len(return_lines) + 1, line, product, delivered_line, taken))
            if wanted == 0:
                break
    if errors:
        raise BusinessRuleViolation(
            "more would come back than was delivered", errors=errors, slug="return-exceeds-delivery"
        )

    locked = repository.lock_products(session, product_ids)
    for return_line in return_lines:
        locked[return_line.product_id].stock_on_hand += return_line.quantity
    moment = business_moment()
    duplicate = _possible_duplicate(session, customer_id=customer.id, lines=return_lines, now=moment.at)
    if duplicate is not None:
        warnings.append(duplicate)
    goods_return = GoodsReturn(
        number=take_number(session, get_settings().return_prefix, moment),
        customer=customer,
        delivery_note=note,
        invoice_reference=draft.invoice_reference,
        recorded_at=moment.at,
        recorded_by=actor.caller_key,
        warnings=[w.model_dump(exclude_none=True) for w in warnings],
        lines=return_lines,
    )
    session.add(goods_return)
    session.flush()
    record_movements(
        session,
        (
            Movement(
                line.product_id, line.quantity, "return", goods_return.number, actor.caller_key, moment.at
            )
            for line in return_lines
        ),
    )
    return goods_return


def _possible_duplicate(
    session: Session, *, customer_id: int, lines: Sequence[GoodsReturnLine], now: datetime
) -> Warning | None:
    """A return keyed twice (the rep, then the warehouse from the parcel) would credit twice: name the
    customer's recent returns of the same products in the same quantities, as orders do."""
    fingerprint = content_fingerprint(_demand(lines))
    alikes = [
        earlier.number
        for earlier in repository.recent_returns(
            session, customer_id=customer_id, since=now - DUPLICATE_WINDOW
        )
        if content_fingerprint(_demand(earlier.lines)) == fingerprint
    ]
    if not alikes:
        return None
    return Warning(
        code="possible_duplicate",
        detail=f"the customer already returned the same items and quantities: {', '.join(alikes)}",
    )


def _demand(lines: Iterable[GoodsReturnLine]) -> dict[int, Decimal]:
    demand: dict[int, Decimal] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, ZERO) + line.quantity
    return demand


def cancel_goods_return(session: Session, *, goods_return: GoodsReturn, reason: str, actor: Actor) -> None:
    """Cancel a return the caller holds locked: its goods leave the stock again (they were never
    there, or go back to the customer); it keeps its number. The caller voids its credit note."""
    if goods_return.cancelled_at is not None:
        raise Conflict(f"return {goods_return.number} is already cancelled", slug="return-cancelled")
    locked = repository.lock_products(session, {line.product_id for line in goods_return.lines})
    for line in goods_return.lines:
        locked[line.product_id].stock_on_hand -= line.quantity
    now = utcnow()
    goods_return.cancelled_at, goods_return.cancelled_by, goods_return.cancel_reason = (
        now,
        actor.caller_key,
        reason,
    )
    record_movements(
        session,
        (
            Movement(
                line.product_id,
                -line.quantity,
                "return_cancelled",
                goods_return.number,
                actor.caller_key,
                now,
                reason,
            )
            for line in goods_return.lines
        ),
    )
    session.flush()


def _locked_note_of(session: Session, number: str, customer_id: int) -> DeliveryNote:
    where = ("body", "delivery_note_number")
    note = repository.get_note(session, number, lock=True)
    if note is None or note.customer_id != customer_id:
        raise InvalidInput(f"the customer has no delivery note {number!r}", loc=where)
    if note.status != DeliveryNoteStatus.ISSUED:
        raise InvalidInput(f"delivery note {number} is void: nothing can come back against it", loc=where)
    return note


def _too_many(
    line: ReturnLineIn,
    product: Product,
    candidates: Sequence[DeliveryNoteLine],
    available: Decimal,
    note: DeliveryNote | None,
) -> str:
    delivered = sum((d.quantity for d in candidates), ZERO)
    where = f"delivery note {note.number}" if note is not None else "Carnet's delivery notes"
    if not candidates:
        return f"{product.code} is not on {where}"
    return (
        f"{qty(line.quantity)} of {product.code} returned but {where} delivered {qty(delivered)} "
        f"and {qty(delivered - available)} already came back: at most {qty(available)}"
    )


def _return_line(
    line_no: int, line: ReturnLineIn, product: Product, delivered: DeliveryNoteLine | None, quantity: Decimal
) -> GoodsReturnLine:
    return GoodsReturnLine(
        line_no=line_no,
        product_id=product.id,
        product_code=product.code,
        gtin=product.gtin,
        description=product.name,
        quantity=quantity,
        reason=line.reason,
        delivery_note_line=delivered,
    )


def get_return(session: Session, *, number: str, actor: Actor, lock: bool = False) -> GoodsReturn:
    actor.require(*RETURN_ROLES, *READING_ROLES, Role.FINANCE)
    goods_return = repository.get_return(session, number, lock=lock)
    if goods_return is None or not actor.may_see_customer(goods_return.customer_id):
        raise NotFound(f"no return {number!r}")
    return goods_return


def return_read(goods_return: GoodsReturn) -> ReturnRead:
    return ReturnRead(
        number=goods_return.number,
        customer_code=goods_return.customer.code,
        customer_name=goods_return.customer.name,
        delivery_note_number=goods_return.delivery_note.number if goods_return.delivery_note else None,
        invoice_reference=goods_return.invoice_reference,
        cancelled_at=goods_return.cancelled_at,
        cancel_reason=goods_return.cancel_reason,
        recorded_at=goods_return.recorded_at,
        recorded_by=goods_return.recorded_by,
        lines=[
            ReturnLineRead(
                line_no=line.line_no,
                product_code=line.product_code,
                gtin=line.gtin,
                description=line.description,
                quantity=line.quantity,
                reason=line.reason,
                delivery_note_number=line.delivery_note_line.note.number if line.delivery_note_line else None,
            )
            for line in goods_return.lines
        ],
        warnings=[Warning(**w) for w in goods_return.warnings],
    )
