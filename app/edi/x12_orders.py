"""Reading one X12 850 transaction set (004010, 003010, VICS variants) into a PurchaseOrder.

Read: BEG (order number, date), CUR, REF, DTM, N1 loop (N1/N2/N3/N4), MSG/NTE, and per line
PO1, PID, DTM, then CTT as a control total. SLN sub-lines, PO4 packaging, CTP, SAC and the like
do not change what is ordered and are read past.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from app.edi.documents import (
    Address,
    FreeText,
    ItemIdentifier,
    MessageHeader,
    OrderLine,
    Party,
    PurchaseOrder,
    Reference,
)
from app.edi.issues import IssueCode, IssueLog, Location
from app.edi.values import item_identifier, parse_compact_date, parse_count, parse_decimal
from app.edi.x12_syntax import X12Segment

_DELIVERY_REQUESTED = "002"
_FIRST_PRODUCT_ID = 6  # PO106/PO107 is the first qualifier/id pair; pairs run to PO124/PO125
_LAST_PRODUCT_ID = 25


@dataclass
class _PartyDraft:
    qualifier: str
    name: str | None
    id_agency: str | None
    id: str | None
    street: list[str] = field(default_factory=list)
    address: Address | None = None

    def freeze(self) -> Party:
        address = self.address
        if self.street:
            address = replace(address or Address(), street=tuple(self.street))
        return Party(self.qualifier, self.id, self.id_agency, self.name, address)


@dataclass
class _LineDraft:
    po1: X12Segment
    position: int
    identifiers: list[ItemIdentifier]
    quantity: Decimal | None
    unit_price: Decimal | None
    description: str | None = None
    delivery_date: date | None = None


class _PurchaseOrderReader:
    def __init__(self, body: Sequence[X12Segment], header: MessageHeader, log: IssueLog) -> None:
        self.body = body
        self.header = header
        self.log = log
        self.parties: list[_PartyDraft] = []
        self.references: list[Reference] = []
        self.free_texts: list[FreeText] = []
        self.lines: list[OrderLine] = []
        self.line: _LineDraft | None = None
        self.currency: str | None = None
        self.delivery_date: date | None = None
        self.declared_lines: tuple[X12Segment, int] | None = None

    def where(self, segment: X12Segment, position: int, element: int | None = None) -> Location:
        return Location(
            segment_index=segment.number,
            segment_tag=segment.tag,
            element=element,
            segment_position=position,
            message_ref=self.header.reference,
            group_ref=self.header.group_ref,
            interchange_ref=self.header.interchange_ref,
        )

    def read(self) -> PurchaseOrder | None:
        beg: tuple[X12Segment, int] | None = None
        for position, segment in enumerate(self.body, start=1):
            tag = segment.tag
            if tag == "PO1":
                self.close_line()
                self.open_line(segment, position)
            elif tag == "BEG" and beg is None:
                beg = (segment, position)
            elif tag == "CUR" and self.currency is None:
                self.currency = segment.value(2) or None
            elif tag == "REF" and self.line is None:
                value = segment.value(2) or segment.value(3)
                if value:
                    self.references.append(Reference(segment.value(1), value))
            elif tag == "DTM":
                self.read_date(segment, position)
            elif tag == "N1" and self.line is None:
                self.parties.append(
                    _PartyDraft(
                        segment.value(1),
                        segment.value(2) or None,
                        segment.value(3) or None,
                        segment.value(4) or None,
                    )
                )
            elif tag in ("N2", "N3", "N4") and self.line is None and self.parties:
                _add_to_party(self.parties[-1], segment)
            elif tag == "PID" and self.line is not None and self.line.description is None:
                self.line.description = segment.value(5) or None
            elif tag in ("MSG", "NTE") and self.line is None:
                text = segment.value(1) if tag == "MSG" else segment.value(2)
                if text:
                    self.free_texts.append(FreeText(tag if tag == "MSG" else segment.value(1) or None, text))
            elif tag == "CTT":
                count = parse_count(segment.value(1))
                if count is not None:
                    self.declared_lines = (segment, count)
        self.close_line()
        if beg is None:
            where = self.where(self.body[0], 1)
            self.log.error(IssueCode.MISSING_SEGMENT, "mandatory BEG segment missing", where)
            return None
        beg_segment, beg_position = beg
        po_number = beg_segment.value(3)
        if not po_number:
            self.log.error(
                IssueCode.MISSING_VALUE,
                "BEG03 (purchase order number) is empty",
                self.where(beg_segment, beg_position, 3),
            )
        self.check_line_count()
        return PurchaseOrder(
            po_number=po_number,
            message=self.header,
            document_type=beg_segment.value(2) or None,
            document_date=parse_compact_date(beg_segment.value(5)),
            requested_delivery_date=self.delivery_date,
            currency=self.currency,
            parties=tuple(p.freeze() for p in self.parties),
            lines=tuple(self.lines),
            free_texts=tuple(self.free_texts),
            references=tuple(self.references),
            declared_line_count=self.declared_lines[1] if self.declared_lines else None,
        )

    def read_date(self, segment: X12Segment, position: int) -> None:
        if segment.value(1) != _DELIVERY_REQUESTED:
            return
        parsed = parse_compact_date(segment.value(2))
        if parsed is None:
            detail = f"DTM02 {segment.value(2)!r} is not a CCYYMMDD date; ignored"
            self.log.warn(IssueCode.INVALID_DATE, detail, self.where(segment, position, 2))
        elif self.line is not None:
            self.line.delivery_date = self.line.delivery_date or parsed
        else:
            self.delivery_date = self.delivery_date or parsed

    def open_line(self, po1: X12Segment, position: int) -> None:
        quantity = parse_decimal(po1.value(2))
        if quantity is None:
            detail = f"PO102 quantity {po1.value(2)!r} is not a number"
            self.log.error(
                IssueCode.INVALID_VALUE if po1.value(2) else IssueCode.MISSING_VALUE,
                detail,
                self.where(po1, position, 2),
            )
        price = parse_decimal(po1.value(4)) if po1.value(4) else None
        if po1.value(4) and price is None:
            detail = f"PO104 unit price {po1.value(4)!r} is not a number"
            self.log.error(IssueCode.INVALID_VALUE, detail, self.where(po1, position, 4))
        identifiers = [
            item_identifier(po1.value(n + 1), po1.value(n))
            for n in range(_FIRST_PRODUCT_ID, _LAST_PRODUCT_ID, 2)
            if po1.value(n + 1)
        ]
        if not identifiers:
            self.log.error(
                IssueCode.MISSING_VALUE, "PO1 has no product id (PO107...)", self.where(po1, position, 7)
            )
        self.line = _LineDraft(po1, position, identifiers, quantity, price)

    def close_line(self) -> None:
        line, self.line = self.line, None
        if line is None or line.quantity is None:
            return
        self.lines.append(
            OrderLine(
                position=len(self.lines) + 1,
                line_number=line.po1.value(1) or None,
                identifiers=tuple(line.identifiers),
                quantity=line.quantity,
                unit=line.po1.value(3) or None,
                unit_price=line.unit_price,
                description=line.description,
                requested_delivery_date=line.delivery_date,
            )
        )

    def check_line_count(self) -> None:
        if self.declared_lines is None:
            return
        segment, declared = self.declared_lines
        if declared != len(self.lines):
            where = self.where(segment, self.body.index(segment) + 1, 1)
            detail = f"CTT01 declares {declared} line items, the set has {len(self.lines)}"
            self.log.warn(IssueCode.CONTROL_TOTAL_MISMATCH, detail, where)


def read_purchase_order(
    body: Sequence[X12Segment], header: MessageHeader, log: IssueLog
) -> PurchaseOrder | None:
    """Map an 850 set (ST..SE segments) to a PurchaseOrder; ``None`` when there is no BEG."""
    return _PurchaseOrderReader(body, header, log).read()


def _add_to_party(party: _PartyDraft, segment: X12Segment) -> None:
    if segment.tag == "N2":
        extra = " ".join(v for v in segment.elements[:2] if v)
        party.name = f"{party.name} {extra}".strip() if party.name else extra or None
    elif segment.tag == "N3":
        party.street.extend(v for v in segment.elements[:2] if v)
    else:
        party.address = Address(
            city=segment.value(1) or None,
            region=segment.value(2) or None,
            postal_code=segment.value(3) or None,
            country_code=segment.value(4) or None,
        )
