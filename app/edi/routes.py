"""EDI over HTTP: partners post interchanges and download acknowledgments; admins map partners."""

from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response

from app.api import ReadSession, RowId, Writes
from app.auth.dependencies import CurrentActor
from app.downloads import file_response
from app.edi import ingestion, review, service
from app.edi.models import InterchangeStatus
from app.edi.receiving import process_stored
from app.edi.schemas import (
    AcknowledgmentRead,
    CsvProfileIn,
    InterchangeAnswer,
    InterchangeRead,
    InterchangeSummary,
    ItemMappingIn,
    ItemMappingRead,
    LineCorrectionIn,
    LineMappingIn,
    LineRemovalIn,
    OutboxItem,
    PartnerOrder,
    PartnerProfileIn,
    PartyMappingIn,
    PartyMappingRead,
)
from app.numbering import Rank
from app.orders.models import OrderStatus
from app.orders.schemas import OrderRead
from app.orders.service import order_read
from app.pagination import Cursor, Limit, Page, decode_cursor

router = APIRouter(prefix="/edi", tags=["edi"])
review_router = APIRouter(tags=["orders"])  # an order leaves review here: its partner is told
PartnerName = Annotated[str | None, Query(alias="partner", max_length=100)]
# What an interchange may be sent as; any other Content-Type is refused with 415 (app/api.py). Without
# one, or as text/plain or application/octet-stream (what generic tools send), the bytes and the partner's
# profile say what it is; a type that disagrees with the bytes is a warning, not a refusal.
INTERCHANGE_TYPES = (
    "application/EDIFACT",
    "application/EDI-X12",
    "application/xml",
    "text/xml",
    "text/csv",
    "text/plain",
    "application/octet-stream",
    "application/edi-edifact",
    "application/x12",
    "application/csv",
    "text/comma-separated-values",
    "text/tab-separated-values",
)
_RAW_BODY = {
    "required": True,
    "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in INTERCHANGE_TYPES},
}


def _answer(outcome: ingestion.InterchangeOutcome) -> Response:
    """201 for an interchange processed now; a resend gets the first answer again, 200."""
    return Response(
        orjson.dumps(outcome.body),
        status_code=200 if outcome.resend else 201,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if outcome.resend else None,
    )


def _download(download: service.Download) -> Response:
    return file_response(download.body, filename=download.filename, media_type=download.content_type)


@router.post(
    "/interchanges",
    status_code=201,
    response_model=InterchangeAnswer,
    responses={
        200: {"model": InterchangeAnswer, "description": "a resend"},
        401: {},
        403: {},
        413: {},
        415: {"description": "a Content-Type that is not an interchange's"},
    },
    openapi_extra={"requestBody": _RAW_BODY},
)
async def post_interchange(
    request: Request, actor: CurrentActor, writes: Writes, partner: PartnerName = None
) -> Response:
    """Receive an interchange. The bytes are stored and committed first, in a unit of work of their
    own; the file is parsed off the writer; then orders and acknowledgments are written together.
    A rejected interchange is stored and answered 201 with status `rejected` and located errors."""
    data = await request.body()
    content_type = request.headers.get("content-type")
    stored = await writes.write(
        partial(
            ingestion.store_interchange,
            actor=actor,
            data=data,
            content_type=content_type,
            partner_name=partner,
        )
    )
    return _answer(await process_stored(writes, stored, data))


@router.post("/interchanges/{interchange_id}/reprocess", response_model=InterchangeAnswer, status_code=201)
async def reprocess_interchange(interchange_id: RowId, actor: CurrentActor, writes: Writes) -> Response:
    answer = await writes.write(
        partial(ingestion.reprocess_interchange, interchange_id=interchange_id, actor=actor), rank=Rank.ORDERS
    )
    return _answer(answer)


