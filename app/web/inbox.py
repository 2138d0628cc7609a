"""The reps' inbox: counts per state and age, and an email beside the order form that keys it."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api import ReadSession, RowId, Writes
from app.catalog.models import Customer
from app.downloads import file_response
from app.email import service as inbox
from app.email.models import InboxAttachment, InboxState
from app.errors import DomainError, NotFound
from app.orders.models import Channel
from app.web.entry import EntryForm, EntryState, build_state
from app.web.pages import Reads, banner, render
from app.web.session import Csrf, Rep

router = APIRouter()


@router.get("/inbox", response_class=HTMLResponse)
def inbox_list(
    request: Request, session: ReadSession, actor: Rep, status: InboxState | None = None
) -> HTMLResponse:
    return render(
        request,
        "inbox.html",
        actor=actor,
        top=banner(session),
        counts=inbox.counts_by_state(session),
        states=list(InboxState),
        status=status,
        items=inbox.list_items(session, actor=actor, state=status),
    )


@router.get("/inbox/{message_id}", response_class=HTMLResponse)
def inbox_item(request: Request, message_id: RowId, session: ReadSession, actor: Rep) -> HTMLResponse:
    return _item_page(request, session, actor, message_id)


def _item_page(
    request: Request, session: ReadSession, actor: Rep, message_id: int, error: str | None = None
) -> HTMLResponse:
    message = inbox.get_message(session, message_id=message_id, actor=actor)
    item = inbox.inbox_item(session, message)
    form = EntryForm.blank()
    form.channel = Channel.EMAIL
    form.email_text = message.text_body
    form.inbox_item = message.id
    if message.customer_id is not None:
        code = session.get(Customer, message.customer_id)
        form.customer_query = form.customer_code = code.code if code else ""
    state = build_state(session, form, actor, "refresh") if form.customer_code else EntryState(form=form)
    return render(
        request,
        "inbox_item.html",
        actor=actor,
        top=banner(session),
        item=item,
        body=message.text_body,
        state=state,
        error=error,
        status_code=422 if error else 200,
    )


@router.get("/inbox/{message_id}/attachments/{attachment_id}")
def attachment(message_id: RowId, attachment_id: RowId, session: ReadSession, actor: Rep) -> Response:
    """An attachment as received, always downloaded (never shown in the browser)."""
    inbox.get_message(session, message_id=message_id, actor=actor)
    found = session.get(InboxAttachment, attachment_id)
    if found is None or found.message_id != message_id:
        raise NotFound("no such attachment")
    return file_response(found.data, filename=found.filename, media_type="application/octet-stream")


@router.post("/inbox/{message_id}/take", dependencies=[Csrf])
async def take(message_id: RowId, actor: Rep, writes: Writes) -> RedirectResponse:
    await writes.write(lambda session: inbox.take(session, message_id=message_id, actor=actor))
    return RedirectResponse(f"/inbox/{message_id}", status_code=303)


@router.post("/inbox/{message_id}/not-an-order", dependencies=[Csrf])
async def not_an_order(
    request: Request,
    message_id: RowId,
    actor: Rep,
    reads: Reads,
    writes: Writes,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        await writes.write(
            lambda session: inbox.not_an_order(session, message_id=message_id, reason=reason, actor=actor)
        )
    except DomainError as exc:
        detail = exc.detail
        return await reads(lambda session: _item_page(request, session, actor, message_id, detail))
    return RedirectResponse("/inbox", status_code=303)
