"""Warehouse endpoints: delivery notes and their PDF, backorders, stock receipts (shipping, voiding,
closing a backorder and returns are in app/fulfilment)."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from app.api import ReadSession, Writes
from app.auth.dependencies import CurrentActor
from app.delivery import picking, printing, service
from app.delivery.schemas import (
    BackorderRead,
    DeliveryNoteRead,
    PrintRequest,
    StockCorrectionCreate,
    StockCorrectionRead,
    StockReceiptCreate,
    StockReceiptRead,
)
from app.downloads import file_response
from app.pagination import Cursor, Limit, Page, decode_cursor
from app.templating import Lang

router = APIRouter(tags=["delivery"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the PDF"},
    404: {},
}


def _pdf(content: bytes, filename: str) -> Response:
    return file_response(content, filename=filename, media_type="application/pdf", disposition="inline")


@router.get("/delivery-notes/{number}")
def get_delivery_note(number: str, session: ReadSession, actor: CurrentActor) -> DeliveryNoteRead:
    return service.delivery_note_read(service.get_delivery_note(session, number=number, actor=actor))


@router.get("/delivery-notes/{number}/pdf", response_class=Response, responses=PDF_RESPONSE)
def delivery_note_pdf(number: str, session: ReadSession, actor: CurrentActor, lang: Lang = "fr") -> Response:
    """The note to look at: a preview, marked as such on every page, that counts no print (so the
    copy handed to the driver is still the original). Print with `POST .../print`."""
    view = printing.preview_delivery_note(session, number=number, lang=lang, actor=actor)
    return _pdf(printing.render([view]), f"{number}-preview.pdf")


@router.post("/delivery-notes/{number}/print", response_class=Response, responses=PDF_RESPONSE)
async def print_delivery_note(
    number: str, actor: CurrentActor, writes: Writes, lang: Lang = "fr"
) -> Response:
    """Print the note: the first print is the original, later ones say DUPLICATA with their copy
    number. The print is recorded (and committed) first, then rendered off the event loop."""
    view = await writes.write(partial(printing.print_delivery_note, number=number, lang=lang, actor=actor))
    return _pdf(await run_in_threadpool(printing.render, [view]), f"{number}.pdf")


@router.post("/delivery-notes/print", response_class=Response, responses=PDF_RESPONSE)
async def print_delivery_notes(body: PrintRequest, actor: CurrentActor, writes: Writes) -> Response:
    """Several notes (by number, or every note of a day) in one PDF, in the order given."""
    views = await writes.write(
        partial(
            printing.print_delivery_notes,
            numbers=body.numbers,
            on_date=body.date,
            lang=body.lang,
            actor=actor,
        )
    )
    name = views[0].number if len(views) == 1 else f"{views[0].number}_{views[-1].number}"
    return _pdf(await run_in_threadpool(printing.render, views), f"{name}.pdf")


@router.get("/picking-list", response_class=Response, responses=PDF_RESPONSE)
def picking_list(
    session: ReadSession, actor: CurrentActor, order: str | None = None, lang: Lang = "fr"
) -> Response:
    """What to pick, one line per product sorted by code: for `order`, else for every order that may
    ship today. Backorders (what the stock on hand cannot serve) are left out."""
    view = picking.picking_list(session, actor=actor, order_number=order, lang=lang)
    return _pdf(picking.render_picking_list(view), f"picking-{order or view.day.isoformat()}.pdf")


@router.get("/backorders")
def list_backorders(
    session: ReadSession,
    actor: CurrentActor,
    customer_code: str | None = None,
    product_code: str | None = None,
    older_than_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[BackorderRead]:
    return service.list_backorders(
        session,
        actor=actor,
        customer_code=customer_code,
        product_code=product_code,
        older_than_days=older_than_days,
        after_id=decode_cursor(cursor),
        limit=limit,
    )


@router.post("/stock-corrections", status_code=201, responses={403: {}, 422: {}})
async def correct_stock(
    body: StockCorrectionCreate, actor: CurrentActor, writes: Writes
) -> StockCorrectionRead:
    """A warehouse count fixes a wrong figure without waiting for the ERP: the stock on hand becomes
    what was counted, recorded as a movement with its reason."""
    return await writes.write(lambda session: service.correct_stock(session, draft=body, actor=actor))


@router.post("/stock-receipts", status_code=201, responses={422: {}})
async def receive_stock(body: StockReceiptCreate, actor: CurrentActor, writes: Writes) -> StockReceiptRead:
    return await writes.write(
        lambda session: service.stock_receipt_read(
            session, service.receive_stock(session, draft=body, actor=actor)
        )
    )
