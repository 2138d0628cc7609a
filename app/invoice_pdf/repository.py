"""Queries of printed invoices and credit notes."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, and_, func, select
from sqlalchemy.orm import Session, aliased

from app.delivery.models import DeliveryNoteLine
from app.invoicing.models import DeferredDocument, DeferredDocumentLine, DocumentKind, DocumentStatus
from app.replay.models import ReplayItem, ReplayRecapMember


def frozen_payload(session: Session, document_id: int) -> bytes | None:
    """The document as the replay froze it for sending, if it has: its own item's, or for a deferred
    invoice grouped into a recap, the recap's."""
    own = select(ReplayItem.payload).where(ReplayItem.document_id == document_id)
    payload = session.execute(own).scalar_one_or_none()
    if payload is not None:
        return payload
    recap = (
        select(ReplayItem.payload)
        .join(ReplayRecapMember, ReplayRecapMember.item_id == ReplayItem.id)
        .where(ReplayRecapMember.document_id == document_id)
    )
    return session.execute(recap).scalar_one_or_none()


def corrected_invoices(session: Session, credit_note_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    """The deferred invoices of the delivery notes a credit note's lines went back against, each with
    the replay item that carries it (its own or its recap's) when it has entered the outbox."""
    line, delivered = DeferredDocumentLine, DeliveryNoteLine
    invoice = aliased(DeferredDocument)
    own, recap = aliased(ReplayItem), aliased(ReplayItem)
    query = (
        select(
            invoice.id,
            invoice.reference,
            invoice.issue_date,
            invoice.final_number,
            func.coalesce(own.reference, recap.reference).label("item_reference"),
            func.coalesce(own.erp_reference, recap.erp_reference).label("erp_reference"),
            func.coalesce(own.payload, recap.payload).label("payload"),
        )
        .select_from(line)
        .join(delivered, delivered.id == line.delivery_note_line_id)
        .join(
            invoice,
            and_(
                invoice.delivery_note_id == delivered.delivery_note_id,
                invoice.kind == DocumentKind.INVOICE,
                invoice.status != DocumentStatus.VOID,
            ),
        )
        .outerjoin(own, own.document_id == invoice.id)
        .outerjoin(ReplayRecapMember, ReplayRecapMember.document_id == invoice.id)
        .outerjoin(recap, recap.id == ReplayRecapMember.item_id)
        .where(line.document_id == credit_note_id)
        .order_by(invoice.id)
    )
    return session.execute(query).all()
