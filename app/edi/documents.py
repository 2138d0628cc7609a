"""Neutral model of a received interchange and the purchase orders in it.

Every partner format (EDIFACT, X12, UBL, Order-X, CSV) is read into these frozen dataclasses, so
order capture and acknowledgments are written once. Values are kept as sent (strings for ids and
line numbers, ``Decimal`` for quantities and prices); interpreting them against the catalogue is the
ingestion layer's job, not the parser's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from app.edi.issues import Issue


class DocumentFormat(StrEnum):
    EDIFACT = "edifact"
    X12 = "x12"
    ORDERX = "orderx"
    UBL = "ubl"
    CSV = "csv"


class ItemIdKind(StrEnum):
    """What an item identifier is, whatever the format's own qualifier code."""

    GTIN = "gtin"
    ISBN = "isbn"
    UPC = "upc"
    BUYER = "buyer"
    SELLER = "seller"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ItemIdentifier:
    """One identifier of an ordered item; ``qualifier`` is the code as sent (EN, SA, UP, 0160...)."""

    kind: ItemIdKind
    value: str
    qualifier: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    street: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country_code: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """A party named in the order.

    ``qualifier`` is the role code (EDIFACT 3035 / X12 N101 style: BY buyer, DP delivery party,
    ST ship-to, IV invoicee, SU supplier, SF ship-from...). ``id_agency`` is who assigned ``id``
    (EDIFACT 3055 such as 9 = GS1, 91 = seller, 92 = buyer; X12 N103; XML schemeID).
    """

    qualifier: str
    id: str | None = None
    id_agency: str | None = None
    name: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class FreeText:
    qualifier: str | None
    text: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A document reference (EDIFACT RFF, X12 REF): contract, promotion, VAT number..."""

    qualifier: str
    value: str


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """The identity of one EDI message (UNH..UNT or ST..SE), as acknowledgments must echo it.

    ``version``/``release``/``agency``/``association_code`` are the UNH S009 parts (``D``, ``96A``,
    ``UN``, ``EAN008``); for X12 ``version`` is GS08 (``004010``) and ``agency`` GS07 (``X``).
    """

    reference: str
    type: str
    version: str | None = None
    release: str | None = None
    agency: str | None = None
    association_code: str | None = None
    interchange_ref: str | None = None
    group_ref: str | None = None
    segment_count: int = 0


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    """One UNG..UNE or GS..GE group, with every message in it (orders and skipped ones)."""

    functional_id: str
    control_ref: str
    sender_id: str | None
    receiver_id: str | None
    version: str | None
    messages: tuple[MessageHeader, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """One UNB..UNZ or ISA..IEA: what a CONTRL or 997 answers to.

    EDIFACT messages outside any UNG group are in ``messages``; messages inside groups are only
    listed in their group. X12 always uses groups. ``acknowledgment_requested`` is UNB 0031 / ISA14:
    the partner expects a CONTRL or a TA1/997 back.
    """

    control_ref: str
    sender_id: str
    receiver_id: str
    sender_qualifier: str | None
    receiver_qualifier: str | None
    syntax: str | None
    syntax_version: str | None
    test: bool
    prepared_at: datetime | None
    messages: tuple[MessageHeader, ...]
    groups: tuple[FunctionalGroup, ...]
    acknowledgment_requested: bool = False


@dataclass(slots=True)  # not frozen: an interchange reads ten thousand, and frozen init is 5 times slower
class OrderLine:
    """One ordered line (treated as immutable, like every class here).

    ``identifiers`` are ordered primary first, following the MANIFEST rule of each format (EDIFACT
    LIN then PIA, X12 PO106/107 pairs in order, UBL standard then seller's then buyer's id...), so
    ``item`` is simply the first one. ``line_number`` is kept as sent: it may be absent, repeated
    or out of order; ``position`` is the 1-based rank of the line in the message.
    """

    position: int
    line_number: str | None
    identifiers: tuple[ItemIdentifier, ...]
    quantity: Decimal
    unit: str | None = None
    unit_price: Decimal | None = None
    description: str | None = None
    requested_delivery_date: date | None = None
    notes: tuple[FreeText, ...] = ()

    @property
    def item(self) -> str | None:
        return self.identifiers[0].value if self.identifiers else None

    def identifier(self, kind: ItemIdKind) -> str | None:
        """The first identifier of that kind, e.g. the GTIN to look the product up by."""
        return next((ident.value for ident in self.identifiers if ident.kind is kind), None)


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """One business order: an ORDERS message, an 850 set, one XML document or one CSV block."""

    po_number: str
    message: MessageHeader | None
    document_type: str | None
    document_date: date | None
    requested_delivery_date: date | None
    currency: str | None
    parties: tuple[Party, ...]
    lines: tuple[OrderLine, ...]
    free_texts: tuple[FreeText, ...] = ()
    references: tuple[Reference, ...] = ()
    # The number of lines the sender declares (EDIFACT CNT+2, X12 CTT01, UBL LineCountNumeric, a CSV
    # column): when it disagrees with the lines read, one may be missing, and the order is held.
    declared_line_count: int | None = None

    @property
    def buyer_id(self) -> str | None:
        """First buyer party id, per the MANIFEST rule (NAD+BY, N1*BY N104, BuyerTradeParty...)."""
        return self._first_party_id(("BY",))

    @property
    def delivery_party_id(self) -> str | None:
        """Where to deliver: the delivery party (DP), else the ship-to party (ST)."""
        return self._first_party_id(("DP",)) or self._first_party_id(("ST",))

    @property
    def supplier_id(self) -> str | None:
        return self._first_party_id(("SU", "SE", "VN"))

    def party(self, qualifier: str) -> Party | None:
        return next((p for p in self.parties if p.qualifier == qualifier), None)

    def _first_party_id(self, qualifiers: tuple[str, ...]) -> str | None:
        for qualifier in qualifiers:
            for party in self.parties:
                if party.qualifier == qualifier and party.id:
                    return party.id
        return None


@dataclass(frozen=True, slots=True)
class Interchange:
    """Everything received in one transmission.

    For EDIFACT and X12 a file may hold several concatenated interchanges: each is an entry of
    ``envelopes`` and the top-level ``sender_id``/``receiver_id``/``control_ref`` are those of the
    first. For XML and CSV there is no envelope: the sender is the buyer and the receiver the
    seller named in the document. ``charset`` is what the data declared (UNB syntax identifier,
    XML encoding, CSV profile encoding); ``encoding`` is what the bytes were read as (`utf-8`,
    `windows-1252`...): a choice that departs from the declaration is a warning.
    """

    format: DocumentFormat
    sender_id: str | None
    receiver_id: str | None
    control_ref: str | None
    test: bool
    charset: str | None
    prepared_at: datetime | None
    orders: tuple[PurchaseOrder, ...]
    warnings: tuple[Issue, ...] = ()
    skipped: tuple[MessageHeader, ...] = ()
    envelopes: tuple[Envelope, ...] = ()
    encoding: str | None = None