@router.get("/interchanges")
def list_interchanges(
    session: ReadSession,
    actor: CurrentActor,
    partner: PartnerName = None,
    status: InterchangeStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[InterchangeSummary]:
    return service.list_interchanges(
        session,
        actor=actor,
        partner_name=partner,
        status=status,
        before_id=decode_cursor(cursor),
        limit=limit,
    )


@router.get("/orders")
def list_partner_orders(
    session: ReadSession,
    actor: CurrentActor,
    partner: PartnerName = None,
    status: OrderStatus | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[PartnerOrder]:
    """Where the partner's customers' orders stand, newest first (a partner sees its own customers'
    orders, whatever channel they came by): per line what was ordered, shipped and is backordered, the
    lines not taken as sent and what became of them, and the delivery notes. Poll it during an outage."""
    return service.list_partner_orders(
        session,
        actor=actor,
        partner_name=partner,
        status=status,
        before_id=decode_cursor(cursor),
        limit=limit,
    )


@router.get("/outbox")
def list_outbox(
    session: ReadSession,
    actor: CurrentActor,
    partner: PartnerName = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OutboxItem]:
    """Every document for the partner (acknowledgments, order responses, despatch advices), oldest
    first: poll with the `next_cursor` of the last page to get what is new."""
    return service.list_outbox(
        session, actor=actor, partner_name=partner, after_id=decode_cursor(cursor), limit=limit
    )


@router.get("/interchanges/{interchange_id}")
def get_interchange(interchange_id: RowId, session: ReadSession, actor: CurrentActor) -> InterchangeRead:
    return service.get_interchange(session, interchange_id=interchange_id, actor=actor)


@router.get("/interchanges/{interchange_id}/raw", response_class=Response)
def get_raw(interchange_id: RowId, session: ReadSession, actor: CurrentActor) -> Response:
    return _download(service.get_raw(session, interchange_id=interchange_id, actor=actor))


@router.get("/interchanges/{interchange_id}/acknowledgments")
def list_acknowledgments(
    interchange_id: RowId, session: ReadSession, actor: CurrentActor
) -> list[AcknowledgmentRead]:
    return service.list_acknowledgments(session, interchange_id=interchange_id, actor=actor)


@router.get("/interchanges/{interchange_id}/acknowledgments/{acknowledgment_id}", response_class=Response)
def get_acknowledgment(
    interchange_id: RowId, acknowledgment_id: RowId, session: ReadSession, actor: CurrentActor
) -> Response:
    download = service.get_acknowledgment(
        session, interchange_id=interchange_id, acknowledgment_id=acknowledgment_id, actor=actor
    )
    return _download(download)


@router.post("/partners/{name}/parties", response_model=PartyMappingRead, status_code=201)
async def map_party(
    name: str, body: PartyMappingIn, actor: CurrentActor, writes: Writes, response: Response
) -> PartyMappingRead:
    """Create (201) or change (200) the mapping of one of the partner's party ids."""
    mapping, created = await writes.write(
        lambda session: service.map_party(session, partner_name=name, mapping=body, actor=actor)
    )
    response.status_code = 201 if created else 200
    return mapping


@router.get("/partners/{name}/parties")
def list_parties(name: str, session: ReadSession, actor: CurrentActor) -> list[PartyMappingRead]:
    return service.list_party_mappings(session, partner_name=name, actor=actor)


@router.post("/partners/{name}/items", response_model=ItemMappingRead, status_code=201)
async def map_item(
    name: str, body: ItemMappingIn, actor: CurrentActor, writes: Writes, response: Response
) -> ItemMappingRead:
    """Create (201) or change (200) the mapping of one of the partner's article numbers."""
    mapping, created = await writes.write(
        lambda session: service.map_item(session, partner_name=name, mapping=body, actor=actor)
    )
    response.status_code = 201 if created else 200
    return mapping


@router.get("/partners/{name}/items")
def list_items(name: str, session: ReadSession, actor: CurrentActor) -> list[ItemMappingRead]:
    return service.list_item_mappings(session, partner_name=name, actor=actor)


@router.put("/partners/{name}/csv-profile")
async def set_csv_profile(
    name: str, body: CsvProfileIn | None, actor: CurrentActor, writes: Writes
) -> CsvProfileIn | None:
    return await writes.write(
        lambda session: service.set_csv_profile(session, partner_name=name, profile=body, actor=actor)
    )


@router.put("/partners/{name}/profile")
async def set_partner_profile(
    name: str, body: PartnerProfileIn, actor: CurrentActor, writes: Writes
) -> PartnerProfileIn:
    """How the partner's files are read (format, character set, CSV layout), applied before any
    sniffing, and whether it gets a despatch advice on every shipment. Admins."""
    return await writes.write(
        lambda session: service.set_partner_profile(session, partner_name=name, profile=body, actor=actor)
    )


@router.get("/partners/{name}/profile")
def get_partner_profile(name: str, session: ReadSession, actor: CurrentActor) -> PartnerProfileIn:
    return service.get_partner_profile(session, partner_name=name, actor=actor)


@router.get("/partners/{name}/csv-profile")
def get_csv_profile(name: str, session: ReadSession, actor: CurrentActor) -> CsvProfileIn | None:
    return service.get_csv_profile(session, partner_name=name, actor=actor)


_REVIEW = "/orders/{number}/unresolved-lines/{line_id}"


@router.post(f"{_REVIEW}/map", responses={404: {}, 409: {}, 422: {}})
async def map_unresolved_line(
    number: str, line_id: RowId, body: LineMappingIn, actor: CurrentActor, writes: Writes
) -> OrderRead:
    """A line the partner sent, whose item we did not know (or not as sent), is for this product:
    it becomes an order line (the partner's quantity unless another is given) and reserves stock."""
    return await writes.write(
        lambda session: order_read(
            review.map_line(session, number=number, line_id=line_id, body=body, actor=actor)
        )
    )


@router.post(f"{_REVIEW}/correct", responses={404: {}, 409: {}, 422: {}})
async def correct_unresolved_line(
    number: str, line_id: RowId, body: LineCorrectionIn, actor: CurrentActor, writes: Writes
) -> OrderRead:
    """A line whose item is known but whose quantity could not be taken as sent: the right quantity."""
    return await writes.write(
        lambda session: order_read(
            review.correct_line(session, number=number, line_id=line_id, body=body, actor=actor)
        )
    )


@router.post(f"{_REVIEW}/remove", responses={404: {}, 409: {}, 422: {}})
async def remove_unresolved_line(
    number: str, line_id: RowId, body: LineRemovalIn, actor: CurrentActor, writes: Writes
) -> OrderRead:
    """Take a line the partner sent off the order, with the reason."""
    return await writes.write(
        lambda session: order_read(
            review.remove_line(session, number=number, line_id=line_id, body=body, actor=actor)
        )
    )


@review_router.post("/orders/{number}/accept", responses={404: {}, 409: {}})
async def accept_reviewed_order(number: str, actor: CurrentActor, writes: Writes) -> OrderRead:
    """Release an order held for review (`needs_review`) as it stands, once the lines its partner sent
    are settled: it may then ship and be replayed, and an EDI partner gets its order response."""
    return await writes.write(
        lambda session: order_read(review.accept_order(session, number=number, actor=actor))
    )
