"""Reading one EDIFACT ORDERS message (EANCOM D96A EAN008, D96B, D01B EAN010) into a PurchaseOrder.

The segments read are those EANCOM ORDERS uses for what Carnet captures: BGM, DTM, NAD, RFF, CUX,
FTX, then per line LIN, PIA, IMD, QTY, PRI, DTM, FTX, and CNT as a control total. Everything else
(ALI, TAX, TOD, MEA, PAC...) is read past: it does not change what is ordered.

Defects that change what would be captured are errors (missing BGM or order number, a line
without ordered quantity or item, an unreadable number); defects that do not are warnings
(an unparsable DTM, a CNT total that disagrees with the lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from operator import le

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
from app.edi.edifact_syntax import Segment
from app.edi.issues import IssueCode, IssueLog, Location
from app.edi.values import item_identifier, parse_count, parse_decimal, parse_edifact_date

# Largest number of elements, then of components per element, in D96A and D01B for the segments
# read here. More constituents mean an unreleased separator in the data (CONTRL error 16).
_CONSTITUENT_LIMITS: dict[str, tuple[int, ...]] = {
    "BGM": (4, 3, 1, 1),
    "DTM": (3,),
    "NAD": (1, 3, 5, 6, 4, 1, 4, 1, 1),
    "RFF": (5,),
    "CUX": (4, 4, 1, 1),
    "FTX": (1, 1, 3, 5, 1, 1),
    "LIN": (1, 1, 4, 2, 1, 1),
    "PIA": (1, 4, 4, 4, 4, 4),
    "IMD": (1, 3, 6, 1),
    "QTY": (3,),
    "PRI": (6, 1),
    "UNS": (1,),
    "CNT": (3,),
}
_ORDERED_QUANTITY = "21"
_DISCRETE_QUANTITY = "1"
_DELIVERY_DATES = ("2", "64", "63")  # requested, earliest, latest: first one present wins
_PRICE_PREFERENCE = ("AAA", "AAB")  # net price before gross price


class _LineDraft:
    """A line being read; frozen into an OrderLine once its group ends."""

    __slots__ = (
        "dates",
        "description",
        "identifiers",
        "lin",
        "notes",
        "position",
        "price",
        "price_qualifier",
        "quantity",
        "quantity_qualifier",
        "unit",
    )

    def __init__(self, lin: Segment, position: int) -> None:
        self.lin = lin
        self.position = position
        self.identifiers: list[ItemIdentifier] = []
        self.quantity: Decimal | None = None
        self.quantity_qualifier: str | None = None
        self.unit: str | None = None
        self.price: Decimal | None = None
        self.price_qualifier: str | None = None
        self.description: str | None = None
        self.dates: dict[str, date] = {}
        self.notes: list[FreeText] = []


class _OrdersReader:
    def __init__(self, body: Sequence[Segment], header: MessageHeader, log: IssueLog) -> None:
        self.body = body
        self.header = header
        self.log = log
        self.po_number = ""
        self.document_type: str | None = None
        self.dates: dict[str, date] = {}
        self.currency: str | None = None
        self.parties: list[Party] = []
        self.references: list[Reference] = []
        self.free_texts: list[FreeText] = []
        self.lines: list[OrderLine] = []
        self.line: _LineDraft | None = None
        self.line_count_declared: tuple[Segment, int] | None = None

    def where(
        self, segment: Segment, position: int, element: int | None = None, component: int | None = None
    ) -> Location:
        return Location(
            segment_index=segment.number,
            segment_tag=segment.tag,
            element=element,
            component=component,
            segment_position=position,
            message_ref=self.header.reference,
            group_ref=self.header.group_ref,
            interchange_ref=self.header.interchange_ref,
        )

    def read(self) -> PurchaseOrder | None:
        seen_bgm = False
        for position, segment in enumerate(self.body, start=1):
            tag = segment.tag
            limits = _CONSTITUENT_LIMITS.get(tag)
            if limits is not None and (
                len(segment.elements) > len(limits) or not all(map(le, map(len, segment.elements), limits))
            ):
                self.check_constituents(segment, position)
            if tag == "LIN":
                self.close_line()
                self.open_line(segment, position)
            elif self.line is not None and tag in ("PIA", "IMD", "QTY", "PRI", "DTM", "FTX"):
                self.read_line_segment(segment, position)
            elif tag == "BGM":
                seen_bgm = True
                self.read_bgm(segment, position)
            elif tag == "DTM":
                self.read_date(segment, position, self.dates)
            elif tag == "NAD":
                self.parties.append(_party(segment))
            elif tag == "RFF" and self.line is None:
                if segment.value(1, 2):
                    self.references.append(Reference(segment.value(1, 1), segment.value(1, 2)))
            elif tag == "CUX" and self.currency is None:
                self.currency = segment.value(1, 2) or None
            elif tag == "FTX":
                self.free_texts.extend(_free_text(segment))
            elif tag == "UNS":
                self.close_line()
            elif tag == "CNT" and segment.value(1, 1) == "2":
                self.read_line_count(segment)
        self.close_line()
        unh = self.body[0]
        if not seen_bgm:
            self.log.error(IssueCode.MISSING_SEGMENT, "mandatory BGM segment missing", self.where(unh, 1))
            return None
        self.check_line_count()
        return PurchaseOrder(
            po_number=self.po_number,
            message=self.header,
            document_type=self.document_type,
            document_date=self.dates.get("137"),
            requested_delivery_date=_first_date(self.dates, _DELIVERY_DATES),
            currency=self.currency,
            parties=tuple(self.parties),
            lines=tuple(self.lines),
            free_texts=tuple(self.free_texts),
            references=tuple(self.references),
            declared_line_count=self.line_count_declared[1] if self.line_count_declared else None,
        )

    def check_constituents(self, segment: Segment, position: int) -> None:
        limits = _CONSTITUENT_LIMITS[segment.tag]
        if len(segment.elements) <= len(limits) and all(map(le, map(len, segment.elements), limits)):
            return
        if len(segment.elements) > len(limits):
            where = self.where(segment, position, element=len(limits) + 1)
            detail = f"{segment.tag} has {len(segment.elements)} elements, at most {len(limits)} allowed"
            self.log.error(IssueCode.TOO_MANY_CONSTITUENTS, detail, where)
            return
        for number, (element, limit) in enumerate(zip(segment.elements, limits, strict=False), start=1):
            if len(element) > limit:
                where = self.where(segment, position, element=number, component=limit + 1)
                detail = (
                    f"{segment.tag} element {number} has {len(element)} components, at most {limit}: "
                    "probably an unreleased separator"
                )
                self.log.error(IssueCode.TOO_MANY_CONSTITUENTS, detail, where)

    def read_bgm(self, segment: Segment, position: int) -> None:
        self.document_type = segment.value(1, 1) or None
        self.po_number = segment.value(2, 1)
        if not self.po_number:
            where = self.where(segment, position, element=2, component=1)
            self.log.error(IssueCode.MISSING_VALUE, "BGM has no document (order) number", where)

    def read_date(self, segment: Segment, position: int, into: dict[str, date]) -> None:
        qualifier, value, format_code = segment.value(1, 1), segment.value(1, 2), segment.value(1, 3)
        parsed = parse_edifact_date(value, format_code)
        if parsed is None:
            if value:
                where = self.where(segment, position, element=1, component=2)
                detail = (
                    f"DTM {qualifier} value {value!r} does not match format {format_code or '102'}; ignored"
                )
                self.log.warn(IssueCode.INVALID_DATE, detail, where)
            return
        into.setdefault(qualifier, parsed)

    def open_line(self, segment: Segment, position: int) -> None:
        self.line = _LineDraft(segment, position)
        item, kind = segment.value(3, 1), segment.value(3, 2)
        if item:
            self.line.identifiers.append(item_identifier(item, kind))

    def read_line_segment(self, segment: Segment, position: int) -> None:
        line = self.line
        assert line is not None
        tag = segment.tag
        if tag == "PIA":
            for element in segment.elements[1:]:
                if element[0]:
                    line.identifiers.append(
                        item_identifier(element[0], element[1] if len(element) > 1 else None)
                    )
        elif tag == "QTY":
            self.read_quantity(line, segment, position)
        elif tag == "PRI":
            self.read_price(line, segment, position)
        elif tag == "IMD":
            text = " ".join(c for c in segment.components(3)[3:5] if c)
            if text and line.description is None:
                line.description = text
        elif tag == "DTM":
            self.read_date(segment, position, line.dates)
        else:
            line.notes.extend(_free_text(segment))

    def read_quantity(self, line: _LineDraft, segment: Segment, position: int) -> None:
        qualifier = segment.value(1, 1)
        if qualifier not in (_ORDERED_QUANTITY, _DISCRETE_QUANTITY):
            return
        if line.quantity_qualifier == _ORDERED_QUANTITY:
            return
        quantity = parse_decimal(segment.value(1, 2))
        if quantity is None:
            where = self.where(segment, position, element=1, component=2)
            self.log.error(
                IssueCode.INVALID_VALUE, f"quantity {segment.value(1, 2)!r} is not a number", where
            )
            return
        line.quantity, line.quantity_qualifier = quantity, qualifier
        line.unit = segment.value(1, 3) or None

    def read_price(self, line: _LineDraft, segment: Segment, position: int) -> None:
        qualifier = segment.value(1, 1)
        if line.price is not None and _price_rank(qualifier) >= _price_rank(line.price_qualifier):
            return
        price = parse_decimal(segment.value(1, 2))
        if price is None:
            if segment.value(1, 2):
                where = self.where(segment, position, element=1, component=2)
                self.log.error(
                    IssueCode.INVALID_VALUE, f"price {segment.value(1, 2)!r} is not a number", where
                )
            return
        line.price, line.price_qualifier = price, qualifier

    def close_line(self) -> None:
        line = self.line
        if line is None:
            return
        self.line = None
        lin = line.lin
        number = lin.value(1) or None
        if not line.identifiers:
            where = self.where(lin, line.position, element=3, component=1)
            self.log.error(
                IssueCode.MISSING_VALUE, f"line {number or '?'} has no item number (LIN or PIA)", where
            )
        if line.quantity is None:
            where = self.where(lin, line.position)
            detail = f"line {number or '?'} has no ordered quantity (QTY+21)"
            self.log.error(IssueCode.MISSING_SEGMENT, detail, where)
            return
        self.lines.append(
            OrderLine(
                position=len(self.lines) + 1,
                line_number=number,
                identifiers=tuple(line.identifiers),
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.price,
                description=line.description,
                requested_delivery_date=_first_date(line.dates, _DELIVERY_DATES),
                notes=tuple(line.notes),
            )
        )

    def read_line_count(self, segment: Segment) -> None:
        declared = parse_count(segment.value(1, 2))
        if declared is not None:
            self.line_count_declared = (segment, declared)

    def check_line_count(self) -> None:
        if self.line_count_declared is None:
            return
        segment, declared = self.line_count_declared
        if declared != len(self.lines):
            where = Location(
                segment_index=segment.number,
                segment_tag="CNT",
                element=1,
                component=2,
                message_ref=self.header.reference,
            )
            detail = f"CNT declares {declared} lines, the message has {len(self.lines)}"
            self.log.warn(IssueCode.CONTROL_TOTAL_MISMATCH, detail, where)


def read_orders_message(
    body: Sequence[Segment], header: MessageHeader, log: IssueLog
) -> PurchaseOrder | None:
    """Map an ORDERS message (UNH..UNT segments) to a PurchaseOrder; defects go to ``log``.

    Returns ``None`` only when there is no BGM at all: without it there is no order to hold.
    """
    return _OrdersReader(body, header, log).read()


def _price_rank(qualifier: str | None) -> int:
    return _PRICE_PREFERENCE.index(qualifier) if qualifier in _PRICE_PREFERENCE else len(_PRICE_PREFERENCE)


def _first_date(dates: dict[str, date], qualifiers: tuple[str, ...]) -> date | None:
    return next((dates[q] for q in qualifiers if q in dates), None)


def _party(segment: Segment) -> Party:
    name = " ".join(c for c in segment.components(4)[:5] if c) or None
    street = tuple(c for c in segment.components(5) if c)
    city, region = segment.value(6), segment.value(7)
    postal_code, country = segment.value(8), segment.value(9)
    address = None
    if street or city or postal_code or country:
        address = Address(
            street=street,
            city=city or None,
            postal_code=postal_code or None,
            region=region or None,
            country_code=country or None,
        )
    if name is None and segment.components(3):
        name = " ".join(c for c in segment.components(3) if c) or None
    return Party(
        qualifier=segment.value(1),
        id=segment.value(2, 1) or None,
        id_agency=segment.value(2, 3) or None,
        name=name,
        address=address,
    )


def _free_text(segment: Segment) -> list[FreeText]:
    text = " ".join(c for c in segment.components(4) if c)
    if not text:
        text = ":".join(c for c in segment.components(3) if c)
    return [FreeText(segment.value(1) or None, text)] if text else []
