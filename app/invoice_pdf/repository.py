"""Queries of printed invoices."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.replay.models import ReplayItem


def frozen_payload(session: Session, document_id: int) -> bytes | None:
    """The document as the replay froze it for sending, if it has."""
    query = select(ReplayItem.payload).where(ReplayItem.document_id == document_id)
    return session.execute(query).scalar_one_or_none()
