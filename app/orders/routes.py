from typing import Annotated

from fastapi import APIRouter, Header, Response

from app.api import CurrentActor, DbSession
from app.orders import service
from app.orders.models import Channel, OrderStatus
from app.orders.schemas import OrderCreate, OrderRead
from app.pagination import Cursor, Limit, Page, decode_cursor

router = APIRouter(tags=["orders"])


@router.post("/orders", status_code=201, response_model=OrderRead, responses={409: {}, 422: {}})
def capture_order(
    body: OrderCreate,
    session: DbSession,
    actor: CurrentActor,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    answer = service.capture_order(session, draft=body, actor=actor, idempotency_key=idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        answer.body, status_code=answer.status_code, media_type="application/json", headers=headers
    )


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


@router.post("/orders/{number}/cancel")
def cancel_order(number: str, session: DbSession, actor: CurrentActor) -> OrderRead:
    return service.order_read(service.cancel_order(session, number=number, actor=actor))
