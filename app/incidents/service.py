"""Declaring and ending incidents, and the system mode they give.

Mode: `degraded` while an incident is open; `recovering` once it ended, until the replay of its window
completed with nothing left (the replay sets `replayed_at`); `normal` otherwise.
"""

import enum
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.clock import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.incidents import repository
from app.incidents.models import Incident
from app.incidents.schemas import IncidentPage, IncidentPublicRead, IncidentRead, IncidentState
from app.pagination import next_cursor


class Mode(enum.StrEnum):
    DEGRADED = "degraded"
    RECOVERING = "recovering"
    NORMAL = "normal"


def declare_incident(
    session: Session, *, reason: str, started_at: datetime | None, actor: Actor, now: datetime | None = None
) -> Incident:
    """Open an incident. Its window may start in the past, but not before the previous one ended."""
    actor.require(Role.ADMIN)
    now = now or utcnow()
    started_at = started_at or now
    if started_at > now:
        raise InvalidInput("an incident cannot start in the future", loc=("body", "started_at"))
    current = repository.open_incident(session)
    if current is not None:
        raise Conflict(
            f"incident {current.id} is still open: end it before declaring another", slug="incident-open"
        )
    previous = repository.latest_ended(session)
    if previous is not None and previous.ended_at is not None and started_at < previous.ended_at:
        raise InvalidInput(
            f"incident {previous.id} ended at {previous.ended_at:%Y-%m-%d %H:%M} UTC: windows never overlap",
            loc=("body", "started_at"),
        )
    incident = Incident(
        reason=reason,
        started_at=started_at,
        is_open=True,
        declared_at=now,
        declared_by=actor.name,
    )
    try:
        with session.begin_nested():
            session.add(incident)
    except IntegrityError as exc:
        raise Conflict("another incident was declared at the same moment", slug="incident-open") from exc
    audit.record(
        session,
        actor=actor,
        action=Action.INCIDENT_STARTED,
        subject="incident",
        ref=incident.id,
        details={"reason": reason, "started_at": started_at.isoformat()},
    )
    return incident


def end_incident(
    session: Session,
    *,
    incident_id: int,
    ended_at: datetime | None,
    actor: Actor,
    now: datetime | None = None,
) -> Incident:
    actor.require(Role.ADMIN)
    now = now or utcnow()
    incident = repository.get(session, incident_id, lock=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", errors=[FieldError(("path", "id"), "unknown incident")])
    if not incident.is_open:
        raise Conflict(f"incident {incident_id} has already ended", slug="incident-ended")
    ended_at = ended_at or now
    if not incident.started_at <= ended_at <= now:
        raise InvalidInput(
            "an incident ends after it started and not in the future", loc=("body", "ended_at")
        )
    incident.ended_at = ended_at
    incident.ended_by = actor.name
    incident.is_open = False
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.INCIDENT_ENDED,
        subject="incident",
        ref=incident_id,
        details={"ended_at": ended_at.isoformat()},
    )
    return incident


def get_incident(session: Session, *, incident_id: int) -> Incident:
    incident = repository.get(session, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", errors=[FieldError(("path", "id"), "unknown incident")])
    return incident


def list_incidents(session: Session, *, before_id: int | None = None, limit: int = 50) -> IncidentPage:
    rows = repository.list_incidents(session, before_id=before_id, limit=limit)
    return IncidentPage(
        items=[incident_read(incident) for incident in rows],
        next_cursor=next_cursor(rows, limit),
    )


def current_mode(session: Session) -> tuple[Mode, Incident | None]:
    """The system mode and the incident it is about (the open one, or the one being recovered from)."""
    opened = repository.open_incident(session)
    if opened is not None:
        return Mode.DEGRADED, opened
    recovering = repository.oldest_not_replayed(session)
    if recovering is not None:
        return Mode.RECOVERING, recovering
    return Mode.NORMAL, None


def incident_state(incident: Incident) -> IncidentState:
    if incident.is_open:
        return "open"
    return "replayed" if incident.replayed_at is not None else "ended"


def incident_public_read(incident: Incident) -> IncidentPublicRead:
    return IncidentPublicRead(
        id=incident.id,
        state=incident_state(incident),
        started_at=incident.started_at,
        ended_at=incident.ended_at,
    )


def incident_read(incident: Incident) -> IncidentRead:
    return IncidentRead(
        id=incident.id,
        reason=incident.reason,
        state=incident_state(incident),
        started_at=incident.started_at,
        ended_at=incident.ended_at,
        declared_at=incident.declared_at,
        declared_by=incident.declared_by,
        ended_by=incident.ended_by,
        replayed_at=incident.replayed_at,
    )
