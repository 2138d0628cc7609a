"""Printing delivery notes: which notes, original or duplicate, and the view the PDF module renders.

A print is recorded before it is rendered, in a short transaction of its own (the routes run it
through the writer, app/writer.py): rendering takes about half a second per page, far too long to hold
SQLite's write lock. The first print of a note is the original, every later one a duplicate. Should
a rendering fail after its print was recorded, the next copy says duplicate: two papers both claiming
to be the original would be the worse error.
"""

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.service import Actor
from app.catalog.models import Customer
from app.clock import utcnow
from app.config import get_settings
from app.delivery import repository
from app.delivery.models import DeliveryNote, DeliveryNoteLine, DeliveryNoteStatus
from app.delivery.pdf import (
    AddressView,
    CustomerView,
    DeliveryNoteLineView,
    DeliveryNoteView,
    LinePrices,
    SellerView,
    render_delivery_notes,
    render_delivery_notes_parallel,
)
from app.delivery.schemas import MAX_PRINT_BATCH
from app.delivery.service import READING_ROLES
from app.errors import FieldError, InvalidInput, NotFound
from app.pricing import net_unit_price, stored_totals
from app.templating import Lang

IncidentWindow = tuple[int, datetime, datetime | None]

# Below this many notes, starting worker processes (about a second) costs more than it saves.
PARALLEL_FROM: Final = 24
RENDER_PROCESSES: Final = 2


def print_delivery_note(
    session: Session, *, number: str, lang: Lang = "fr", actor: Actor
) -> DeliveryNoteView:
    """Record a print of one note and return its view."""
    try:
        (view,) = print_delivery_notes(session, numbers=[number], lang=lang, actor=actor)
    except NotFound as exc:
        raise NotFound(exc.detail, errors=[FieldError(("path", "number"), "unknown delivery note")]) from exc
    return view


def preview_delivery_note(
    session: Session, *, number: str, lang: Lang = "fr", actor: Actor
) -> DeliveryNoteView:
    """A note to look at on screen: marked as a preview, and not counted as a print, so the first
    real print is still the original."""
    actor.require(*READING_ROLES)
    note = repository.get_note(session, number)
    if note is None or not actor.may_see_customer(note.customer_id):
        raise NotFound(
            f"no delivery note {number!r}", errors=[FieldError(("path", "number"), "unknown delivery note")]
        )
    windows = repository.incident_windows(session)
    return replace(delivery_note_view(note, lang=lang, copy_number=None, windows=windows), is_preview=True)


def print_delivery_notes(
    session: Session,
    *,
    numbers: Sequence[str] | None = None,
    on_date: date | None = None,
    lang: Lang = "fr",
    actor: Actor,
) -> list[DeliveryNoteView]:
    """Record a print of each note (by number, or every note of a day that is not void) and return the
    views to render, in the order asked. Unknown numbers: nothing is recorded, all of them are named."""
    actor.require(*READING_ROLES)
    if numbers is not None:
        notes = repository.notes_by_numbers(session, set(numbers), lock=True)
        visible = {note.number: note for note in notes if actor.may_see_customer(note.customer_id)}
        unknown = [
            FieldError(("body", "numbers", index), f"no delivery note {number!r}")
            for index, number in enumerate(numbers)
            if number not in visible
        ]
        if unknown:
            names = ", ".join(sorted({number for number in numbers if number not in visible}))
            raise NotFound(f"unknown delivery notes: {names}; nothing printed", errors=unknown)
        ordered = [visible[number] for number in dict.fromkeys(numbers)]
    elif on_date is not None:
        ordered = [
            note
            for note in repository.notes_issued_on(session, on_date, lock=True)
            if actor.may_see_customer(note.customer_id)
        ]
        if not ordered:
            raise NotFound(
                f"no delivery note issued on {on_date.isoformat()}",
                errors=[FieldError(("body", "date"), "no delivery note that day")],
            )
    else:
        raise InvalidInput("give the numbers of the notes or a date", loc=("body",))
    if len(ordered) > MAX_PRINT_BATCH:
        raise InvalidInput(
            f"{len(ordered)} notes: print at most {MAX_PRINT_BATCH} at once (by numbers)",
            loc=("body", "date"),
        )
    now = utcnow()
    windows = repository.incident_windows(session)
    views = []
    for note in ordered:
        note.print_count += 1
        views.append(delivery_note_view(note, lang=lang, copy_number=note.print_count, windows=windows))
        note.first_printed_at = note.first_printed_at or now
        note.last_printed_at = now
        audit.record(
            session,
            actor=actor,
            action=Action.DELIVERY_NOTE_PRINTED,
            subject="delivery_note",
            ref=note.number,
            details={"copy": note.print_count, "order": note.order.number},
        )
    session.flush()
    return views


