"""The audit trail over the API, for admins: `GET /audit-records` (newest first, paginated and
filtered like the desk's page) and `GET /audit-records/export` (the whole trail with its hashes).

Here rather than in `app/audit`: every capability writes to the trail, sign-ins included, so the
audit package may import none of them, and these routes need `app.auth` to know who asks."""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.api import ReadSession, get_session
from app.audit import service as audit
from app.audit.models import Action
from app.audit.schemas import AuditRecordRead
from app.auth.dependencies import CurrentActor
from app.auth.models import Role
from app.pagination import Cursor, Limit, Page, decode_cursor

router = APIRouter(tags=["audit"])
Text = Annotated[str | None, Query(max_length=100)]
DAY = r"^\d{4}-\d{2}-\d{2}$"  # YYYY-MM-DD, and nothing a lenient date parser would also take
# The export streams after the route has returned: its session lives as long as the response.
StreamSession = Annotated[Session, Depends(get_session, scope="request")]


@router.get("/audit-records", responses={403: {}, 422: {}})
def list_audit_records(
    session: ReadSession,
    actor: CurrentActor,
    who: Annotated[str | None, Query(alias="actor", max_length=100, description="the actor's name")] = None,
    action: Action | None = None,
    subject: Annotated[str | None, Query(max_length=30, description="order, delivery_note, user…")] = None,
    ref: Text = None,
    from_: Annotated[
        str | None, Query(alias="from", pattern=DAY, description="business day, included")
    ] = None,
    to: Annotated[str | None, Query(pattern=DAY, description="business day, included")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[AuditRecordRead]:
    """Who did what and when, newest first (admins)."""
    actor.require(Role.ADMIN)
    filters = audit.Filters(
        actor=who,
        action=action,
        subject=subject,
        ref=ref,
        from_date=audit.day(from_, field="from"),
        to_date=audit.day(to, field="to"),
    )
    return audit.list_records(session, filters=filters, before_id=decode_cursor(cursor), limit=limit)


@router.get(
    "/audit-records/export",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}, 403: {}},
    response_class=StreamingResponse,
)
def export_audit_records(
    session: StreamSession, actor: CurrentActor, format: Literal["json", "csv"] = "json"
) -> StreamingResponse:
    """The whole trail up to its head, oldest first, with each record's hash and previous hash, for an
    auditor to verify on their own (admins; README.md, "Audit trail")."""
    actor.require(Role.ADMIN)
    if format == "csv":
        return StreamingResponse(audit.export_csv(session), media_type="text/csv; charset=utf-8")
    return StreamingResponse(audit.export_json(session), media_type="application/json")
