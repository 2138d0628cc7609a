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
from starlette.concurrency import run_in_threadpool

from app.api import Once, ReadSession, Writes
from app.clock import utcnow
from app.delivery import printing
from app.delivery import service as delivery
from app.delivery.repository import notes_issued_on
from app.delivery.schemas import DeliveryLineIn, StockCorrectionCreate
from app.errors import DomainError, FieldError, InvalidInput
from app.fulfilment import service as fulfilment
from app.numbering import Rank, business_moment
from app.orders import service as orders
from app.orders.models import OrderStatus
from app.web.pages import banner, render
from app.web.session import Csrf, Warehouse

router = APIRouter()
TO_SHIP = 100


def _pdf(content: bytes, filename: str, *, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )


@router.get("/warehouse", response_class=HTMLResponse)
def warehouse(
    request: Request,
    session: ReadSession,
    actor: Warehouse,
    shipped: str = "",
    counted: str = "",
    error: str = "",
) -> HTMLResponse:
    to_ship = [
        order
        for status in (OrderStatus.CAPTURED, OrderStatus.PARTIALLY_SHIPPED)
        for order in orders.list_orders(session, actor=actor, status=status, limit=TO_SHIP).items
    ]
    today = business_moment(utcnow()).day
    return render(
        request,
        "warehouse.html",
        actor=actor,
        top=banner(session),
        to_ship=sorted(to_ship, key=lambda o: o.created_at),
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
    order = orders.order_read(orders.get_order(session, number=number, actor=actor))
    return render(
        request,
        "ship.html",
        actor=actor,
        top=banner(session),
        order=order,
        form_key=secrets.token_urlsafe(16),
        error=None,
    )


@router.post("/warehouse/orders/{number}/ship", dependencies=[Csrf])
async def ship(request: Request, number: str, actor: Warehouse, writes: Writes) -> RedirectResponse:
    """Ship everything that can ship, or the quantities typed per line (`qty-<line_no>`). The form's
    key makes a double click one delivery note."""
    form = await request.form()
    lines = _typed_lines(form.multi_items())
    key = str(form.get("form_key") or "") or None
    payload = [line.model_dump(mode="json") for line in lines] if lines is not None else None
    once = Once.of(actor.caller_key, key, scope=f"desk-delivery:{number}:", payload=payload)
    answer = await once.write(
        writes,
        lambda session: delivery.delivery_note_read(
            fulfilment.ship_order(session, number=number, lines=lines, actor=actor)
        ),
        rank=Rank.SHIPMENTS,
    )
    return RedirectResponse(f"/warehouse?shipped={json.loads(bytes(answer.body))['number']}", status_code=303)


def _typed_lines(items: Sequence[tuple[str, object]]) -> list[DeliveryLineIn] | None:
    typed = [(name.removeprefix("qty-"), value) for name, value in items if name.startswith("qty-")]
    if not typed:
        return None
    lines, errors = [], []
    for line_no, value in typed:
        try:
            quantity = Decimal(str(value).replace(",", ".").strip() or "0")
        except InvalidOperation:
            errors.append(FieldError(("form", f"qty-{line_no}"), "quantité invalide"))
            continue
        if quantity > 0 and line_no.isdigit():
            lines.append(DeliveryLineIn(line_no=int(line_no), quantity=quantity))
    if errors:
        raise InvalidInput("quantités invalides", errors=errors)
    if not lines:
        raise InvalidInput("aucune quantité à expédier", loc=("form", "qty"))
    return lines


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
