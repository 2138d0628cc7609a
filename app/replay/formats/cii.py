"""Factur-X / UN/CEFACT CII CrossIndustryInvoice, EN 16931 profile, from an `ErpDocument`.

The same figures as the UBL form (`formats.common`), in CII's places: TypeCode 380 for an invoice,
381 for a credit note (amounts stay positive). CII has one slot for a despatch advice: a recap
invoice's first delivery note goes there and the others are listed as additional referenced
documents (type 916, named `BON_LIVRAISON`), so none is lost.
"""

from datetime import date
from decimal import Decimal

from lxml import etree  # type: ignore[import-untyped]

from app.money import money_str, price_str, rate_str
from app.replay.documents import ErpDocument, ErpLine, ErpParty, PostalAddress
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
    VAT_ON_INVOICE_DATE_CII,
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

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
SUPPORTING_DOCUMENT = "916"
DATE_FORMAT = "102"


def _ram(parent: etree._Element, name: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, name: str, value_yyyymmdd: str, *, namespace: str = UDT) -> None:
    holder = _ram(parent, name)
    stamp = etree.SubElement(holder, f"{{{namespace}}}DateTimeString", format=DATE_FORMAT)
    stamp.text = value_yyyymmdd


def build_cii(document: ErpDocument) -> etree._Element:
    """The CrossIndustryInvoice element tree for an invoice or a credit note."""
    code = type_code(document)
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    _ram(_ram(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", process_type(document))
    _ram(_ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", EN16931)

    header = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _ram(header, "ID", document.number)
    _ram(header, "TypeCode", code)
    _date(header, "IssueDateTime", _day(document.issue_date))
    for note in document.notes:
        included = _ram(header, "IncludedNote")
        _ram(included, "Content", note.text)
        _ram(included, "SubjectCode", note.subject.value)

    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for line in document.lines:
        _line(transaction, line)
    _agreement(_ram(transaction, "ApplicableHeaderTradeAgreement"), document)
    _delivery(_ram(transaction, "ApplicableHeaderTradeDelivery"), document)
    _settlement(_ram(transaction, "ApplicableHeaderTradeSettlement"), document)
    return root


def cii_bytes(document: ErpDocument) -> bytes:
    xml: bytes = etree.tostring(
        build_cii(document), xml_declaration=True, encoding="UTF-8", pretty_print=True
    )
    return xml


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _trade_tax(parent: etree._Element, rate: Decimal) -> None:
    _ram(parent, "TypeCode", "VAT")
    _ram(parent, "CategoryCode", vat_category(rate))
    _ram(parent, "RateApplicablePercent", rate_str(rate))


def _address(parent: etree._Element, postal: PostalAddress) -> None:
    address = _ram(parent, "PostalTradeAddress")
    _ram(address, "PostcodeCode", postal.postal_code)
    for name, text in zip(("LineOne", "LineTwo"), postal.lines, strict=False):
        _ram(address, name, text)
    if len(postal.lines) > 2:
        _ram(address, "LineThree", ", ".join(postal.lines[2:]))
    _ram(address, "CityName", postal.city)
    _ram(address, "CountryID", postal.country_code)


def _party(parent: etree._Element, name: str, party: ErpParty) -> None:
    element = _ram(parent, name)
    _ram(element, "ID", party.code)
    if party.gln:
        _ram(element, "GlobalID", party.gln, schemeID=GLN_SCHEME)
    if party.siret:
        _ram(element, "GlobalID", party.siret, schemeID=SIRET_SCHEME)
    _ram(element, "Name", party.name)
    if party.siren:
        _ram(_ram(element, "SpecifiedLegalOrganization"), "ID", party.siren, schemeID=SIREN_SCHEME)
    _address(element, party.address)
    if party.siren:
        _ram(_ram(element, "URIUniversalCommunication"), "URIID", party.siren, schemeID=FR_ADDRESS_SCHEME)
    if party.vat_number:
        _ram(_ram(element, "SpecifiedTaxRegistration"), "ID", party.vat_number, schemeID="VA")


def _referenced(parent: etree._Element, name: str, number: str) -> etree._Element:
    element = _ram(parent, name)
    _ram(element, "IssuerAssignedID", number)
    return element


def _agreement(agreement: etree._Element, document: ErpDocument) -> None:
    refs = document.references
    if refs.customer_reference:
        _ram(agreement, "BuyerReference", refs.customer_reference)
    _party(agreement, "SellerTradeParty", document.seller)
    _party(agreement, "BuyerTradeParty", document.buyer)
    if refs.order_numbers:
        _referenced(agreement, "SellerOrderReferencedDocument", refs.order_numbers[0])
    if refs.customer_reference:
        _referenced(agreement, "BuyerOrderReferencedDocument", refs.customer_reference)
    extras = [(n, SALES_ORDER) for n in refs.order_numbers[1:]]
    extras += [(n, DELIVERY_NOTE) for n in refs.delivery_note_numbers[1:]]
    for number, label in extras:
        extra = _referenced(agreement, "AdditionalReferencedDocument", number)
        _ram(extra, "TypeCode", SUPPORTING_DOCUMENT)
        _ram(extra, "Name", label)


def _delivery(delivery: etree._Element, document: ErpDocument) -> None:
    if document.delivery_address is not None:
        _address(_ram(delivery, "ShipToTradeParty"), document.delivery_address)
    if document.delivery_date is not None:
        _date(
            _ram(delivery, "ActualDeliverySupplyChainEvent"),
            "OccurrenceDateTime",
            _day(document.delivery_date),
        )
    if document.references.delivery_note_numbers:
        _referenced(
            delivery, "DespatchAdviceReferencedDocument", document.references.delivery_note_numbers[0]
        )


def _settlement(settlement: etree._Element, document: ErpDocument) -> None:
    currency = document.currency
    _ram(settlement, "InvoiceCurrencyCode", currency)
    for vat in document.totals.vat_breakdown:
        tax = _ram(settlement, "ApplicableTradeTax")
        _ram(tax, "CalculatedAmount", money_str(vat.amount))
        _ram(tax, "TypeCode", "VAT")
        _ram(tax, "BasisAmount", money_str(vat.base))
        _ram(tax, "CategoryCode", vat_category(vat.rate))
        if document.vat_on_debits:
            _ram(tax, "DueDateTypeCode", VAT_ON_INVOICE_DATE_CII)
        _ram(tax, "RateApplicablePercent", rate_str(vat.rate))
    if document.delivery_period is not None:
        period = _ram(settlement, "BillingSpecifiedPeriod")
        _date(period, "StartDateTime", _day(document.delivery_period.start))
        _date(period, "EndDateTime", _day(document.delivery_period.end))

    adjustments = rounding_adjustments(document)
    for adjustment in adjustments:
        charge = _ram(settlement, "SpecifiedTradeAllowanceCharge")
        indicator = _ram(charge, "ChargeIndicator")
        etree.SubElement(indicator, f"{{{UDT}}}Indicator").text = "true" if adjustment.amount > 0 else "false"
        _ram(charge, "ActualAmount", money_str(abs(adjustment.amount)))
        _ram(charge, "Reason", ROUNDING_REASON)
        _trade_tax(_ram(charge, "CategoryTradeTax"), adjustment.rate)

    if document.payment_terms or document.due_date:
        terms = _ram(settlement, "SpecifiedTradePaymentTerms")
        if document.payment_terms:
            _ram(terms, "Description", document.payment_terms)
        if document.due_date:
            _date(terms, "DueDateDateTime", _day(document.due_date))

    summary = _ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _ram(summary, "LineTotalAmount", money_str(line_total(document)))
    if adjustments:
        _ram(summary, "ChargeTotalAmount", money_str(charges_total(adjustments)))
        _ram(summary, "AllowanceTotalAmount", money_str(allowances_total(adjustments)))
    _ram(summary, "TaxBasisTotalAmount", money_str(document.totals.net))
    _ram(summary, "TaxTotalAmount", money_str(document.totals.vat), currencyID=currency)
    _ram(summary, "GrandTotalAmount", money_str(document.totals.gross))
    _ram(summary, "DuePayableAmount", money_str(document.totals.gross))

    for corrected in document.references.corrected_invoices:  # BG-3 repeats
        invoice = _referenced(settlement, "InvoiceReferencedDocument", corrected.number)
        if corrected.issue_date:
            _date(invoice, "FormattedIssueDateTime", _day(corrected.issue_date), namespace=QDT)


def _line(transaction: etree._Element, line: ErpLine) -> None:
    item = _ram(transaction, "IncludedSupplyChainTradeLineItem")
    _ram(_ram(item, "AssociatedDocumentLineDocument"), "LineID", str(line.line_no))

    product = _ram(item, "SpecifiedTradeProduct")
    if line.gtin:
        _ram(product, "GlobalID", line.gtin, schemeID=GTIN_SCHEME)
    _ram(product, "SellerAssignedID", line.product_code)
    _ram(product, "Name", line.description)

    price = line_price(line)
    agreement = _ram(item, "SpecifiedLineTradeAgreement")
    gross = _ram(agreement, "GrossPriceProductTradePrice")
    _ram(gross, "ChargeAmount", price_str(price.gross))
    if price.discount:
        discount = _ram(gross, "AppliedTradeAllowanceCharge")
        etree.SubElement(_ram(discount, "ChargeIndicator"), f"{{{UDT}}}Indicator").text = "false"
        _ram(discount, "ActualAmount", price_str(price.discount))
    _ram(_ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", price_str(price.net))

    _ram(
        _ram(item, "SpecifiedLineTradeDelivery"),
        "BilledQuantity",
        quantity_text(line.quantity),
        unitCode=line.unit_code,
    )

    settlement = _ram(item, "SpecifiedLineTradeSettlement")
    _trade_tax(_ram(settlement, "ApplicableTradeTax"), line.vat_rate)
    summation = _ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    _ram(summation, "LineTotalAmount", money_str(line.net_amount))
