"""Queries on incidents."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.incidents.models import Incident


def get(session: Session, incident_id: int, *, lock: bool = False) -> Incident | None:
    query = select(Incident).where(Incident.id == incident_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def open_incident(session: Session) -> Incident | None:
    return session.execute(select(Incident).where(Incident.is_open)).scalar_one_or_none()


def latest(session: Session) -> Incident | None:
    return session.execute(
        select(Incident).order_by(Incident.started_at.desc()).limit(1)
    ).scalar_one_or_none()


def latest_ended(session: Session) -> Incident | None:
    query = select(Incident).where(Incident.ended_at.is_not(None)).order_by(Incident.ended_at.desc()).limit(1)
    return session.execute(query).scalar_one_or_none()


def oldest_not_replayed(session: Session) -> Incident | None:
    """The first ended incident whose replay has not completed: the system is recovering from it."""
    query = (
        select(Incident)
        .where(Incident.ended_at.is_not(None), Incident.replayed_at.is_(None))
        .order_by(Incident.started_at)
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def ended_not_replayed(session: Session, *, ended_by: datetime | None) -> Sequence[Incident]:
    """Ended incidents still waiting for their replay, ended no later than `ended_by` (all if None)."""
    query = select(Incident).where(Incident.ended_at.is_not(None), Incident.replayed_at.is_(None))
    if ended_by is not None:
        query = query.where(Incident.ended_at <= ended_by)
    return session.execute(query.order_by(Incident.id)).scalars().all()


def list_incidents(session: Session, *, before_id: int | None, limit: int) -> Sequence[Incident]:
    query = select(Incident).order_by(Incident.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(Incident.id < before_id)
    return session.execute(query).scalars().all()


def in_window(incident: Incident, moment: ColumnElement[datetime]) -> ColumnElement[bool]:
    """SQL: `moment` falls in this incident's window (half-open: its end instant is no longer in it)."""
    clause = moment >= incident.started_at
    return clause if incident.ended_at is None else clause & (moment < incident.ended_at)


def incident_of(moment: ColumnElement[datetime]) -> ColumnElement[int]:
    """SQL scalar subquery: the id of the incident whose window contains `moment`, else NULL."""
    contains = (Incident.started_at <= moment) & (Incident.ended_at.is_(None) | (moment < Incident.ended_at))
    return select(Incident.id).where(contains).limit(1).scalar_subquery()
