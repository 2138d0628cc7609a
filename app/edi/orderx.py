"""Order-X (UN/CEFACT Cross Industry Order, CIO D20B) reader: BASIC, COMFORT and EXTENDED profiles.

One XML document is one purchase order. Namespace URIs are taken from the document itself
(the ``ram``/``udt`` versions differ between CIO releases and writers bind extra prefixes),
and only the root element and its ``rsm`` namespace are required to match. The buyer id is
``BuyerTradeParty/GlobalID`` (else its ``ID``); the line's primary item id is
``SpecifiedTradeProduct/GlobalID``, then the seller's, then the buyer's id.
"""

from __future__ import annotations

from datetime import date, datetime

from lxml import etree  # type: ignore[import-untyped]

from app.edi.charsets import charset_name
from app.edi.documents import (
    Address,
    DocumentFormat,
    FreeText,
    Interchange,
    ItemIdentifier,
    OrderLine,
    Party,
    PurchaseOrder,
)
from app.edi.issues import InterchangeRejected, Issue, IssueCode, IssueLog
from app.edi.values import item_identifier, parse_decimal, parse_edifact_date
from app.edi.xml_loading import declared_encoding, load_xml, local_name, namespace, text_of, where

ROOT_NAME = "SCRDMCCBDACIOMessageStructure"
RSM_NAMESPACE = "urn:un:unece:uncefact:data:SCRDMCCBDACIOMessageStructure:100"
_HEADER_PARTIES = (
    ("ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty", "BY"),
    ("ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty", "SU"),
    ("ram:ApplicableHeaderTradeDelivery/ram:ShipToTradeParty", "ST"),
    ("ram:ApplicableHeaderTradeDelivery/ram:ShipFromTradeParty", "SF"),
    ("ram:ApplicableHeaderTradeSettlement/ram:InvoiceeTradeParty", "IV"),
)


def parse_orderx(data: bytes) -> Interchange:
    """Read an Order-X document; raise :class:`InterchangeRejected` with located issues."""
    root = load_xml(data)
    if local_name(root) != ROOT_NAME or namespace(root) != RSM_NAMESPACE:
        detail = f"root element {root.tag!r} is not an Order-X (CIO) message"
        raise InterchangeRejected(
            [Issue(IssueCode.UNKNOWN_DOCUMENT, detail, where(root))], format=DocumentFormat.ORDERX
        )
    reader = _OrderReader(root)
    order = reader.read()
    log = reader.log
    test = reader.text(reader.context, "ram:TestIndicator/udt:Indicator") == "true"
    interchange = Interchange(
        format=DocumentFormat.ORDERX,
        sender_id=order.buyer_id,
        receiver_id=order.supplier_id,
        control_ref=order.po_number or None,
        test=test,
        charset=declared_encoding(root),
        encoding=charset_name(declared_encoding(root) or "utf-8"),
        prepared_at=reader.issued_at,
        orders=(order,),
        warnings=tuple(log.warnings),
    )
    if log.errors:
        raise InterchangeRejected(log.errors, interchange=interchange)
    return interchange


