"""Shipping an order, voiding a delivery note, closing a backorder, recording a return: the warehouse's
and reps' writes."""

from typing import Annotated

from fastapi import APIRouter, Body, Response

from app.api import IdempotencyKey, Once, ReadSession, Writes
from app.auth.dependencies import CurrentActor
from app.delivery import service as delivery_service
from app.delivery.schemas import DeliveryCreate, DeliveryNoteRead, ReturnCancel, ReturnCreate
from app.fulfilment import service
from app.fulfilment.schemas import ReturnWithCreditNoteRead
from app.numbering import Rank
from app.orders.schemas import OrderRead
from app.orders.service import order_read

router = APIRouter(tags=["fulfilment"])


@router.post(
    "/orders/{number}/deliveries",
    status_code=201,
    response_model=DeliveryNoteRead,
    responses={404: {}, 409: {}, 422: {}},
)
async def ship_order(
    number: str,
    actor: CurrentActor,
    writes: Writes,
    body: Annotated[DeliveryCreate | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Ship all or part of an order: a delivery note, numbered and priced, and its deferred invoice.
    Without `lines`, every open line ships as much as the stock on hand allows; what is left of the
    order becomes its backorder. `parcel_count`, `carrier` and `tracking_number` are printed on the
    note. With an `Idempotency-Key`, a retry ships nothing more."""
    lines = body.lines if body is not None else None
    once = Once.of(
        actor.caller_key,
        idempotency_key,
        scope=f"delivery:{number}:",
        payload=body.model_dump(mode="json") if body is not None else None,
    )
    return await once.write(
        writes,
        lambda session: delivery_service.delivery_note_read(
            service.ship_order(session, number=number, lines=lines, actor=actor, consignment=body)
        ),
        rank=Rank.SHIPMENTS,
    )


@router.post("/delivery-notes/{number}/void", responses={404: {}, 409: {}})
async def void_delivery_note(number: str, actor: CurrentActor, writes: Writes) -> DeliveryNoteRead:
    """Take a shipment back: the note keeps its number, the goods return to stock and to the order,
    its deferred invoice is voided. Refused once the invoice was replayed or goods came back."""
    return await writes.write(
        lambda session: delivery_service.delivery_note_read(
            service.void_delivery(session, number=number, actor=actor)
        )
    )


@router.post("/orders/{number}/lines/{line_no}/close", responses={403: {}, 404: {}, 409: {}})
async def close_backorder(number: str, line_no: int, actor: CurrentActor, writes: Writes) -> OrderRead:
    """The customer gives up the rest of a backordered line: it will not ship, and its reservation is
    released; the order is shipped once nothing else is left to ship."""
    return await writes.write(
        lambda session: order_read(
            service.close_backorder(session, number=number, line_no=line_no, actor=actor)
        )
    )


@router.post(
    "/returns", status_code=201, response_model=ReturnWithCreditNoteRead, responses={409: {}, 422: {}}
)
async def record_return(
    body: ReturnCreate, actor: CurrentActor, writes: Writes, idempotency_key: IdempotencyKey = None
) -> Response:
    """Record returned goods and issue their deferred credit note. Returned quantities go back to the
    stock on hand. With an `Idempotency-Key`, a retry records nothing more."""
    once = Once.of(actor.caller_key, idempotency_key, scope="return:", payload=body.model_dump(mode="json"))
    return await once.write(
        writes,
        lambda session: service.return_read(service.record_return(session, draft=body, actor=actor)),
        rank=Rank.RETURNS,
    )


@router.post("/returns/{number}/cancel", responses={403: {}, 404: {}, 409: {}, 422: {}})
async def cancel_return(
    number: str, body: ReturnCancel, actor: CurrentActor, writes: Writes
) -> ReturnWithCreditNoteRead:
    """Cancel a return keyed by mistake, before its credit note is replayed: the goods leave the stock
    again, the credit note is voided (not deleted) with the reason."""
    return await writes.write(
        lambda session: service.return_read(
            service.cancel_return(session, number=number, reason=body.reason, actor=actor)
        )
    )


@router.get("/returns/{number}")
def get_return(number: str, session: ReadSession, actor: CurrentActor) -> ReturnWithCreditNoteRead:
    return service.return_read(service.get_return(session, number=number, actor=actor))
