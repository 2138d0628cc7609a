"""What EDI partners sent, for the people who answer them: every interchange with its outcome, and
each one's refusal reasons where they were found, the orders it made and what the partner was sent
back. A refused file is kept as received; an admin downloads it to look at the bytes."""

from functools import partial
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.api import ReadSession, RowId, Writes
from app.auth.models import Role
from app.auth.service import Actor
from app.downloads import file_response
from app.edi import ingestion
from app.edi import service as edi
from app.edi.models import InterchangeStatus
from app.edi.receiving import process_stored
from app.edi.schemas import PartyMappingIn
from app.errors import DomainError
from app.pagination import decode_cursor
from app.web.pages import Reads, banner, render
from app.web.session import Admin, Csrf, Rep

router = APIRouter()

PAGE = 50


@router.get("/edi", response_class=HTMLResponse)
def interchanges(
    request: Request, session: ReadSession, actor: Rep, status: str = "", cursor: str | None = None
) -> HTMLResponse:
    """Newest first, by status; the counts show at a glance how many files were refused."""
    statuses = [s.value for s in InterchangeStatus]
    chosen = status if status in statuses else ""
    page = edi.list_interchanges(
        session,
        actor=actor,
        partner_name=None,
        status=chosen or None,
        before_id=decode_cursor(cursor),
        limit=PAGE,
    )
    following = urlencode({"status": chosen, "cursor": page.next_cursor}) if page.next_cursor else None
    return render(
        request,
        "edi.html",
        actor=actor,
        top=banner(session),
        page=page,
        status=chosen,
        statuses=statuses,
        counts=edi.count_interchanges(session, actor=actor),
        following=following,
    )


@router.get("/edi/{interchange_id}", response_class=HTMLResponse)
def interchange(
    request: Request,
    interchange_id: RowId,
    session: ReadSession,
    actor: Rep,
    mapped: str = "",
) -> HTMLResponse:
    return _interchange_page(request, session, actor, interchange_id, mapped=mapped[:35])


def _interchange_page(
    request: Request,
    session: Session,
    actor: Actor,
    interchange_id: int,
    *,
    status_code: int = 200,
    mapped: str = "",
    mapping_error: tuple[str, str] | None = None,
    resubmit_error: str | None = None,
) -> HTMLResponse:
    """A file's page; for an admin, a refused file's unknown buyers each with a form to map them,
    and the refused file offered to be processed again."""
    found = edi.get_interchange(session, interchange_id=interchange_id, actor=actor)
    unknown_buyers = list(
        dict.fromkeys(e.party_id for e in found.errors if e.code == "unknown_buyer" and e.party_id)
    )
    admin = actor.role == Role.ADMIN
    return render(
        request,
        "edi_interchange.html",
        actor=actor,
        top=banner(session),
        status_code=status_code,
        interchange=found,
        unknown_buyers=unknown_buyers if admin else [],
        customers=(
            edi.partner_customers_of(session, interchange_id=interchange_id, actor=actor)
            if admin and unknown_buyers
            else []
        ),
        mapped=mapped,
        mapping_error=mapping_error,
        resubmit_error=resubmit_error,
    )


@router.post("/edi/{interchange_id}/parties", dependencies=[Csrf])
async def map_buyer(
    request: Request,
    interchange_id: RowId,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    party_id: Annotated[str, Form(max_length=35)],
    customer_code: Annotated[str, Form(max_length=40)],
) -> Response:
    """An unknown buyer of a refused file becomes one of the partner's customers (as
    `carnet partners map-party` does); the page then offers to process the file again."""
    try:
        mapping = PartyMappingIn(party_id=party_id, customer_code=customer_code.strip().upper())
        await writes.write(
            partial(edi.map_buyer_of, interchange_id=interchange_id, mapping=mapping, actor=actor)
        )
    except ValidationError:
        problem = (party_id, "code client attendu (celui de la liste)")
    except DomainError as exc:
        problem = (party_id, exc.detail)
    else:
        return RedirectResponse(f"/edi/{interchange_id}?{urlencode({'mapped': party_id})}", status_code=303)
    return await reads(
        lambda session: _interchange_page(
            request, session, actor, interchange_id, status_code=422, mapping_error=problem
        )
    )


@router.post("/edi/{interchange_id}/resubmit", dependencies=[Csrf])
async def resubmit(
    request: Request, interchange_id: RowId, actor: Admin, reads: Reads, writes: Writes
) -> Response:
    """A refused file processed again as a new interchange of its partner, as if it had been resent."""
    try:
        again = await writes.write(
            partial(ingestion.resubmit_interchange, interchange_id=interchange_id, actor=actor)
        )
    except DomainError as exc:
        message, status = exc.detail, exc.status
        return await reads(
            lambda session: _interchange_page(
                request, session, actor, interchange_id, status_code=status, resubmit_error=message
            )
        )
    await process_stored(writes, again.stored, again.data)
    return RedirectResponse(f"/edi/{again.stored.id}", status_code=303)


@router.get("/edi/{interchange_id}/raw")
def raw(interchange_id: RowId, session: ReadSession, actor: Rep) -> Response:
    """The file as the partner sent it, byte for byte (admins), always downloaded."""
    return _attachment(edi.get_raw(session, interchange_id=interchange_id, actor=actor))


@router.get("/edi/{interchange_id}/acknowledgments/{acknowledgment_id}")
def acknowledgment(
    interchange_id: RowId, acknowledgment_id: RowId, session: ReadSession, actor: Rep
) -> Response:
    """A document the partner was sent back (CONTRL, ORDRSP, APERAK, 997, 855, DESADV...)."""
    return _attachment(
        edi.get_acknowledgment(
            session, interchange_id=interchange_id, acknowledgment_id=acknowledgment_id, actor=actor
        )
    )


def _attachment(download: edi.Download) -> Response:
    """Downloaded, never shown: a file as received may hold anything."""
    return file_response(download.body, filename=download.filename, media_type="application/octet-stream")
