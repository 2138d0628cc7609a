"""Endpoints of deferred documents, and of the goods movements that issue them: shipping an order
(a delivery note and its deferred invoice), voiding a delivery note, recording a return (and its
deferred credit note)."""

from typing import Annotated

from fastapi import APIRouter, Body, Response

from app import idempotency
from app.api import CurrentActor, DbSession, IdempotencyKey, json_answer
from app.delivery import service as delivery_service
from app.delivery.schemas import DeliveryCreate, DeliveryNoteRead, ReturnCreate
from app.invoicing import service
from app.invoicing.models import DocumentKind, DocumentStatus
from app.invoicing.schemas import DeferredDocumentPage, DeferredDocumentRead, ReturnWithCreditNoteRead
from app.pagination import Cursor, Limit, decode_cursor

router = APIRouter(tags=["fulfilment and deferred documents"])


@router.post(
    "/orders/{number}/deliveries",
    status_code=201,
    response_model=DeliveryNoteRead,
    responses={404: {}, 409: {}, 422: {}},
)
def ship_order(
    number: str,
    session: DbSession,
    actor: CurrentActor,
    body: Annotated[DeliveryCreate | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Ship all or part of an order: a delivery note, numbered and priced, and its deferred invoice.
    Without `lines`, every open line ships as much as the stock on hand allows; what is left of the
    order becomes its backorder. With an `Idempotency-Key`, a retry ships nothing more."""
    lines = body.lines if body is not None else None
    answer = idempotency.run_once(
        session,
        caller=actor.caller_key,
        key=idempotency_key,
        scope=f"delivery:{number}",
        payload=body.model_dump(mode="json") if body is not None else None,
        produce=lambda: delivery_service.delivery_note_read(
            service.ship_order(session, number=number, lines=lines, actor=actor)
        ),
    )
    return json_answer(answer)


@router.post("/delivery-notes/{number}/void", responses={404: {}, 409: {}})
def void_delivery_note(number: str, session: DbSession, actor: CurrentActor) -> DeliveryNoteRead:
    """Take a shipment back: the note keeps its number, the goods return to stock and to the order,
    its deferred invoice is voided. Refused once the invoice was replayed or goods came back."""
    return delivery_service.delivery_note_read(service.void_delivery(session, number=number, actor=actor))


@router.post(
    "/returns", status_code=201, response_model=ReturnWithCreditNoteRead, responses={409: {}, 422: {}}
)
def record_return(
    body: ReturnCreate, session: DbSession, actor: CurrentActor, idempotency_key: IdempotencyKey = None
) -> Response:
    """Record returned goods and issue their deferred credit note. Returned quantities go back to the
    stock on hand. With an `Idempotency-Key`, a retry records nothing more."""
    answer = idempotency.run_once(
        session,
        caller=actor.caller_key,
        key=idempotency_key,
        scope="return",
        payload=body.model_dump(mode="json"),
        produce=lambda: service.return_with_credit_note_read(
            *service.record_return(session, draft=body, actor=actor)
        ),
    )
    return json_answer(answer)


@router.get("/returns/{number}")
def get_return(number: str, session: DbSession, actor: CurrentActor) -> ReturnWithCreditNoteRead:
    goods_return, credit_note = service.get_return(session, number=number, actor=actor)
    return service.return_with_credit_note_read(goods_return, credit_note)


@router.get("/deferred-documents")
def list_deferred_documents(
    session: DbSession,
    actor: CurrentActor,
    kind: DocumentKind | None = None,
    status: DocumentStatus | None = None,
    customer_code: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeferredDocumentPage:
    return service.list_deferred_documents(
        session,
        actor=actor,
        kind=kind,
        status=status,
        customer_code=customer_code,
        before_id=decode_cursor(cursor),
        limit=limit,
    )


@router.get("/deferred-documents/{key}")
def get_deferred_document(key: str, session: DbSession, actor: CurrentActor) -> DeferredDocumentRead:
    """A deferred invoice or credit note by its id or its reference (`DI-2026-000001`)."""
    return service.deferred_document_read(service.get_deferred_document(session, key=key, actor=actor))