def render(views: Sequence[DeliveryNoteView]) -> bytes:
    """One PDF for these notes; large batches are shared between processes."""
    if len(views) >= PARALLEL_FROM:
        return render_delivery_notes_parallel(views, processes=RENDER_PROCESSES)
    return render_delivery_notes(views)


def delivery_note_view(
    note: DeliveryNote, *, lang: Lang, copy_number: int | None, windows: Sequence[IncidentWindow] = ()
) -> DeliveryNoteView:
    """What the note prints. Quantities and prices are the note's frozen figures; the customer block
    is the customer's current master data; `copy_number` is this print's (1: the original, None: not a
    print); `windows` are the incidents' (id, start, end)."""
    settings = get_settings()
    home = settings.seller_country
    seller = SellerView(
        name=settings.seller_name,
        address=AddressView(
            lines=tuple(line for line in (settings.seller_street, settings.seller_street2) if line),
            postal_code=settings.seller_postal_code,
            city=settings.seller_city,
            country="",
        ),
        vat_number=settings.seller_vat_number,
    )
    show = note.show_prices
    totals = stored_totals(note.net_total, note.vat_total, note.gross_total, note.vat_breakdown)
    return DeliveryNoteView(
        number=note.number,
        issue_date=note.issue_date,
        order_number=note.order.number,
        customer_reference=note.order.customer_reference,
        seller=seller,
        customer=_customer_view(note.customer, home),
        shipping_address=_address_view(note.shipping_address, home),
        lines=tuple(_line_view(line, note.customer_discount_percent, show) for line in note.lines),
        lines_to_come=tuple(_line_to_come(*line) for line in note.lines_to_come or ()),
        show_prices=show,
        totals=totals if show else None,
        parcel_count=note.parcel_count,
        carrier=note.carrier,
        tracking_number=note.tracking_number,
        incident_id=_incident_of(note.issued_at, windows),
        copy_number=copy_number,
        is_void=note.status == DeliveryNoteStatus.VOID,
        lang=lang,
    )


def _incident_of(moment: datetime, windows: Sequence[IncidentWindow]) -> int | None:
    """The incident whose window `[start, end)` holds the moment (windows never overlap)."""
    inside = (id_ for id_, start, end in windows if start <= moment and (end is None or moment < end))
    return next(inside, None)


def _line_view(line: DeliveryNoteLine, customer_discount: Decimal, show_prices: bool) -> DeliveryNoteLineView:
    prices = None
    if show_prices:
        discounts = tuple(rate for rate in (line.discount_percent, customer_discount) if rate)
        prices = LinePrices(
            unit_price=line.unit_price,
            discounts=discounts,
            net_unit_price=net_unit_price(line.unit_price, line.discount_percent, customer_discount),
            amount=line.line_amount,
            includes_vat=line.price_includes_vat,
        )
    return DeliveryNoteLineView(
        line_no=line.order_line_no,
        product_code=line.product_code,
        gtin=line.gtin,
        name=line.description,
        ordered_quantity=line.ordered_quantity,
        previously_shipped_quantity=line.previously_shipped_quantity,
        shipped_quantity=line.quantity,
        backordered_quantity=line.backordered_quantity,
        prices=prices,
    )


def _line_to_come(
    line_no: int, code: str, gtin: str | None, name: str, ordered: str, shipped: str, to_come: str
) -> DeliveryNoteLineView:
    return DeliveryNoteLineView(
        line_no=line_no,
        product_code=code,
        gtin=gtin,
        name=name,
        ordered_quantity=Decimal(ordered),
        previously_shipped_quantity=Decimal(shipped),
        shipped_quantity=Decimal(0),
        backordered_quantity=Decimal(to_come),
    )


def _customer_view(customer: Customer, home: str) -> CustomerView:
    billing = AddressView(
        lines=tuple(
            line
            for line in (
                customer.billing_name if customer.billing_name != customer.name else None,
                customer.billing_street,
                customer.billing_street2,
            )
            if line
        ),
        postal_code=customer.billing_postal_code,
        city=customer.billing_city,
        country="" if customer.billing_country == home else customer.billing_country,
    )
    return CustomerView(
        code=customer.code, name=customer.name, billing_address=billing, vat_number=customer.vat_number
    )


def _address_view(address: dict[str, Any], home: str) -> AddressView:
    country = address.get("country") or home
    return AddressView(
        lines=tuple(address[key] for key in ("name", "street", "street2") if address.get(key)),
        postal_code=address["postal_code"],
        city=address["city"],
        country="" if country == home else country,
    )
