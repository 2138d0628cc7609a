"""Customer-readable invoices and credit notes: PDF/A-3 files whose embedded Factur-X XML is the CII the
replay sends, valid by its XSD and the EN 16931 schematron, with the legal mentions a French invoice
needs; read back with pypdf and factur-x."""

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from typing import Any

import facturx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from pydantic import ValidationError
from pypdf import PdfReader
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.config import Settings
from app.db import session_scope
from app.invoice_pdf.rendering import InvoiceView, invoice_view, render_invoice_pdf
from app.invoice_pdf.service import deferred_document_view
from app.invoicing.models import DeferredDocument
from app.replay.documents import ErpDocument
from app.replay.formats import cii_bytes
from app.replay.formats.samples import sample_credit_note, sample_invoice
from app.templating import format_money
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import FINANCE, assert_problem, order_of, ship
from tests.replay.erp_double import ErpDouble
from tests.replay.test_engine import committed, replay
from tests.replay.test_engine import settings as engine_settings
from tests.replay.test_formats_xml import ACCEPTED_WARNINGS, schematron  # noqa: F401 (a fixture)

CII = {"ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
MENTIONS = "SAS au capital de 100 000 € · RCS Lyon 123 456 789"
INVOICE = sample_invoice(
    7,
    order_numbers=("CMD-2026-000007",),
    delivery_note_numbers=("BL-2026-000007",),
    invoice_number="FAD-2026-000001",
)
CREDIT_NOTE = sample_credit_note(8, invoice=INVOICE, credit_note_number="AAD-2026-000001")


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)


def rendered(document: ErpDocument) -> tuple[InvoiceView, bytes]:
    view = invoice_view(document, seller_mentions=MENTIONS)
    return view, render_invoice_pdf(view)


@pytest.fixture(scope="module")
def invoice_pdf() -> bytes:
    return rendered(INVOICE)[1]


@pytest.fixture(scope="module")
def credit_note_pdf() -> bytes:
    return rendered(CREDIT_NOTE)[1]


class TestFacturX:
    @pytest.mark.parametrize("document", [INVOICE, CREDIT_NOTE], ids=["invoice", "credit_note"])
    def test_the_pdf_is_pdf_a_3_with_the_replays_cii_embedded_and_valid(
        self,
        document: ErpDocument,
        invoice_pdf: bytes,
        credit_note_pdf: bytes,
        schematron: Callable[[str, bytes], list[tuple[str, str, str]]],  # noqa: F811
    ) -> None:
        pdf = invoice_pdf if document is INVOICE else credit_note_pdf
        name, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
        assert name == "factur-x.xml" and xml == cii_bytes(document)
        assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
        assert [f for f in schematron("cii", xml) if f[0] not in ACCEPTED_WARNINGS] == []
        xmp = PdfReader(BytesIO(pdf)).xmp_metadata
        assert xmp is not None
        metadata = xmp.stream.get_data().decode()
        assert re.search(r"pdfaid:part[^0-9]{1,3}3", metadata) and "ConformanceLevel" in metadata
        assert "EN 16931" in metadata

    def test_a_proforma_says_so_and_carries_no_xml(self) -> None:
        proforma = sample_invoice(9, order_numbers=("CMD-1",), delivery_note_numbers=("BL-1",))
        view, pdf = rendered(proforma)
        assert view.is_proforma
        assert "Facture proforma" in text_of(pdf) and "PROFORMA" in text_of(pdf)
        assert PdfReader(BytesIO(pdf)).attachments == {}


class TestLegalMentions:
    def test_the_invoice_states_what_french_law_asks(self, invoice_pdf: bytes) -> None:
        text = text_of(invoice_pdf)
        seller, buyer = INVOICE.seller, INVOICE.buyer
        assert "Facture" in text and "N° FAD-2026-000001" in text
        assert seller.name in text and f"SIREN/SIRET {seller.legal_id}" in text
        assert f"N° TVA {seller.vat_number}" in text and MENTIONS in text
        assert buyer.name in text and f"N° TVA {buyer.vat_number}" in text
        assert "Entrepôt Nord" in text  # the delivery address, different from billing
        assert "CMD-2026-000007" in text and "BL-2026-000007" in text and "PO-00007" in text
        assert "Date de facture" in text and "Date de livraison" in text and "01/04/2026" in text
        assert "02/03/2026 01/03/2026" in text  # issued the day after the delivery
        assert "Pénalités de retard" in text and "40 €" in text
        assert "Pas d'escompte pour paiement anticipé." in text
        assert "Catégorie d'opération : livraison de biens." in text
        assert "TVA d'après les débits" not in text
        assert f"Net à payer TTC {format_money(INVOICE.totals.gross)}" in text

    def test_every_line_adds_up_as_in_the_xml(self, invoice_pdf: bytes) -> None:
        text = text_of(invoice_pdf)
        amounts = Decimal(0)
        for line in INVOICE.lines:
            row = next(row for row in text.splitlines() if f"{line.description} " in row)
            *_, net, _rate, amount = row.replace("\u202f", "").replace(",", ".").replace(" %", "").split()
            assert (Decimal(net) * line.quantity).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(amount)
            amounts += Decimal(amount)
        assert amounts == sum((line.net_amount for line in INVOICE.lines), Decimal(0))

    def test_the_vat_on_debits_option_is_stated_when_the_seller_took_it(self) -> None:
        view = invoice_view(replace(INVOICE, vat_on_debits=True), seller_mentions=MENTIONS)
        assert "Option pour le paiement de la TVA d'après les débits." in text_of(render_invoice_pdf(view))

    def test_a_credit_note_names_the_invoice_it_corrects(self, credit_note_pdf: bytes) -> None:
        text = text_of(credit_note_pdf)
        assert "Avoir" in text and "Avoir sur la facture n° FAD-2026-000001 du 02/03/2026" in text


