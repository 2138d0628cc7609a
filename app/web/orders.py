"""Orders as the desk sees them: the list, one order with its deliveries and backorders, and what a
person may do to it (cancel, accept after review, give the customer a status link)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from app.api import ReadSession, Writes
from app.auth.models import Role
from app.delivery.repository import notes_of_order
from app.edi import review as edi_review
from app.email.service import messages_of_order
from app.fulfilment import service as fulfilment
from app.orders import service as orders
from app.orders.models import OrderStatus
from app.pagination import Cursor, decode_cursor
from app.tracking.service import current_token, issue_link
from app.web.pages import banner, render
from app.web.session import Csrf, OrderReader, Rep

router = APIRouter()
PAGE_SIZE = 50


@router.get("/orders", response_class=HTMLResponse)
def order_list(
    request: Request,
    session: ReadSession,
    actor: OrderReader,
    q: Annotated[str, Query(max_length=100)] = "",
    status: OrderStatus | None = None,
    cursor: Cursor = None,
) -> HTMLResponse:
    page = orders.list_orders(
        session, actor=actor, q=q or None, status=status, before_id=decode_cursor(cursor), limit=PAGE_SIZE
    )
    return render(
        request,
        "orders.html",
        actor=actor,
        top=banner(session),
        page=page,
        q=q,
        status=status,
        statuses=list(OrderStatus),
    )


@router.get("/orders/{number}", response_class=HTMLResponse)
def order_detail(
    request: Request, number: str, session: ReadSession, actor: OrderReader, captured: int = 0
) -> HTMLResponse:
    order = orders.get_order(session, number=number, actor=actor)
    token = current_token(session, order_id=order.id)
    return render(
        request,
        "order.html",
        actor=actor,
        top=banner(session),
        order=orders.order_read(order),
        notes=notes_of_order(session, order.id),
        status_url=str(request.base_url).rstrip("/") + f"/status/{token}" if token else None,
        captured=bool(captured),
        emails=messages_of_order(session, order_id=order.id),
        may_change=actor.role in (Role.REP, Role.ADMIN),
        may_close=actor.role in (Role.REP, Role.WAREHOUSE, Role.ADMIN),
    )


@router.post("/orders/{number}/cancel", dependencies=[Csrf])
async def cancel(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    await writes.write(lambda session: orders.cancel_order(session, number=number, actor=actor))
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/accept", dependencies=[Csrf])
async def accept(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    await writes.write(lambda session: edi_review.accept_order(session, number=number, actor=actor))
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/status-link", dependencies=[Csrf])
async def new_status_link(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    """A new link for the customer; the old one, if any, stops working."""

    def issue(session: Session) -> str:
        orders.get_order(session, number=number, actor=actor)
        return issue_link(session, order_number=number, issued_by=actor.caller_key)

    await writes.write(issue)
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/lines/{line_no}/close", dependencies=[Csrf])
async def close_backorder(number: str, line_no: int, actor: OrderReader, writes: Writes) -> RedirectResponse:
    """The customer gives up the rest of a backordered line: its reservation is released."""
    await writes.write(
        lambda session: fulfilment.close_backorder(session, number=number, line_no=line_no, actor=actor)
    )
    return RedirectResponse(f"/orders/{number}", status_code=303)
