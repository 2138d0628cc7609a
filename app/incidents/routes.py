"""Incident endpoints: admins declare and end outages, the distributor's people read them (partners and
suppliers see an incident's dates in `GET /system`, not its reason nor who declared it)."""

from typing import Annotated

from fastapi import APIRouter, Body

from app.api import ReadSession, RowId, Writes
from app.auth.dependencies import CurrentActor
from app.auth.models import Role
from app.incidents import service
from app.incidents.schemas import IncidentCreate, IncidentEnd, IncidentPage, IncidentRead
from app.pagination import Cursor, Limit, decode_cursor

router = APIRouter(tags=["incidents"])


@router.post("/incidents", status_code=201, responses={403: {}, 409: {}, 422: {}})
async def declare_incident(body: IncidentCreate, actor: CurrentActor, writes: Writes) -> IncidentRead:
    """Declare an ERP outage (admin). `started_at` may be in the past: documents captured since then
    belong to this incident and are replayed with it."""
    return await writes.write(
        lambda session: service.incident_read(
            service.declare_incident(session, reason=body.reason, started_at=body.started_at, actor=actor)
        )
    )


@router.post("/incidents/{incident_id}/end", responses={403: {}, 404: {}, 409: {}, 422: {}})
async def end_incident(
    incident_id: RowId,
    actor: CurrentActor,
    writes: Writes,
    body: Annotated[IncidentEnd | None, Body()] = None,
) -> IncidentRead:
    """The ERP is back (admin): the system is recovering until the incident's replay has completed."""
    ended_at = body.ended_at if body is not None else None
    return await writes.write(
        lambda session: service.incident_read(
            service.end_incident(session, incident_id=incident_id, ended_at=ended_at, actor=actor)
        )
    )


STAFF = (Role.REP, Role.WAREHOUSE, Role.FINANCE)


@router.get("/incidents", responses={403: {}})
def list_incidents(
    session: ReadSession, actor: CurrentActor, limit: Limit = 50, cursor: Cursor = None
) -> IncidentPage:
    actor.require(*STAFF)
    return service.list_incidents(session, before_id=decode_cursor(cursor), limit=limit)


@router.get("/incidents/{incident_id}", responses={403: {}, 404: {}})
def get_incident(incident_id: RowId, session: ReadSession, actor: CurrentActor) -> IncidentRead:
    actor.require(*STAFF)
    return service.incident_read(service.get_incident(session, incident_id=incident_id))