class TestDeferredDocumentPdf:
    def test_a_deferred_invoice_prints_as_a_proforma_until_replayed(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="12.00")
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 3))
        )
        finance = auth_headers(session, role="finance")
        listed = client.get("/api/v1/deferred-documents", params={"kind": "invoice"}, headers=finance).json()
        reference = listed["items"][0]["reference"]

        answer = client.get(f"/api/v1/deferred-documents/{reference}/pdf", headers=finance)

        assert answer.status_code == 200, answer.text
        text = text_of(answer.content)
        assert "Facture proforma" in text and note["number"] in text and customer.name in text
        delivered = date.fromisoformat(str(note["issue_date"]))
        assert "Date de livraison" in text and f"{delivered:%d/%m/%Y}" in text
        assert_problem(
            client.get(f"/api/v1/deferred-documents/{reference}/pdf", headers=auth_headers(session)), 403
        )


class TestDeliveryOnTheInvoice:
    def test_the_delivery_address_is_stated_only_when_it_differs_from_billing(
        self, client: TestClient, session: Session
    ) -> None:
        warehouse, product = auth_headers(session, role="warehouse"), make_product(session)
        stated = {}
        for addresses in (0, 1):  # shipped to the billing address, or to the customer's depot
            customer = make_customer(session, addresses=addresses)
            note = ship(client, warehouse, order_of(session, customer, (product, 1)))
            reference = session.scalars(
                select(DeferredDocument.reference).where(DeferredDocument.customer_id == customer.id)
            ).one()
            document = deferred_document_view(session, key=reference, actor=FINANCE).document
            assert document.delivery_date == date.fromisoformat(str(note["issue_date"]))
            stated[addresses] = document.delivery_address
        assert stated[0] is None
        assert stated[1] is not None and stated[1].lines[0] == "Dépôt 1" and stated[1].city == "Lyon"


class TestBuyerSiren:
    def test_the_customers_siren_is_checked_and_reaches_the_invoice_and_its_xml(
        self, client: TestClient, session: Session
    ) -> None:
        admin = auth_headers(session, role="admin")
        body = {
            "code": "SIR1",
            "name": "Librairie Siren",
            "siren": "552 100 554",
            "billing_address": {"street": "1 rue", "postal_code": "69002", "city": "Lyon"},
        }
        created = client.post("/api/v1/customers", json=body, headers=admin)
        assert created.status_code in (200, 201), created.text
        assert created.json()["siren"] == "552100554"
        refused = client.post("/api/v1/customers", json={**body, "siren": "552100555"}, headers=admin)
        assert_problem(refused, 422, ["body", "siren"])

        customer = session.scalars(select(Customer).where(Customer.code == "SIR1")).one()
        ship(
            client,
            auth_headers(session, role="warehouse"),
            order_of(session, customer, (make_product(session), 2)),
        )
        finance = auth_headers(session, role="finance")
        listed = client.get("/api/v1/deferred-documents", params={"customer_code": "SIR1"}, headers=finance)
        reference = listed.json()["items"][0]["reference"]
        view = deferred_document_view(session, key=reference, actor=FINANCE)
        buyer = etree.fromstring(cii_bytes(view.document)).find(".//ram:BuyerTradeParty", CII)
        assert buyer is not None
        legal = buyer.find("ram:SpecifiedLegalOrganization/ram:ID", CII)
        assert legal is not None and (legal.text, legal.get("schemeID")) == ("552100554", "0002")
        pdf = client.get(f"/api/v1/deferred-documents/{reference}/pdf", headers=finance).content
        assert "SIREN/SIRET 552100554" in text_of(pdf)


