"""UBL 2.1 Invoice and CreditNote (EN 16931 core) from an `ErpDocument`.

Elements are written in the order of the UBL 2.1 schema. EN 16931 allows one despatch advice
reference (UBL-SR-03): a recap invoice's first delivery note goes there, the others, like the
orders after the first, are supporting documents (AdditionalDocumentReference with a description).
Shared figures (prices without VAT, rounding adjustments) come from `formats.common`.
"""

from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]

from app.money import money_str, price_str, rate_str
from app.replay.documents import DocumentKind, ErpDocument, ErpLine, ErpParty, PostalAddress
from app.replay.formats.common import (
    DELIVERY_NOTE,
    EN16931,
    FR_ADDRESS_SCHEME,
    GLN_SCHEME,
    GTIN_SCHEME,
    ROUNDING_REASON,
    SALES_ORDER,
    SIREN_SCHEME,
    SIRET_SCHEME,
    VAT_ON_INVOICE_DATE_UBL,
    allowances_total,
    charges_total,
    line_price,
    line_total,
    process_type,
    quantity_text,
    rounding_adjustments,
    type_code,
    vat_category,
)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: etree._Element, name: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attributes)
    element.text = text
    return element


def build_ubl(document: ErpDocument) -> etree._Element:
    """The UBL Invoice (kind invoice) or CreditNote (kind credit_note) element tree."""
    is_credit_note = document.kind is DocumentKind.CREDIT_NOTE
    code = type_code(document)
    root_ns = CREDIT_NOTE_NS if is_credit_note else INVOICE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if is_credit_note else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    currency = document.currency
    refs = document.references

    _cbc(root, "CustomizationID", EN16931)
    _cbc(root, "ProfileID", process_type(document))
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", document.issue_date.isoformat())
    if document.due_date and not is_credit_note:
        _cbc(root, "DueDate", document.due_date.isoformat())
    _cbc(root, "CreditNoteTypeCode" if is_credit_note else "InvoiceTypeCode", code)
    for note in document.notes:  # the subject code (BT-21) as "#code#" before the text (BT-22)
        _cbc(root, "Note", f"#{note.subject.value}#{note.text}")
    _cbc(root, "DocumentCurrencyCode", currency)
    if refs.customer_reference:
        _cbc(root, "BuyerReference", refs.customer_reference)
    if document.delivery_period is not None or document.vat_on_debits:
        period = _cac(root, "InvoicePeriod")
        if document.delivery_period is not None:
            _cbc(period, "StartDate", document.delivery_period.start.isoformat())
            _cbc(period, "EndDate", document.delivery_period.end.isoformat())
        if document.vat_on_debits:
            _cbc(period, "DescriptionCode", VAT_ON_INVOICE_DATE_UBL)
    if refs.customer_reference or refs.order_numbers:
        order = _cac(root, "OrderReference")
        # BT-13 (the buyer's purchase order) is mandatory in UBL once BT-14 is given: "NA" says unknown.
        _cbc(order, "ID", refs.customer_reference or "NA")
        if refs.order_numbers:
            _cbc(order, "SalesOrderID", refs.order_numbers[0])
    for corrected in refs.corrected_invoices:  # BG-3 repeats
        invoice_ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(invoice_ref, "ID", corrected.number)
        if corrected.issue_date:
            _cbc(invoice_ref, "IssueDate", corrected.issue_date.isoformat())
    if refs.delivery_note_numbers:
        _cbc(_cac(root, "DespatchDocumentReference"), "ID", refs.delivery_note_numbers[0])
    extras = [(n, SALES_ORDER) for n in refs.order_numbers[1:]]
    extras += [(n, DELIVERY_NOTE) for n in refs.delivery_note_numbers[1:]]
    for number, label in extras:
        extra = _cac(root, "AdditionalDocumentReference")
        _cbc(extra, "ID", number)
        _cbc(extra, "DocumentDescription", label)

    _party(_cac(root, "AccountingSupplierParty"), document.seller)
    _party(_cac(root, "AccountingCustomerParty"), document.buyer)
    if document.delivery_address is not None or document.delivery_date is not None:
        delivery = _cac(root, "Delivery")
        if document.delivery_date is not None:
            _cbc(delivery, "ActualDeliveryDate", document.delivery_date.isoformat())
        if document.delivery_address is not None:
            _address(_cac(_cac(delivery, "DeliveryLocation"), "Address"), document.delivery_address)
    if is_credit_note and document.due_date:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "1")
        _cbc(means, "PaymentDueDate", document.due_date.isoformat())
    if document.payment_terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", document.payment_terms)

    adjustments = rounding_adjustments(document)
    for adjustment in adjustments:
        charge = _cac(root, "AllowanceCharge")
        _cbc(charge, "ChargeIndicator", "true" if adjustment.amount > 0 else "false")
        _cbc(charge, "AllowanceChargeReason", ROUNDING_REASON)
        _cbc(charge, "Amount", money_str(abs(adjustment.amount)), currencyID=currency)
        _tax_category(_cac(charge, "TaxCategory"), adjustment.rate)

    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", money_str(document.totals.vat), currencyID=currency)
    for vat in document.totals.vat_breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _cbc(subtotal, "TaxableAmount", money_str(vat.base), currencyID=currency)
        _cbc(subtotal, "TaxAmount", money_str(vat.amount), currencyID=currency)
        _tax_category(_cac(subtotal, "TaxCategory"), vat.rate)

    monetary = _cac(root, "LegalMonetaryTotal")
    _cbc(monetary, "LineExtensionAmount", money_str(line_total(document)), currencyID=currency)
    _cbc(monetary, "TaxExclusiveAmount", money_str(document.totals.net), currencyID=currency)
    _cbc(monetary, "TaxInclusiveAmount", money_str(document.totals.gross), currencyID=currency)
    if adjustments:
        _cbc(monetary, "AllowanceTotalAmount", money_str(allowances_total(adjustments)), currencyID=currency)
        _cbc(monetary, "ChargeTotalAmount", money_str(charges_total(adjustments)), currencyID=currency)
    _cbc(monetary, "PayableAmount", money_str(document.totals.gross), currencyID=currency)

    for line in document.lines:
        _line(root, line, currency=currency, is_credit_note=is_credit_note)
    return root


