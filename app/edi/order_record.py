"""The EDI side of an order (`EdiOrder`), written when the order is captured and read back whenever
the partner is told more: its envelope, message and parties to address and echo, and its lines as
the partner sent them, each with the order line it became.

`response_subject` rebuilds, from it, the received interchange and purchase order that the
acknowledgment builders answer, so an order response sent weeks later reads like the first one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from app.edi.documents import (
    DocumentFormat,
    Envelope,
    FunctionalGroup,
    Interchange,
    ItemIdentifier,
    ItemIdKind,
    MessageHeader,
    OrderLine,
    Party,
    PurchaseOrder,
)
from app.edi.mapping import MessagePlan
from app.edi.snapshot import storable

_RESPONSE_PARTIES = ("BY", "SU", "DP", "ST")


def order_row(
    interchange: Interchange, plan: MessagePlan, *, order_id: int, partner_id: int, interchange_id: int
) -> dict[str, Any]:
    """The `edi_order` row of an order just captured from ``plan`` (its lines: `StoredLine` lists)."""
    order = plan.order
    envelope = plan.envelope
    message = order.message
    line_nos = plan.line_nos or {}
    return {
        "order_id": order_id,
        "partner_id": partner_id,
        "interchange_id": interchange_id,
        "format": interchange.format.value,
        "document": {
            "po_number": storable(order.po_number, 100),
            "document_date": order.document_date.isoformat() if order.document_date else None,
            "parties": [
                {"qualifier": p.qualifier, "id": storable(p.id, 35), "agency": p.id_agency}
                for p in order.parties
                if p.qualifier in _RESPONSE_PARTIES and p.id
            ],
            "envelope": _envelope(envelope, message) if envelope is not None else None,
            "message": _message(message) if message is not None else None,
        },
        "lines": [
            [  # a StoredLine: lists, since an interchange stores ten thousand of them
                line.position,
                storable(line.line_number, 35) if line.line_number else None,
                storable(line.identifiers[0].value, 35) if line.identifiers else None,
                line.identifiers[0].qualifier if line.identifiers else None,
                line.identifiers[0].kind.value if line.identifiers else None,
                storable(line.unit, 20) if line.unit else None,
                storable(f"{line.quantity.normalize():f}", 40),
                f"{line.unit_price.normalize():f}" if line.unit_price is not None else None,
                line_nos.get(line.position),
            ]
            for line in order.lines
        ],
    }


class StoredLine(NamedTuple):
    """One line as the partner sent it (`edi_order.lines`), and the order line it became."""

    position: int
    line_number: str | None
    item: str | None
    qualifier: str | None
    kind: str | None
    unit: str | None
    quantity: str
    price: str | None
    line_no: int | None


def stored_lines(lines: list[Any]) -> list[StoredLine]:
    return [StoredLine(*line) for line in lines]


def _envelope(envelope: Envelope, message: MessageHeader | None) -> dict[str, Any]:
    group_ref = message.group_ref if message is not None else None
    group = next((g for g in envelope.groups if g.control_ref == group_ref), None)
    return {
        "control_ref": storable(envelope.control_ref, 35),
        "sender_id": storable(envelope.sender_id, 35),
        "receiver_id": storable(envelope.receiver_id, 35),
        "sender_qualifier": envelope.sender_qualifier,
        "receiver_qualifier": envelope.receiver_qualifier,
        "syntax": envelope.syntax,
        "syntax_version": envelope.syntax_version,
        "test": envelope.test,
        "group": {
            "functional_id": group.functional_id,
            "control_ref": group.control_ref,
            "sender_id": group.sender_id,
            "receiver_id": group.receiver_id,
            "version": group.version,
        }
        if group is not None
        else None,
    }


def _message(message: MessageHeader) -> dict[str, Any]:
    return {
        "reference": storable(message.reference, 35),
        "type": message.type,
        "version": message.version,
        "release": message.release,
        "agency": message.agency,
        "association_code": message.association_code,
        "interchange_ref": message.interchange_ref,
        "group_ref": message.group_ref,
    }


def response_subject(
    format: str, document: dict[str, Any], lines: list[StoredLine]
) -> tuple[Interchange, PurchaseOrder]:
    """The interchange and purchase order to answer, as they were received (the parts an answer uses)."""
    stored = document.get("envelope")
    message = document.get("message")
    header = MessageHeader(**message) if message else None
    envelopes: tuple[Envelope, ...] = ()
    if stored:
        group = stored["group"]
        envelopes = (
            Envelope(
                control_ref=stored["control_ref"],
                sender_id=stored["sender_id"],
                receiver_id=stored["receiver_id"],
                sender_qualifier=stored["sender_qualifier"],
                receiver_qualifier=stored["receiver_qualifier"],
                syntax=stored["syntax"],
                syntax_version=stored["syntax_version"],
                test=stored["test"],
                prepared_at=None,
                messages=(),
                groups=(FunctionalGroup(messages=(header,) if header else (), **group),) if group else (),
            ),
        )
    order = PurchaseOrder(
        po_number=document["po_number"],
        message=header,
        document_type=None,
        document_date=date.fromisoformat(document["document_date"]) if document["document_date"] else None,
        requested_delivery_date=None,
        currency=None,
        parties=tuple(Party(p["qualifier"], p["id"], p["agency"]) for p in document["parties"]),
        lines=tuple(
            OrderLine(
                position=line.position,
                line_number=line.line_number,
                identifiers=(ItemIdentifier(ItemIdKind(line.kind or "other"), line.item, line.qualifier),)
                if line.item
                else (),
                quantity=Decimal(line.quantity),
                unit=line.unit,
                unit_price=Decimal(line.price) if line.price is not None else None,
            )
            for line in lines
        ),
    )
    interchange = Interchange(
        format=DocumentFormat(format),
        sender_id=stored["sender_id"] if stored else None,
        receiver_id=stored["receiver_id"] if stored else None,
        control_ref=stored["control_ref"] if stored else None,
        test=bool(stored and stored["test"]),
        charset=stored["syntax"] if stored else None,
        prepared_at=None,
        orders=(order,),
        envelopes=envelopes,
    )
    return interchange, order