class TestSellerIdentityAtStartUp:
    def test_production_refuses_to_start_without_a_valid_seller_identity(self) -> None:
        base = {"environment": "production", "secret_key": "kT3-qH8vZr_Wm2xLp9YdNcB4sGf7JeU6aQ"}
        with pytest.raises(ValidationError, match="CARNET_SELLER_LEGAL_ID"):
            Settings(**base, seller_legal_id=None, seller_legal_mentions=MENTIONS)
        with pytest.raises(ValidationError, match="neither a SIREN nor a SIRET"):
            Settings(**base, seller_legal_id="552100555", seller_legal_mentions=MENTIONS)
        settings = Settings(**base, seller_legal_id="552 100 554", seller_legal_mentions=MENTIONS)
        assert settings.seller_legal_id == "552 100 554"


def returned(client: TestClient, session: Session, **return_extra: Any) -> tuple[dict[str, Any], str]:
    """A shipped note and the reference of the credit note of one unit that came back."""
    customer, product = make_customer(session), make_product(session, price="12.00")
    note = ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 3)))
    body: dict[str, Any] = {"customer_code": customer.code, **return_extra}
    if "invoice_reference" in return_extra:  # goods billed by the ERP before the outage
        product = make_product(session, price="12.00")
    else:
        body["delivery_note_number"] = note["number"]
    body["lines"] = [{"product_code": product.code, "quantity": 1, "reason": "damaged"}]
    answer = client.post("/api/v1/returns", json=body, headers=auth_headers(session, role="rep"))
    assert answer.status_code == 201, answer.text
    return note, answer.json()["credit_note"]["reference"]


class TestCreditNotePdf:
    def test_before_replay_a_credit_note_prints_as_a_proforma_naming_the_invoice_it_corrects(
        self, client: TestClient, session: Session
    ) -> None:
        note, reference = returned(client, session)
        finance = auth_headers(session, role="finance")
        listed = client.get("/api/v1/deferred-documents", params={"kind": "invoice"}, headers=finance).json()
        invoice = next(d for d in listed["items"] if d["delivery_note_number"] == note["number"])

        answer = client.get(f"/api/v1/deferred-documents/{reference}/pdf", headers=finance)

        assert answer.status_code == 200, answer.text
        text = text_of(answer.content)
        assert "Avoir proforma" in text and "PROFORMA" in text and f"N° {reference}" in text
        assert f"Avoir sur la facture n° {invoice['reference']} du " in text
        assert "Total TTC de l'avoir 14,40" in text
        assert PdfReader(BytesIO(answer.content)).attachments == {}

    def test_a_credit_note_for_an_erp_invoice_names_it(self, client: TestClient, session: Session) -> None:
        _, reference = returned(client, session, invoice_reference="F2025-00841")
        pdf = client.get(
            f"/api/v1/deferred-documents/{reference}/pdf", headers=auth_headers(session, role="finance")
        )
        assert pdf.status_code == 200, pdf.text
        assert "Avoir sur la facture n° F2025-00841" in text_of(pdf.content)

    def test_once_replayed_with_carnet_numbering_the_credit_note_is_final_and_names_the_final_invoice(
        self,
        fresh_engine: Engine,
        schematron: Callable[[str, bytes], list[tuple[str, str, str]]],  # noqa: F811
    ) -> None:
        data = committed(fresh_engine, orders=2, credit_every=1, customers=1)
        with session_scope(fresh_engine) as session:
            session.execute(update(Customer).values(siren="732829320"))
        config = engine_settings(
            invoice_numbering="carnet", invoice_grouping="monthly_recap", seller_legal_id="552100554"
        )
        _, status = replay(fresh_engine, ErpDouble(), config)
        assert status == "completed"

        with session_scope(fresh_engine, write=False) as session:
            first_invoice = session.scalars(
                select(DeferredDocument.reference).where(DeferredDocument.kind == "invoice")
            ).first()
            assert first_invoice is not None
            member = deferred_document_view(session, key=first_invoice, actor=FINANCE)
            credit = deferred_document_view(session, key=data.credit_notes[0], actor=FINANCE)
        # A deferred invoice grouped into a recap prints as the recap that was sent.
        assert member.number.startswith("FAD-") and len(member.document.references.delivery_note_numbers) == 2
        assert credit.number.startswith("AAD-") and not credit.is_proforma
        corrected = credit.document.references.corrected_invoice
        assert corrected is not None and corrected.number == member.number
        pdf = render_invoice_pdf(credit)
        assert f"Avoir sur la facture n° {member.number}" in text_of(pdf)
        _, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
        referenced = etree.fromstring(xml).find(".//ram:InvoiceReferencedDocument/ram:IssuerAssignedID", CII)
        assert referenced is not None and referenced.text == member.number
        assert schematron("cii-fr", xml) == []
