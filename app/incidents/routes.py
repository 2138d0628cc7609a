"""Incident endpoints: admins declare and end outages, everyone signed in reads them."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.api import CurrentActor, DbSession, RowId
from app.incidents import service
from app.incidents.schemas import IncidentCreate, IncidentEnd, IncidentPage, IncidentRead
from app.pagination import Cursor, Limit, decode_cursor

router = APIRouter(tags=["incidents"])


@router.post("/incidents", status_code=201, responses={403: {}, 409: {}, 422: {}})
def declare_incident(body: IncidentCreate, session: DbSession, actor: CurrentActor) -> IncidentRead:
    """Declare an ERP outage (admin). `started_at` may be in the past: documents captured since then
    belong to this incident and are replayed with it."""
    incident = service.declare_incident(session, reason=body.reason, started_at=body.started_at, actor=actor)
    return service.incident_read(incident)


@router.post("/incidents/{incident_id}/end", responses={403: {}, 404: {}, 409: {}, 422: {}})
def end_incident(
    incident_id: RowId,
    session: DbSession,
    actor: CurrentActor,
    body: Annotated[IncidentEnd | None, Body()] = None,
) -> IncidentRead:
    """The ERP is back (admin): the system is recovering until the incident's replay has completed."""
    ended_at = body.ended_at if body is not None else None
    incident = service.end_incident(session, incident_id=incident_id, ended_at=ended_at, actor=actor)
    return service.incident_read(incident)


@router.get("/incidents")
def list_incidents(
    session: DbSession, _actor: CurrentActor, limit: Limit = 50, cursor: Cursor = None
) -> IncidentPage:
    return service.list_incidents(session, before_id=decode_cursor(cursor), limit=limit)


@router.get("/incidents/{incident_id}", responses={404: {}})
def get_incident(incident_id: RowId, session: DbSession, _actor: CurrentActor) -> IncidentRead:
    return service.incident_read(service.get_incident(session, incident_id=incident_id))
