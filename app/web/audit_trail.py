"""The audit trail for admins: who did what and when, newest first, filtered by actor, action, subject
and day; and the whole trail with its hashes for an auditor (CSV or JSON)."""

from collections.abc import Iterator
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.orm import Session

from app.api import ReadSession, get_session
from app.audit import service as audit
from app.audit.models import Action
from app.clock import utcnow
from app.downloads import content_disposition
from app.errors import InvalidInput
from app.pagination import Cursor, decode_cursor
from app.web.pages import banner, render
from app.web.session import Admin

router = APIRouter()
PAGE_SIZE = 50
SUBJECTS = (
    "order",
    "delivery_note",
    "return",
    "invoice",
    "credit_note",
    "replay_run",
    "incident",
    "user",
    "partner",
    "customer",
    "product",
    "snapshot_import",
    "stock_receipt",
    "email",
    "supplier",
)
Text = Annotated[str, Query(max_length=100)]
Day = Annotated[str, Query(max_length=10)]
# The export streams after the route has returned: its session lives as long as the response.
StreamSession = Annotated[Session, Depends(get_session, scope="request")]


def _action(value: str) -> Action | None:
    try:
        return Action(value) if value else None
    except ValueError as exc:
        raise InvalidInput(f"unknown action {value!r}", loc=("query", "action")) from exc


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: ReadSession,
    actor: Admin,
    who: Text = "",
    action: Annotated[str, Query(max_length=40)] = "",
    subject: Annotated[str, Query(max_length=30)] = "",
    ref: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Day = "",
    cursor: Cursor = None,
) -> HTMLResponse:
    filters = audit.Filters(
        actor=who.strip() or None,
        action=_action(action),
        subject=subject or None,
        ref=ref.strip() or None,
        from_date=audit.day(from_, field="from"),
        to_date=audit.day(to, field="to"),
    )
    page = audit.list_records(session, filters=filters, before_id=decode_cursor(cursor), limit=PAGE_SIZE)
    chosen = {"who": who, "action": action, "subject": subject, "ref": ref, "from": from_, "to": to}
    return render(
        request,
        "audit.html",
        actor=actor,
        top=banner(session),
        page=page,
        chosen=chosen,
        actions=list(Action),
        subjects=SUBJECTS,
        next_url=f"/admin/audit?{urlencode({**chosen, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
        head=audit.head(session),
    )


@router.get("/admin/audit/export.{fmt}")
def audit_export(session: StreamSession, _actor: Admin, fmt: Literal["csv", "json"]) -> StreamingResponse:
    """The whole trail up to its head, oldest first, with every record's hash and previous hash."""
    chunks: Iterator[str] = audit.export_csv(session) if fmt == "csv" else audit.export_json(session)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
    name = f"carnet-audit-{utcnow():%Y%m%d-%H%M%S}.{fmt}"
    return StreamingResponse(
        chunks, media_type=media, headers={"Content-Disposition": content_disposition(name)}
    )
