"""Despatch advice: what left, for one of a partner's EDI orders, written when it ships.

* :func:`eancom_desadv` — EANCOM DESADV D96A (EAN007): BGM with the delivery note number, the
  despatch date, the order (RFF+ON) and the parties it named, then per order line its GTIN (LIN),
  our article number (PIA), the quantity despatched (QTY+12), ordered (QTY+21) and still backordered
  (QTY+83), and the partner's line (RFF+ON:po:line);
* :func:`x12_856` — X12 856 ship notice: BSN with the delivery note number, a shipment level (HL S)
  with the ship date and the packing list number, an order level (HL O, PRF) and one item level per
  line (HL I, LIN, SN1 with the quantity shipped, shipped to date and ordered, and the line status:
  AC complete, BP balance backordered);
* :func:`json_despatch_advice` — the same content for partners whose orders came as XML or CSV.

Pure functions: the caller gives the envelope to answer and the control numbers. Only string
building per line, so a 200-line shipment takes a millisecond or two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import orjson

from app.edi.ack_common import AckControl, decimal_text
from app.edi.ack_edifact import Body, message_segments, reply_interchange
from app.edi.ack_x12 import OutSegment, set_ref, transaction_set
from app.edi.ack_x12 import reply_interchange as x12_interchange
from app.edi.documents import Envelope, Party

_X12_AGENCY = {"9": "UL", "14": "UL"}  # a GS1 GLN (EDIFACT 3055) is X12 id code qualifier UL


@dataclass(frozen=True, slots=True)
class DespatchLine:
    """One order line in a despatch: what left now, what left in all, what is still to come."""

    line_number: str  # the partner's line number, else ours
    gtin: str | None
    product_code: str
    description: str
    unit: str | None
    ordered: Decimal
    shipped: Decimal
    shipped_to_date: Decimal
    backordered: Decimal


@dataclass(frozen=True, slots=True)
class DespatchAdvice:
    note_number: str
    issued_at: datetime
    despatch_date: date
    order_number: str
    po_number: str
    po_date: date | None
    parties: tuple[Party, ...]
    lines: tuple[DespatchLine, ...]


def eancom_desadv(received: Envelope, advice: DespatchAdvice, *, control: AckControl) -> bytes:
    body: Body = [
        ("BGM", ["351", advice.note_number, "9"]),
        ("DTM", [("137", control.prepared_at.strftime("%Y%m%d%H%M"), "203")]),
        ("DTM", [("11", advice.despatch_date.strftime("%Y%m%d"), "102")]),
        ("RFF", [("ON", advice.po_number)]),
    ]
    if advice.po_date is not None:
        body.append(("DTM", [("171", advice.po_date.strftime("%Y%m%d"), "102")]))
    body.append(("RFF", [("DQ", advice.note_number)]))
    body.append(("RFF", [("VN", advice.order_number)]))
    for party in advice.parties:
        body.append(("NAD", [party.qualifier, (party.id or "", "", party.id_agency or "")]))
    body.append(("CPS", ["1"]))
    for line in advice.lines:
        item = (line.gtin, "EN") if line.gtin else ("",)
        body.append(("LIN", [line.line_number, "", item]))
        body.append(("PIA", ["1" if line.gtin else "5", (line.product_code, "SA")]))
        unit = line.unit or ""
        body.append(("QTY", [("12", decimal_text(line.shipped), unit)]))
        body.append(("QTY", [("21", decimal_text(line.ordered), unit)]))
        if line.backordered:
            body.append(("QTY", [("83", decimal_text(line.backordered), unit)]))
        body.append(("RFF", [("ON", advice.po_number, line.line_number)]))
    body.append(("CNT", [("2", str(len(advice.lines)))]))
    message = message_segments(control.message_ref, ("DESADV", "D", "96A", "UN", "EAN007"), body)
    return reply_interchange(received, [message], control, application_ref="DESADV")


def x12_856(
    received: Envelope, advice: DespatchAdvice, *, control: AckControl, version: str | None = None
) -> bytes:
    body = [
        OutSegment(
            "BSN",
            (
                "00",
                advice.note_number,
                advice.despatch_date.strftime("%Y%m%d"),
                control.prepared_at.strftime("%H%M"),
                "0001",
            ),
        ),
        OutSegment("HL", ("1", "", "S")),
        OutSegment("REF", ("PK", advice.note_number)),
        OutSegment("DTM", ("011", advice.despatch_date.strftime("%Y%m%d"))),
        *(
            OutSegment(
                "N1",
                (
                    party.qualifier,
                    "",
                    _X12_AGENCY.get(party.id_agency or "", party.id_agency or "92"),
                    party.id or "",
                ),
            )
            for party in advice.parties
        ),
        OutSegment("HL", ("2", "1", "O")),
        OutSegment(
            "PRF", (advice.po_number, "", "", advice.po_date.strftime("%Y%m%d") if advice.po_date else "")
        ),
    ]
    for number, line in enumerate(advice.lines, start=3):
        unit = line.unit or "EA"
        body.append(OutSegment("HL", (str(number), "2", "I")))
        body.append(OutSegment("LIN", (line.line_number, *_x12_gtin(line.gtin), "VN", line.product_code)))
        status = "BP" if line.backordered else "AC"
        body.append(
            OutSegment(
                "SN1",
                (
                    line.line_number,
                    decimal_text(line.shipped),
                    unit,
                    decimal_text(line.shipped_to_date),
                    decimal_text(line.ordered),
                    unit,
                    "",
                    status,
                ),
            )
        )
    body.append(OutSegment("CTT", (str(len(advice.lines) + 2),)))
    sets = [transaction_set("856", set_ref(control, 0), body)]
    return x12_interchange(received, "SH", sets, control, version=version)


def _x12_gtin(gtin: str | None) -> tuple[str, ...]:
    """LIN02/03 for our GTIN: a UPC-A (12 digits, stored with a leading 0), an EAN-13, a GTIN-14."""
    if gtin is None:
        return ()
    if len(gtin) == 13 and gtin.startswith("0"):
        return "UP", gtin[1:]
    return ("UK", gtin) if len(gtin) == 14 else ("EN", gtin)


def json_despatch_advice(advice: DespatchAdvice, *, number: str, now: datetime) -> bytes:
    return orjson.dumps(
        {
            "despatch_advice": number,
            "prepared_at": now.isoformat(),
            "delivery_note": advice.note_number,
            "despatch_date": advice.despatch_date.isoformat(),
            "order": advice.order_number,
            "po_number": advice.po_number,
            "lines": [
                {
                    "line": line.line_number,
                    "gtin": line.gtin,
                    "product_code": line.product_code,
                    "description": line.description,
                    "ordered": decimal_text(line.ordered),
                    "shipped": decimal_text(line.shipped),
                    "shipped_to_date": decimal_text(line.shipped_to_date),
                    "backordered": decimal_text(line.backordered),
                }
                for line in advice.lines
            ],
        }
    )
