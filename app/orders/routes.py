from functools import partial

from fastapi import APIRouter, Response

from app.api import IdempotencyKey, Once, ReadSession, Writes
from app.auth.dependencies import CurrentActor
from app.numbering import Rank
from app.orders import capture, service
from app.orders.models import Channel, OrderStatus
from app.orders.schemas import OrderCreate, OrderRead
from app.pagination import Cursor, Limit, Page, decode_cursor

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderRead, responses={409: {}, 422: {}})
async def capture_order(
    body: OrderCreate, actor: CurrentActor, writes: Writes, idempotency_key: IdempotencyKey = None
) -> Response:
    """Capture an order. The snapshot is read and the order priced on a read session; only the
    numbering and the writes go through the writer (see app/writer.py). A retry with the same
    `Idempotency-Key` gets the first answer, even if the order could no longer be taken now."""
    once = Once.of(actor.caller_key, idempotency_key, scope="", payload=body.model_dump(mode="json"))
    return await once.write_planned(
        writes,
        partial(capture.plan_order, draft=body, actor=actor),
        lambda session, plan: capture.record_order(session, plan=plan, actor=actor),
        rank=Rank.ORDERS,
    )


@router.get("/orders/{number}")
def get_order(number: str, session: ReadSession, actor: CurrentActor) -> OrderRead:
    return service.order_read(service.get_order(session, number=number, actor=actor))


@router.get("/orders")
def list_orders(
    session: ReadSession,
    actor: CurrentActor,
    customer_code: str | None = None,
    status: OrderStatus | None = None,
    channel: Channel | None = None,
    q: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderRead]:
    return service.list_orders(
        session,
        actor=actor,
        customer_code=customer_code,
        status=status,
        channel=channel,
        q=q,
        before_id=decode_cursor(cursor),
        limit=limit,
    )


@router.post("/orders/{number}/cancel")
async def cancel_order(number: str, actor: CurrentActor, writes: Writes) -> OrderRead:
    return await writes.write(
        lambda session: service.order_read(service.cancel_order(session, number=number, actor=actor))
    )
