"""UBL 2.0 / 2.1 Order reader (OASIS, CEN BII, Peppol-like documents).

One XML document is one purchase order. The buyer id is the first
``BuyerCustomerParty/Party/PartyIdentification/ID``; documents without one (the OASIS 2.0 example)
identify the buyer only by account numbers, so the seller-assigned account id (the seller's own
customer number, EDIFACT agency 91) is used, then the buyer-assigned one (agency 92). The line's
primary item id is the standard id (GTIN), then the seller's, then the buyer's.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

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
from app.edi.values import item_identifier, parse_count, parse_decimal
from app.edi.xml_loading import declared_encoding, load_xml, local_name, namespace, text_of, where

ORDER_NAMESPACE = "urn:oasis:names:specification:ubl:schema:xsd:Order-2"
_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}
_SELLER_ASSIGNED = "91"
_BUYER_ASSIGNED = "92"


def parse_ubl(data: bytes) -> Interchange:
    """Read a UBL Order document; raise :class:`InterchangeRejected` with located issues."""
    root = load_xml(data)
    if local_name(root) != "Order" or namespace(root) != ORDER_NAMESPACE:
        detail = f"root element {root.tag!r} is not a UBL 2 Order"
        raise InterchangeRejected(
            [Issue(IssueCode.UNKNOWN_DOCUMENT, detail, where(root))], format=DocumentFormat.UBL
        )
    log = IssueLog()
    order = _read_order(root, log)
    issued = _date(root, "cbc:IssueDate", log)
    issue_time = _text(root, "cbc:IssueTime")
    interchange = Interchange(
        format=DocumentFormat.UBL,
        sender_id=order.buyer_id,
        receiver_id=order.supplier_id,
        control_ref=_text(root, "cbc:UUID") or order.po_number or None,
        test=False,
        charset=declared_encoding(root),
        encoding=charset_name(declared_encoding(root) or "utf-8"),
        prepared_at=_prepared_at(issued, issue_time),
        orders=(order,),
        warnings=tuple(log.warnings),
    )
    if log.errors:
        raise InterchangeRejected(log.errors, interchange=interchange)
    return interchange


def _text(element: etree._Element, path: str) -> str | None:
    return text_of(element.find(path, _NS))


def _date(element: etree._Element, path: str, log: IssueLog) -> date | None:
    found = element.find(path, _NS)
    value = text_of(found)
    if found is None or value is None:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        log.warn(IssueCode.INVALID_DATE, f"{value!r} is not an ISO date; ignored", where(found))
        return None


def _prepared_at(issued: date | None, issue_time: str | None) -> datetime | None:
    if issued is None:
        return None
    try:
        clock = datetime.strptime((issue_time or "00:00:00")[:8], "%H:%M:%S").time()
    except ValueError:
        clock = datetime.min.time()
    return datetime.combine(issued, clock)


def _read_order(root: etree._Element, log: IssueLog) -> PurchaseOrder:
    po_number = _text(root, "cbc:ID") or ""
    if not po_number:
        log.error(IssueCode.MISSING_VALUE, "cbc:ID (order number) is missing", where(root))
    parties = [
        party
        for party in (
            _customer_party(root.find("cac:BuyerCustomerParty", _NS), "BY"),
            _supplier_party(root.find("cac:SellerSupplierParty", _NS)),
            _customer_party(root.find("cac:OriginatorCustomerParty", _NS), "OB"),
            _customer_party(root.find("cac:AccountingCustomerParty", _NS), "IV"),
            _delivery_party(root.find("cac:Delivery", _NS)),
        )
        if party is not None
    ]
    lines = [
        line
        for position, element in enumerate(root.findall("cac:OrderLine", _NS), start=1)
        if (line := _read_line(element, position, log)) is not None
    ]
    if not lines:
        log.error(IssueCode.MISSING_SEGMENT, "the order has no cac:OrderLine", where(root))
    delivery_start = _date(root, "cac:Delivery/cac:RequestedDeliveryPeriod/cbc:StartDate", log)
    return PurchaseOrder(
        po_number=po_number,
        message=None,
        document_type=_text(root, "cbc:OrderTypeCode") or "Order",
        document_date=_date(root, "cbc:IssueDate", log),
        requested_delivery_date=delivery_start
        or _date(root, "cac:Delivery/cac:RequestedDeliveryPeriod/cbc:EndDate", log),
        currency=_text(root, "cbc:DocumentCurrencyCode") or _first_currency(root),
        parties=tuple(parties),
        lines=tuple(lines),
        free_texts=tuple(FreeText(None, text) for n in root.findall("cbc:Note", _NS) if (text := text_of(n))),
        declared_line_count=parse_count(_text(root, "cbc:LineCountNumeric") or ""),
    )


def _first_currency(root: etree._Element) -> str | None:
    found = root.xpath("(//@currencyID)[1]")
    return str(found[0]) if isinstance(found, list) and found else None


def _customer_party(element: etree._Element | None, qualifier: str) -> Party | None:
    if element is None:
        return None
    party = element.find("cac:Party", _NS)
    identified = _party_identification(party)
    if identified is not None:
        party_id, agency = identified
    elif seller_assigned := _text(element, "cbc:SupplierAssignedAccountID"):
        party_id, agency = seller_assigned, _SELLER_ASSIGNED
    elif buyer_assigned := _text(element, "cbc:CustomerAssignedAccountID"):
        party_id, agency = buyer_assigned, _BUYER_ASSIGNED
    else:
        party_id, agency = None, None
    return _party(qualifier, party, party_id, agency)


def _supplier_party(element: etree._Element | None) -> Party | None:
    if element is None:
        return None
    party = element.find("cac:Party", _NS)
    identified = _party_identification(party)
    if identified is None and (account := _text(element, "cbc:CustomerAssignedAccountID")):
        identified = (account, _BUYER_ASSIGNED)
    party_id, agency = identified or (None, None)
    return _party("SU", party, party_id, agency)


def _delivery_party(delivery: etree._Element | None) -> Party | None:
    if delivery is None:
        return None
    location = delivery.find("cac:DeliveryLocation", _NS)
    address = (
        location.find("cac:Address", _NS)
        if location is not None
        else delivery.find("cac:DeliveryAddress", _NS)
    )
    candidates = [
        location.find("cbc:ID", _NS) if location is not None else None,
        address.find("cbc:ID", _NS) if address is not None else None,
    ]
    found = next((c for c in candidates if text_of(c)), None)
    party = delivery.find("cac:DeliveryParty", _NS)
    if found is not None:
        party_id, agency = text_of(found), found.get("schemeID")
    else:
        party_id, agency = _party_identification(party) or (None, None)
    if party_id is None and address is None:
        return None
    name = _text(party, "cac:PartyName/cbc:Name") if party is not None else None
    return Party("DP", party_id, agency, name, _address(address))


def _party_identification(party: etree._Element | None) -> tuple[str, str | None] | None:
    if party is None:
        return None
    for identification in party.findall("cac:PartyIdentification/cbc:ID", _NS):
        if value := text_of(identification):
            return value, identification.get("schemeID")
    return None


def _party(qualifier: str, party: etree._Element | None, party_id: str | None, agency: str | None) -> Party:
    if party is None:
        return Party(qualifier, party_id, agency)
    return Party(
        qualifier=qualifier,
        id=party_id,
        id_agency=agency,
        name=_text(party, "cac:PartyName/cbc:Name"),
        address=_address(party.find("cac:PostalAddress", _NS)),
    )


def _address(element: etree._Element | None) -> Address | None:
    if element is None:
        return None
    street = [
        value
        for value in (
            _text(element, "cbc:StreetName"),
            _text(element, "cbc:AdditionalStreetName"),
            _text(element, "cbc:BuildingNumber"),
            *(text_of(line) for line in element.findall("cac:AddressLine/cbc:Line", _NS)),
        )
        if value
    ]
    return Address(
        street=tuple(street),
        city=_text(element, "cbc:CityName"),
        postal_code=_text(element, "cbc:PostalZone"),
        region=_text(element, "cbc:CountrySubentity"),
        country_code=_text(element, "cac:Country/cbc:IdentificationCode"),
    )


def _read_line(order_line: etree._Element, position: int, log: IssueLog) -> OrderLine | None:
    item_line = order_line.find("cac:LineItem", _NS)
    if item_line is None:
        log.error(IssueCode.MISSING_SEGMENT, "cac:OrderLine without cac:LineItem", where(order_line))
        return None
    quantity_element = item_line.find("cbc:Quantity", _NS)
    quantity = parse_decimal(text_of(quantity_element) or "")
    if quantity is None:
        detail = "cbc:Quantity is missing or not a number"
        log.error(
            IssueCode.INVALID_VALUE,
            detail,
            where(quantity_element if quantity_element is not None else item_line),
        )
        return None
    item = item_line.find("cac:Item", _NS)
    identifiers = _item_identifiers(item)
    if not identifiers:
        log.error(
            IssueCode.MISSING_VALUE, "cac:Item has no standard, seller's or buyer's id", where(item_line)
        )
    return OrderLine(
        position=position,
        line_number=_text(item_line, "cbc:ID"),
        identifiers=tuple(identifiers),
        quantity=quantity,
        unit=quantity_element.get("unitCode") if quantity_element is not None else None,
        unit_price=_unit_price(item_line.find("cac:Price", _NS)),
        description=(_text(item, "cbc:Name") or _text(item, "cbc:Description")) if item is not None else None,
        requested_delivery_date=_date(
            item_line, "cac:Delivery/cac:RequestedDeliveryPeriod/cbc:StartDate", log
        ),
        notes=tuple(
            FreeText(None, text) for n in order_line.findall("cbc:Note", _NS) if (text := text_of(n))
        ),
    )


def _item_identifiers(item: etree._Element | None) -> list[ItemIdentifier]:
    if item is None:
        return []
    identifiers: list[ItemIdentifier] = []
    for path, default_qualifier in (
        ("cac:StandardItemIdentification/cbc:ID", "GTIN"),
        ("cac:SellersItemIdentification/cbc:ID", "SA"),
        ("cac:BuyersItemIdentification/cbc:ID", "IN"),
        ("cac:ManufacturersItemIdentification/cbc:ID", "MF"),
    ):
        for element in item.findall(path, _NS):
            if value := text_of(element):
                qualifier = element.get("schemeID") if default_qualifier == "GTIN" else None
                identifiers.append(item_identifier(value, qualifier or default_qualifier))
    return identifiers


def _unit_price(price: etree._Element | None) -> Decimal | None:
    if price is None:
        return None
    amount = parse_decimal(_text(price, "cbc:PriceAmount") or "")
    base = parse_decimal(_text(price, "cbc:BaseQuantity") or "")
    if amount is None or base is None or base in (0, 1):
        return amount
    return amount / base