class _OrderReader:
    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.log = IssueLog()
        self.ns = {
            "rsm": RSM_NAMESPACE,
            "ram": _namespace_of(root, "ID"),
            "udt": _namespace_of(root, "DateTimeString"),
        }
        self.context = root.find("rsm:ExchangedDocumentContext", self.ns)
        self.issued_at: datetime | None = None

    def find(self, element: etree._Element | None, path: str) -> etree._Element | None:
        return element.find(path, self.ns) if element is not None else None

    def text(self, element: etree._Element | None, path: str) -> str | None:
        return text_of(self.find(element, path))

    def date(self, element: etree._Element | None, path: str) -> date | None:
        found = self.find(element, path)
        value = text_of(found)
        if found is None or value is None:
            return None
        parsed = parse_edifact_date(value, found.get("format") or "102")
        if parsed is None:
            self.log.warn(
                IssueCode.INVALID_DATE, f"{value!r} does not match format {found.get('format')}", where(found)
            )
        return parsed

    def read(self) -> PurchaseOrder:
        root = self.root
        document = root.find("rsm:ExchangedDocument", self.ns)
        transaction = root.find("rsm:SupplyChainTradeTransaction", self.ns)
        po_number = self.text(document, "ram:ID") or ""
        if not po_number:
            self.log.error(
                IssueCode.MISSING_VALUE,
                "ExchangedDocument/ID (order number) is missing",
                where(document if document is not None else root),
            )
        issued = self.date(document, "ram:IssueDateTime/udt:DateTimeString")
        if issued is not None:
            self.issued_at = datetime.combine(issued, datetime.min.time())
        if transaction is None:
            self.log.error(IssueCode.MISSING_SEGMENT, "SupplyChainTradeTransaction is missing", where(root))
        line_elements = (
            transaction.findall("ram:IncludedSupplyChainTradeLineItem", self.ns)
            if transaction is not None
            else []
        )
        lines = [
            line
            for position, element in enumerate(line_elements, start=1)
            if (line := self.read_line(element, position)) is not None
        ]
        if transaction is not None and not lines:
            self.log.error(
                IssueCode.MISSING_SEGMENT,
                "the order has no IncludedSupplyChainTradeLineItem",
                where(transaction),
            )
        delivery = self.find(
            transaction, "ram:ApplicableHeaderTradeDelivery/ram:RequestedDeliverySupplyChainEvent"
        )
        requested = self.date(delivery, "ram:OccurrenceDateTime/udt:DateTimeString") or self.date(
            delivery, "ram:OccurrenceSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString"
        )
        parties = [
            party
            for path, qualifier in _HEADER_PARTIES
            if (party := self.party(self.find(transaction, path), qualifier)) is not None
        ]
        notes = document.findall("ram:IncludedNote", self.ns) if document is not None else []
        return PurchaseOrder(
            po_number=po_number,
            message=None,
            document_type=self.text(document, "ram:TypeCode"),
            document_date=issued,
            requested_delivery_date=requested,
            currency=self.text(transaction, "ram:ApplicableHeaderTradeSettlement/ram:OrderCurrencyCode"),
            parties=tuple(parties),
            lines=tuple(lines),
            free_texts=tuple(self.free_text(note) for note in notes if self.text(note, "ram:Content")),
        )

    def free_text(self, note: etree._Element) -> FreeText:
        return FreeText(self.text(note, "ram:SubjectCode"), self.text(note, "ram:Content") or "")

    def party(self, element: etree._Element | None, qualifier: str) -> Party | None:
        if element is None:
            return None
        global_id = self.find(element, "ram:GlobalID")
        local_id = self.find(element, "ram:ID")
        chosen = global_id if text_of(global_id) else local_id
        address = self.find(element, "ram:PostalTradeAddress")
        return Party(
            qualifier=qualifier,
            id=text_of(chosen),
            id_agency=chosen.get("schemeID") if chosen is not None else None,
            name=self.text(element, "ram:Name"),
            address=self.address(address) if address is not None else None,
        )

    def address(self, element: etree._Element) -> Address:
        street = [self.text(element, f"ram:Line{n}") for n in ("One", "Two", "Three")]
        return Address(
            street=tuple(s for s in street if s),
            city=self.text(element, "ram:CityName"),
            postal_code=self.text(element, "ram:PostcodeCode"),
            region=self.text(element, "ram:CountrySubDivisionName"),
            country_code=self.text(element, "ram:CountryID"),
        )

    def read_line(self, element: etree._Element, position: int) -> OrderLine | None:
        delivery = self.find(element, "ram:SpecifiedLineTradeDelivery")
        quantity_element = self.find(delivery, "ram:RequestedQuantity")
        quantity = parse_decimal(text_of(quantity_element) or "")
        if quantity is None:
            self.log.error(
                IssueCode.INVALID_VALUE,
                "RequestedQuantity is missing or not a number",
                where(quantity_element if quantity_element is not None else element),
            )
            return None
        product = self.find(element, "ram:SpecifiedTradeProduct")
        identifiers = self.identifiers(product)
        if not identifiers:
            self.log.error(
                IssueCode.MISSING_VALUE,
                "SpecifiedTradeProduct has no GlobalID, seller's or buyer's id",
                where(product if product is not None else element),
            )
        price_path = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount"
        notes = element.findall("ram:AssociatedDocumentLineDocument/ram:IncludedNote", self.ns)
        return OrderLine(
            position=position,
            line_number=self.text(element, "ram:AssociatedDocumentLineDocument/ram:LineID"),
            identifiers=tuple(identifiers),
            quantity=quantity,
            unit=quantity_element.get("unitCode") if quantity_element is not None else None,
            unit_price=parse_decimal(self.text(element, price_path) or ""),
            description=self.text(product, "ram:Name") or self.text(product, "ram:Description"),
            requested_delivery_date=self.date(
                delivery, "ram:RequestedDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"
            ),
            notes=tuple(self.free_text(note) for note in notes if self.text(note, "ram:Content")),
        )

    def identifiers(self, product: etree._Element | None) -> list[ItemIdentifier]:
        if product is None:
            return []
        found: list[ItemIdentifier] = []
        for path, default_qualifier in (
            ("ram:GlobalID", None),
            ("ram:SellerAssignedID", "SA"),
            ("ram:BuyerAssignedID", "IN"),
        ):
            for element in product.findall(path, self.ns):
                if value := text_of(element):
                    found.append(
                        item_identifier(value, default_qualifier or element.get("schemeID") or "0160")
                    )
        return found


def _namespace_of(root: etree._Element, name: str) -> str:
    """Namespace URI the document uses for its first element called ``name``."""
    for element in root.iter():
        if isinstance(element.tag, str) and local_name(element) == name:
            return namespace(element) or ""
    return ""
