"""The warehouse's page: orders to ship (all or part), backorders, and printing delivery notes.

A preview is not a print: only the print buttons count a print, so looking at a note on screen never
turns the copy handed to the driver into a duplicate."""

import json
import secrets
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app.api import Once, ReadSession, Writes
from app.auth.service import Actor
from app.clock import utcnow
from app.delivery import picking, printing
from app.delivery import service as delivery
from app.delivery.repository import notes_issued_on, products_by_ids
from app.delivery.schemas import Consignment, DeliveryLineIn, StockCorrectionCreate
from app.downloads import Disposition, file_response
from app.errors import DomainError, FieldError, InvalidInput
from app.fulfilment import service as fulfilment
from app.numbering import Rank, business_moment
from app.orders import service as orders
from app.pagination import decode_cursor
from app.web.pages import Reads, banner, render
from app.web.session import Csrf, Warehouse
from app.web.typing import number_text, said

router = APIRouter()
TO_SHIP = 100


def _pdf(content: bytes, filename: str, *, download: bool) -> Response:
    disposition: Disposition = "attachment" if download else "inline"
    return file_response(content, filename=filename, media_type="application/pdf", disposition=disposition)


@router.get("/warehouse", response_class=HTMLResponse)
def warehouse(
    request: Request,
    session: ReadSession,
    actor: Warehouse,
    shipped: str = "",
    counted: str = "",
    error: str = "",
    after: str | None = None,
) -> HTMLResponse:
    """`after`: the cursor of the page of orders to ship after the one shown (oldest first)."""
    after_id = decode_cursor(after)
    to_ship = delivery.list_orders_to_ship(session, actor=actor, after_id=after_id, limit=TO_SHIP)
    today = business_moment(utcnow()).day
    return render(
        request,
        "warehouse.html",
        actor=actor,
        top=banner(session),
        to_ship=to_ship.page.items,
        to_ship_total=to_ship.total,
        to_ship_next=to_ship.page.next_cursor,
        to_ship_first=after_id is None,
        backorders=delivery.list_backorders(session, actor=actor, limit=50).items,
        today=today,
        todays_notes=[n for n in notes_issued_on(session, today) if actor.may_see_customer(n.customer_id)],
        shipped=shipped,
        counted=counted,
        error=error,
        form_key=secrets.token_urlsafe(16),
    )


@router.get("/warehouse/orders/{number}", response_class=HTMLResponse)
def ship_form(request: Request, number: str, session: ReadSession, actor: Warehouse) -> HTMLResponse:
    return _ship_page(request, session, actor, number)


def _ship_page(
    request: Request,
    session: Session,
    actor: Actor,
    number: str,
    *,
    typed: FormData | None = None,
    refused: DomainError | None = None,
    asked: Sequence[int] = (),
) -> HTMLResponse:
    """The shipping form of an order, with the stock on hand per line; after a refused shipment, what
    was typed and each message beside its field (`field_errors`, by field name) or above the form."""
    order = orders.get_order(session, number=number, actor=actor)
    products = products_by_ids(session, {line.product_id for line in order.lines})
    read = orders.order_read(order)
    field_errors = _field_errors(refused, asked) if refused is not None else {}
    return render(
        request,
        "ship.html",
        status_code=422 if refused is not None else 200,
        actor=actor,
        top=banner(session),
        order=read,
        stock={line.line_no: products[line.product_id].stock_on_hand for line in order.lines},
        typed={name: str(value) for name, value in typed.items()} if typed is not None else {},
        form_key=secrets.token_urlsafe(16),
        error=refused.detail if refused is not None else None,
        field_errors=field_errors,
    )


def _field_errors(refused: DomainError, asked: Sequence[int]) -> dict[str, str]:
    """The refusal's messages by form field: `qty-<line no>` for a line (the service locates a line
    by its index among the lines `asked`), a consignment field by its name."""
    found: dict[str, str] = {}
    for error in refused.errors:
        loc = error.loc
        if loc[:1] == ("form",) and len(loc) == 2:
            field = str(loc[1])
        elif (
            loc[:2] == ("body", "lines") and len(loc) > 2 and isinstance(loc[2], int) and loc[2] < len(asked)
        ):
            field = f"qty-{asked[loc[2]]}"
        else:
            continue
        found.setdefault(field, error.msg)
    return found


