"""What a partner is told after its order was captured, written in the same unit of work as what it
tells of:

* on each shipment of one of its EDI orders, a despatch advice when its profile asks for one;
* the order response again (EDIFACT ORDRSP, X12 855, JSON), as the order stands (what can ship now:
  accepted, shipped with the rest backordered, changed, not accepted), whenever that changes: a
  backorder ships or a shipment leaves one, a backorder is closed, a delivery note is voided (its
  goods wait again), the order leaves review (its lines settled, or accepted as it stands).

The capabilities where those events happen sit above this one (fulfilment, and the review of
`app.edi.review`) and call these hooks inside their own unit of work; nothing here calls back up.

Documents go to the partner's outbox (`edi_acknowledgment`, filed under the interchange the order
came in, so the acknowledgments API lists them too), numbered from its gapless control counter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.delivery.models import DeliveryNote
from app.edi import acknowledging, repository
from app.edi.ack_common import AckControl, LineOutcome, LineStatus, decimal_text
from app.edi.ack_edifact import eancom_ordrsp
from app.edi.ack_x12 import x12_855
from app.edi.despatch import DespatchAdvice, DespatchLine, eancom_desadv, json_despatch_advice, x12_856
from app.edi.documents import DocumentFormat, OrderLine
from app.edi.models import EdiOrder
from app.edi.order_record import response_subject, stored_lines
from app.numbering import next_numbers
from app.orders.models import OrderStatus, SaleOrder, UnresolvedLineStatus, UnresolvedOrderLine

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
    order = note.order
    profile = repository.get_partner_profile(session, link.partner_id)
    despatch = profile is not None and profile.despatch_advice
    shipped_now = _shipped_by_line(note)
    shipped_before = any(
        line.shipped_quantity > shipped_now.get(line.line_no, _ZERO)
        for line in order.lines
        if line.shipped_quantity > 0
    )
    backordered = any(line.backordered_quantity > 0 for line in order.lines)
    respond = shipped_before or backordered
    if not (despatch or respond) or not shipped_now:
        return
    now = utcnow()
    numbers = iter(next_numbers(session, acknowledging.series(link.partner_id), despatch + respond))
    documents = []
    if despatch:
        number = str(next(numbers))
        documents.append((number, despatch_document(link, note, number=number, now=now)))
    if respond:
        number = str(next(numbers))
        unresolved = repository.unresolved_lines(session, order.id)
        documents.append((number, order_response_document(link, order, unresolved, number=number, now=now)))
    _file(session, link, order.number, documents, now)


def after_order_change(session: Session, *, order: SaleOrder) -> None:
    """Called, inside its unit of work, when an order changed otherwise than by a shipment (a
    backorder closed, a delivery note voided, the order out of review): for an EDI order, the order
    response as the order now stands. The caller has flushed its changes."""
    link = repository.get_edi_order(session, order.id)
    if link is None:
        return
    now = utcnow()
    [number] = next_numbers(session, acknowledging.series(link.partner_id), 1)
    unresolved = repository.unresolved_lines(session, order.id)
    available = _stock_for(session, order)
    document = order_response_document(
        link, order, unresolved, number=str(number), now=now, available=available
    )
    _file(session, link, order.number, [(str(number), document)], now)


def _stock_for(session: Session, order: SaleOrder) -> dict[int, Decimal]:
    """What the stock on hand can give each product of an order nothing of which has shipped: on hand,
    less what other orders reserve. (Once something shipped, what is left of a line is its backorder.)"""
    if order.status != OrderStatus.CAPTURED:
        return {}
    demand: dict[int, Decimal] = {}
    for line in order.lines:
        demand[line.product_id] = demand.get(line.product_id, _ZERO) + max(line.open_quantity, _ZERO)
    return {
        product_id: on_hand - (reserved - demand[product_id])
        for product_id, on_hand, reserved in repository.stock_of(session, demand)
    }


def order_response_document(
    link: EdiOrder,
    order: SaleOrder,
    unresolved: Sequence[UnresolvedOrderLine],
    *,
    number: str,
    now: datetime,
    available: Mapping[int, Decimal] | None = None,
) -> OutgoingDocument:
    """The order response, line by line as the partner sent them, in the format the order came in.
    ``available``: what the stock can give each product now, for an order nothing of which shipped."""
    interchange, purchase_order = response_subject(link.format, link.document, stored_lines(link.lines))
    outcomes = order_outcomes(link, order, unresolved, purchase_order.lines, available or {})
    held = "held for review" if order.status == OrderStatus.NEEDS_REVIEW else None
    control = AckControl(interchange_ref=number, prepared_at=now, group_ref=number)
    if interchange.envelopes and interchange.format is DocumentFormat.EDIFACT:
        body = eancom_ordrsp(
            interchange, purchase_order, outcomes, control=control, response_number=order.number, held=held
        )
        return OutgoingDocument("ORDRSP", acknowledging.EDIFACT_TYPE, body)
    if interchange.envelopes and interchange.format is DocumentFormat.X12:
        body = x12_855(
            interchange, purchase_order, outcomes, control=control, response_number=order.number, held=held
        )
        return OutgoingDocument("855", acknowledging.X12_TYPE, body)
    by_position = {outcome.position: outcome for outcome in outcomes}
    body = orjson.dumps(
        {
            "order_response": number,
            "prepared_at": now.isoformat(),
            "order": order.number,
            "po_number": purchase_order.po_number,
            "status": order.status,
            "lines": [
                {
                    "line": line.line_number or str(line.position),
                    "item": line.item,
                    "status": by_position[line.position].status.value,
                    "ordered": decimal_text(by_position[line.position].ordered),
                    "confirmed": decimal_text(by_position[line.position].confirmed),
                    "backordered": decimal_text(by_position[line.position].backordered),
                }
                for line in purchase_order.lines
            ],
        }
    )
    return OutgoingDocument("JSON", acknowledging.JSON_TYPE, body)


def order_outcomes(
    link: EdiOrder,
    order: SaleOrder,
    unresolved: Sequence[UnresolvedOrderLine],
    partner_lines: Sequence[OrderLine],
    available: Mapping[int, Decimal],
) -> list[LineOutcome]:
    """Per line the partner sent: what it became. Shipped in part with the rest to follow is
    backordered (confirmed: what left); so is a line of an order not shipped yet that the stock
    (``available``, given out in line order) does not cover (confirmed: what can ship now). An order
    line of another quantity is changed; a line still waiting for review is pending; a line removed,
    or of a cancelled order, is not accepted. A line whose backorder was closed is changed to what
    shipped (not accepted when nothing did)."""
    stock = dict(available)
    order_lines = {line.line_no: line for line in order.lines}
    settled = {line.position: line for line in unresolved}
    became = {line.position: line.line_no for line in stored_lines(link.lines)}
    outcomes = []
    for line in partner_lines:
        held = settled.get(line.position)
        line_no = became.get(line.position) or (held.order_line_no if held is not None else None)
        if order.status == OrderStatus.CANCELLED or (line_no is None and held is None):
            outcomes.append(LineOutcome.reject(line))
        elif line_no is None:
            pending = held is not None and held.status == UnresolvedLineStatus.OPEN
            outcomes.append(LineOutcome.hold(line) if pending else LineOutcome.reject(line))
        else:
            ours = order_lines[line_no]
            waiting = max(ours.open_quantity, _ZERO)
            now = waiting
            if ours.product_id in stock:
                now = min(waiting, max(stock[ours.product_id], _ZERO))
                stock[ours.product_id] -= waiting
            if ours.backordered_quantity > 0:
                outcomes.append(
                    LineOutcome(
                        line.position,
                        LineStatus.BACKORDERED,
                        line.quantity,
                        ours.shipped_quantity,
                        ours.backordered_quantity,
                    )
                )
            elif now < waiting:
                outcomes.append(
                    LineOutcome(
                        line.position,
                        LineStatus.BACKORDERED,
                        line.quantity,
                        ours.shipped_quantity + now,
                        waiting - now,
                    )
                )
            else:
                confirmed = ours.quantity - (ours.closed_quantity or _ZERO)
                if confirmed <= 0:
                    outcomes.append(LineOutcome.reject(line))
                elif confirmed != line.quantity:
                    outcomes.append(LineOutcome.change(line, confirmed))
                else:
                    outcomes.append(LineOutcome.accept(line))
    return outcomes


def despatch_document(link: EdiOrder, note: DeliveryNote, *, number: str, now: datetime) -> OutgoingDocument:
    """The despatch advice of one delivery note, in the format the order came in."""
    interchange, order = response_subject(link.format, link.document, stored_lines(link.lines))
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
    shipped_now = _shipped_by_line(note)
    units = {line.line_no: line.unit for line in stored_lines(link.lines) if line.line_no is not None}
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


def _shipped_by_line(note: DeliveryNote) -> dict[int, Decimal]:
    shipped: dict[int, Decimal] = {}
    for line in note.lines:
        shipped[line.order_line_no] = shipped.get(line.order_line_no, _ZERO) + line.quantity
    return shipped


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