def ubl_bytes(document: ErpDocument) -> bytes:
    xml: bytes = etree.tostring(
        build_ubl(document), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return xml


def _tax_category(category: etree._Element, rate: Decimal) -> None:
    _cbc(category, "ID", vat_category(rate))
    _cbc(category, "Percent", rate_str(rate))
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _address(address: etree._Element, postal: PostalAddress) -> None:
    lines = postal.lines
    if lines:
        _cbc(address, "StreetName", lines[0])
    if len(lines) > 1:
        _cbc(address, "AdditionalStreetName", lines[1])
    _cbc(address, "CityName", postal.city)
    _cbc(address, "PostalZone", postal.postal_code)
    if len(lines) > 2:
        _cbc(_cac(address, "AddressLine"), "Line", ", ".join(lines[2:]))
    _cbc(_cac(address, "Country"), "IdentificationCode", postal.country_code)


def _party(role: etree._Element, party: ErpParty) -> None:
    element = _cac(role, "Party")
    # One electronic address: the French directory's (the SIREN) when the party has one, else its GLN.
    if party.siren:
        _cbc(element, "EndpointID", party.siren, schemeID=FR_ADDRESS_SCHEME)
    elif party.gln:
        _cbc(element, "EndpointID", party.gln, schemeID=GLN_SCHEME)
    _cbc(_cac(element, "PartyIdentification"), "ID", party.code)
    if party.siret:
        _cbc(_cac(element, "PartyIdentification"), "ID", party.siret, schemeID=SIRET_SCHEME)
    _address(_cac(element, "PostalAddress"), party.address)
    if party.vat_number:
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_number)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.siren:
        _cbc(legal, "CompanyID", party.siren, schemeID=SIREN_SCHEME)


def _line(root: etree._Element, line: ErpLine, *, currency: str, is_credit_note: bool) -> None:
    element = _cac(root, "CreditNoteLine" if is_credit_note else "InvoiceLine")
    _cbc(element, "ID", str(line.line_no))
    quantity_tag = "CreditedQuantity" if is_credit_note else "InvoicedQuantity"
    _cbc(element, quantity_tag, quantity_text(line.quantity), unitCode=line.unit_code)
    _cbc(element, "LineExtensionAmount", money_str(line.net_amount), currencyID=currency)

    item = _cac(element, "Item")
    _cbc(item, "Name", line.description)
    _cbc(_cac(item, "SellersItemIdentification"), "ID", line.product_code)
    if line.gtin:
        _cbc(_cac(item, "StandardItemIdentification"), "ID", line.gtin, schemeID=GTIN_SCHEME)
    _tax_category(_cac(item, "ClassifiedTaxCategory"), line.vat_rate)

    price = line_price(line)
    price_element = _cac(element, "Price")
    _cbc(price_element, "PriceAmount", price_str(price.net), currencyID=currency)
    if price.discount:
        discount = _cac(price_element, "AllowanceCharge")
        _cbc(discount, "ChargeIndicator", "false")
        _cbc(discount, "Amount", price_str(price.discount), currencyID=currency)
        _cbc(discount, "BaseAmount", price_str(price.gross), currencyID=currency)