@router.post("/warehouse/orders/{number}/ship", dependencies=[Csrf])
async def ship(request: Request, number: str, actor: Warehouse, reads: Reads, writes: Writes) -> Response:
    """Ship everything that can ship, or the quantities typed per line (`qty-<line_no>`). The form's
    key makes a double click one delivery note. A refused shipment shows the form again, as typed,
    with each message beside its line or field."""
    form = await request.form()
    lines: list[DeliveryLineIn] | None = None
    try:
        lines = _typed_lines(form.multi_items())
        consignment = _consignment(form)
        key = str(form.get("form_key") or "") or None
        payload = {
            "lines": [line.model_dump(mode="json") for line in lines] if lines is not None else None,
            **consignment.model_dump(),
        }
        once = Once.of(actor.caller_key, key, scope=f"desk-delivery:{number}:", payload=payload)
        answer = await once.write(
            writes,
            lambda session: delivery.delivery_note_read(
                fulfilment.ship_order(
                    session, number=number, lines=lines, actor=actor, consignment=consignment
                )
            ),
            rank=Rank.SHIPMENTS,
        )
    except DomainError as refused:
        refusal, asked = refused, [line.line_no for line in lines or []]
        return await reads(
            lambda session: _ship_page(
                request, session, actor, number, typed=form, refused=refusal, asked=asked
            )
        )
    return RedirectResponse(f"/warehouse?shipped={json.loads(bytes(answer.body))['number']}", status_code=303)


def _consignment(form: FormData) -> Consignment:
    """Parcels, carrier and tracking number as typed (all optional: blank ones are written by hand)."""
    typed = {name: str(form.get(name) or "").strip() or None for name in Consignment.model_fields}
    try:
        return Consignment.model_validate(typed)
    except ValidationError as exc:
        errors = [FieldError(("form", str(error["loc"][0])), said(error)) for error in exc.errors()]
        raise InvalidInput("colis, transporteur ou numéro de suivi invalides", errors=errors) from exc


def _typed_lines(items: Sequence[tuple[str, object]]) -> list[DeliveryLineIn] | None:
    typed = [(name.removeprefix("qty-"), value) for name, value in items if name.startswith("qty-")]
    if not typed:
        return None
    lines, errors = [], []
    for line_no, value in typed:
        field = ("form", f"qty-{line_no}")
        try:
            quantity = Decimal(number_text(str(value)) or "0")
        except InvalidOperation:
            errors.append(FieldError(field, "quantité invalide : un nombre, comme 3 ou 2,5"))
            continue
        if not quantity.is_finite() or quantity < 0:
            errors.append(FieldError(field, "quantité invalide : un nombre, comme 3 ou 2,5"))
        elif quantity > 0 and line_no.isdigit():
            try:
                lines.append(DeliveryLineIn(line_no=int(line_no), quantity=quantity))
            except ValidationError as exc:
                errors.append(FieldError(field, f"quantité invalide : {said(exc.errors()[0])}"))
    if errors:
        raise InvalidInput("quantités invalides", errors=errors)
    if not lines:
        raise InvalidInput("aucune quantité à expédier : tapez au moins une quantité", loc=("form", "qty"))
    return lines


@router.get("/warehouse/picking-list")
def picking_list(session: ReadSession, actor: Warehouse, order: str | None = None) -> Response:
    """The picking list of one order, or of every order that may ship today."""
    view = picking.picking_list(session, actor=actor, order_number=order or None)
    return _pdf(
        picking.render_picking_list(view), f"preparation-{order or view.day.isoformat()}.pdf", download=False
    )


@router.get("/warehouse/notes/{number}/preview")
def preview_note(number: str, session: ReadSession, actor: Warehouse) -> Response:
    view = printing.preview_delivery_note(session, number=number, actor=actor)
    return _pdf(printing.render([view]), f"{number}-apercu.pdf", download=False)


@router.post("/warehouse/notes/{number}/print", dependencies=[Csrf])
async def print_note(number: str, actor: Warehouse, writes: Writes) -> Response:
    view = await writes.write(partial(printing.print_delivery_note, number=number, actor=actor))
    return _pdf(await run_in_threadpool(printing.render, [view]), f"{number}.pdf", download=True)


@router.post("/warehouse/print", dependencies=[Csrf])
async def print_day(actor: Warehouse, writes: Writes, day: Annotated[date, Form()]) -> Response:
    """Every note of the day in one PDF, each counted as printed."""
    views = await writes.write(partial(printing.print_delivery_notes, on_date=day, actor=actor))
    name = f"BL-{day.isoformat()}.pdf"
    return _pdf(await run_in_threadpool(printing.render, views), name, download=True)


@router.post("/warehouse/stock-count", dependencies=[Csrf])
async def stock_count(
    actor: Warehouse,
    writes: Writes,
    product_code: Annotated[str, Form(max_length=32)],
    counted: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    """A count fixes a wrong figure now, recorded as a movement with its reason."""
    try:
        values = {
            "product_code": product_code.strip().upper(),
            "counted": counted.replace(",", "."),
            "reason": reason,
        }
        draft = StockCorrectionCreate.model_validate(values)
        done = await writes.write(lambda session: delivery.correct_stock(session, draft=draft, actor=actor))
    except (DomainError, ValidationError) as exc:
        detail = (
            exc.detail if isinstance(exc, DomainError) else "; ".join(str(e["msg"]) for e in exc.errors())
        )
        return RedirectResponse(f"/warehouse?{urlencode({'error': detail})}#stock-count", status_code=303)
    return RedirectResponse(
        f"/warehouse?{urlencode({'counted': done.product_code})}#stock-count", status_code=303
    )
