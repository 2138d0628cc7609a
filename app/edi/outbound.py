"""What a partner is told after its order was captured, written in the same unit of work as what it
tells of: on each shipment of one of its EDI orders, a despatch advice when its profile asks for one.

Documents go to the partner's outbox (`edi_acknowledgment`, filed under the interchange the order
came in, so the acknowledgments API lists them too), numbered from its gapless control counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.clock import utcnow
from app.delivery.models import DeliveryNote
from app.edi import acknowledging, repository
from app.edi.ack_common import AckControl
from app.edi.despatch import DespatchAdvice, DespatchLine, eancom_desadv, json_despatch_advice, x12_856
from app.edi.documents import DocumentFormat
from app.edi.models import EdiOrder
from app.edi.order_record import response_subject
from app.numbering import next_numbers

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class OutgoingDocument:
    kind: str
    content_type: str
    body: bytes
    delivery_note_number: str | None = None


def after_shipment(session: Session, *, note: DeliveryNote) -> None:
    """Called by shipping, inside its unit of work, once the delivery note is issued."""
    link = repository.get_edi_order(session, note.order_id)
    if link is None:
        return
    profile = repository.get_partner_profile(session, link.partner_id)
    if profile is None or not profile.despatch_advice:
        return
    now = utcnow()
    [number] = next_numbers(session, acknowledging.series(link.partner_id), 1)
    document = despatch_document(link, note, number=str(number), now=now)
    _file(session, link, note.order.number, [(str(number), document)], now)


def despatch_document(link: EdiOrder, note: DeliveryNote, *, number: str, now: datetime) -> OutgoingDocument:
    """The despatch advice of one delivery note, in the format the order came in."""
    interchange, order = response_subject(link.format, link.document, link.lines)
    advice = despatch_advice(link, note, parties=order.parties)
    control = AckControl(interchange_ref=number, prepared_at=now, group_ref=number)
    if interchange.envelopes and interchange.format is DocumentFormat.EDIFACT:
        body = eancom_desadv(interchange.envelopes[0], advice, control=control)
        return OutgoingDocument("DESADV", acknowledging.EDIFACT_TYPE, body, note.number)
    if interchange.envelopes and interchange.format is DocumentFormat.X12:
        version = order.message.version if order.message else None
        body = x12_856(interchange.envelopes[0], advice, control=control, version=version)
        return OutgoingDocument("856", acknowledging.X12_TYPE, body, note.number)
    body = json_despatch_advice(advice, number=number, now=now)
    return OutgoingDocument("JSON", acknowledging.JSON_TYPE, body, note.number)


def despatch_advice(link: EdiOrder, note: DeliveryNote, *, parties: Any) -> DespatchAdvice:
    """Every line this note ships, and every line still backordered, with the partner's line numbers
    and units."""
    order = note.order
    shipped_now: dict[int, Decimal] = {}
    for line in note.lines:
        shipped_now[line.order_line_no] = shipped_now.get(line.order_line_no, _ZERO) + line.quantity
    units = {line["line_no"]: line["unit"] for line in link.lines if line["line_no"] is not None}
    lines = tuple(
        DespatchLine(
            line_number=line.external_line_no or str(line.line_no),
            gtin=line.gtin,
            product_code=line.product_code,
            description=line.description,
            unit=units.get(line.line_no),
            ordered=line.quantity,
            shipped=shipped_now.get(line.line_no, _ZERO),
            shipped_to_date=line.shipped_quantity,
            backordered=line.backordered_quantity,
        )
        for line in order.lines
        if line.line_no in shipped_now or line.backordered_quantity > 0
    )
    po_date = link.document.get("document_date")
    return DespatchAdvice(
        note_number=note.number,
        issued_at=note.issued_at,
        despatch_date=note.issue_date,
        order_number=order.number,
        po_number=link.document["po_number"],
        po_date=datetime.fromisoformat(po_date).date() if po_date else None,
        parties=tuple(parties),
        lines=lines,
    )


def _file(
    session: Session,
    link: EdiOrder,
    order_number: str,
    documents: list[tuple[str, OutgoingDocument]],
    now: datetime,
) -> None:
    repository.insert_acknowledgments(
        session,
        [
            {
                "interchange_id": link.interchange_id,
                "partner_id": link.partner_id,
                "kind": document.kind,
                "control_ref": control_ref,
                "po_number": link.document["po_number"],
                "order_number": order_number,
                "delivery_note_number": document.delivery_note_number,
                "content_type": document.content_type,
                "body": document.body,
                "created_at": now,
            }
            for control_ref, document in documents
        ],
    )
