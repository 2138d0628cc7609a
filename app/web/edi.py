"""What EDI partners sent, for the people who answer them: every interchange with its outcome, and
each one's refusal reasons where they were found, the orders it made and what the partner was sent
back. A refused file is kept as received; an admin downloads it to look at the bytes."""

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api import ReadSession, RowId
from app.downloads import file_response
from app.edi import service as edi
from app.edi.models import InterchangeStatus
from app.pagination import decode_cursor
from app.web.pages import banner, render
from app.web.session import Rep

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
def interchange(request: Request, interchange_id: RowId, session: ReadSession, actor: Rep) -> HTMLResponse:
    return render(
        request,
        "edi_interchange.html",
        actor=actor,
        top=banner(session),
        interchange=edi.get_interchange(session, interchange_id=interchange_id, actor=actor),
    )


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
