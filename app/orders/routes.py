from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.api import CurrentActor, DbSession, IdempotencyKey, json_answer
from app.idempotency import Answer
from app.orders import capture, service
from app.orders.models import Channel, OrderStatus
from app.orders.schemas import OrderCreate, OrderRead
from app.pagination import Cursor, Limit, Page, decode_cursor
from app.writer import UnitOfWorkRunner, get_writer

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderRead, responses={409: {}, 422: {}})
async def capture_order(
    body: OrderCreate,
    actor: CurrentActor,
    writer: Annotated[UnitOfWorkRunner, Depends(get_writer)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Capture an order. The snapshot is read and the order priced on a read session; only the
    numbering and the writes go through the group-commit writer (see app/writer.py)."""
    planned = await writer.read(
        partial(capture.plan_order, draft=body, actor=actor, idempotency_key=idempotency_key)
    )
    answer = (
        planned
        if isinstance(planned, Answer)
        else await writer.write(partial(capture.record_order, plan=planned))
    )
    return json_answer(answer)


@router.get("/orders/{number}")
def get_order(number: str, session: DbSession, actor: CurrentActor) -> OrderRead:
    return service.order_read(service.get_order(session, number=number, actor=actor))


@router.get("/orders")
def list_orders(
    session: DbSession,
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


@router.post("/orders/{number}/accept", responses={404: {}, 409: {}})
def accept_reviewed_order(number: str, session: DbSession, actor: CurrentActor) -> OrderRead:
    """Release an order held for review (`needs_review`): it may then ship and be replayed."""
    return service.order_read(service.accept_reviewed_order(session, number=number, actor=actor))


@router.post("/orders/{number}/cancel")
def cancel_order(number: str, session: DbSession, actor: CurrentActor) -> OrderRead:
    return service.order_read(service.cancel_order(session, number=number, actor=actor))
