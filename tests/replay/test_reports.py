"""The reconciliation report proves what the ERP holds equals what Carnet captured, per kind and per
customer, VAT by rate; it lists every document not acknowledged with its reason, and those left out
on purpose."""

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

from pypdf import PdfReader
from sqlalchemy import Engine, update

from app import pdf as pdf_module
from app.clock import utcnow
from app.db import session_scope
from app.delivery.schemas import ReturnCreate
from app.fulfilment.service import record_return, void_delivery
from app.incidents import service as incidents
from app.orders.models import SaleOrder
from app.orders.service import cancel_order
from app.pdf import ROWS_RENDERED_APART
from app.replay.models import ReplayItem
from app.replay.report_formats import report_csv, report_pdf, spreadsheet_safe
from app.replay.reports import reconciliation
from app.replay.schemas import ReconciliationReport
from app.replay.wording import ReportLang
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import ADMIN, REP, WAREHOUSE, capture, catalogue
from tests.replay.test_engine import committed, replay, settings


def report_of(
    engine: Engine, incident_id: int | None = None, lang: ReportLang = "fr"
) -> ReconciliationReport:
    with session_scope(engine, write=False) as session:
        incident = incidents.get_incident(session, incident_id=incident_id) if incident_id else None
        return reconciliation(session, incident=incident, settings=settings(), now=utcnow(), lang=lang)


def kind(report: ReconciliationReport, name: str) -> tuple[object, ...]:
    figures = next(k for k in report.kinds if k.kind == name)
    return (
        figures.captured.count,
        figures.acknowledged.count,
        figures.difference.count,
        figures.difference.gross,
    )


class TestFigures:
    def test_a_complete_replay_balances_per_kind_customer_and_vat_rate(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=6, credit_every=2, customers=3)
        replay(fresh_engine, ErpDouble(), settings())
        report = report_of(fresh_engine)

        assert report.balanced and report.outstanding == [] and report.excluded == []
        assert [(k.kind, k.captured.count) for k in report.kinds] == [
            ("order", 6),
            ("invoice", 6),
            ("credit_note", 3),
        ]
        for figures in report.kinds:
            assert figures.captured == figures.acknowledged
            assert figures.difference.net == figures.difference.vat == figures.difference.gross == Decimal(0)
            assert sum((v.base for v in figures.captured.vat_breakdown), Decimal(0)) == figures.captured.net
            assert len(figures.captured.vat_breakdown) >= 2
        codes = {c.customer_code for c in report.customers}
        assert codes == {c.code for c in data.customers}
        orders = sum(c.captured.gross for c in report.customers if c.kind == "order")
        assert orders == next(k for k in report.kinds if k.kind == "order").captured.gross
        assert report.erp_check.acknowledged == report.erp_check.with_erp_reference == 15

    def test_what_did_not_reach_the_erp_shows_as_a_difference_with_its_reason(
        self, fresh_engine: Engine
    ) -> None:
        data = committed(fresh_engine, orders=3, credit_every=3)
        doomed = data.orders[0]
        erp = ErpDouble(faults=lambda document, attempt: "error" if document.reference == doomed else None)
        replay(fresh_engine, erp, settings(replay_max_attempts=2))
        report = report_of(fresh_engine, lang="en")

        assert not report.balanced
        assert kind(report, "order")[:3] == (3, 2, 1)
        assert kind(report, "invoice")[:3] == (3, 2, 1)
        assert kind(report, "credit_note")[:3] == (1, 0, 1)
        reasons = {d.reference: (d.status, d.reason_code, d.reason) for d in report.outstanding}
        assert reasons[doomed][:2] == ("dead", "gave_up")
        assert reasons[doomed][2].startswith("given up after 2 attempts; last answer: “ERP answered 500")
        invoice = next(
            ref for ref, (status, _, _) in reasons.items() if status == "pending" and ref.startswith("DI")
        )
        assert reasons[invoice][2] == f"waiting for {doomed} (given up)"
        # What waits is worth something: per kind, per customer and per VAT rate.
        order_waits = next(w for w in report.waiting if w.kind == "order" and w.customer_code is None)
        assert order_waits.figures.count == 1 and order_waits.figures.gross > 0
        assert sum((v.base for v in order_waits.figures.vat_breakdown), Decimal(0)) == order_waits.figures.net
        assert {d.reference for d in report.outstanding if d.amounts is not None} >= {doomed, invoice}

    def test_documents_left_out_on_purpose_are_listed_apart(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            data = capture(session, catalogue(session), orders=2, credit_every=0)
            cancelled = capture(session, data, orders=1, ship=False).orders[-1]
            cancel_order(session, number=cancelled, actor=REP)
            held = capture(session, data, orders=1, ship=False).orders[-1]
            session.execute(update(SaleOrder).where(SaleOrder.number == held).values(status="needs_review"))
            void_delivery(session, number=data.notes[1], actor=WAREHOUSE)
            unmatched = record_return(
                session,
                draft=ReturnCreate(
                    customer_code=data.customers[3].code,
                    lines=[{"product_code": data.products[2].code, "quantity": 1}],
                ),
                actor=REP,
            ).credit_note
        replay(fresh_engine, ErpDouble(), settings())
        report = report_of(fresh_engine)

        # Left out by a person: listed with what they are worth and why.
        excluded = {d.reference: (d.reason_code, d.reason, d.amounts) for d in report.excluded}
        assert excluded[cancelled][:2] == ("order_cancelled", "commande annulée")
        void_invoice = next(value for ref, value in excluded.items() if ref.startswith("DI"))
        assert void_invoice[:2] == ("delivery_note_void", "bon de livraison annulé")
        assert all(amounts is not None and amounts.gross > 0 for _, _, amounts in excluded.values())
        # A credit note with nothing to correct is never left out silently: it waits for a person.
        waiting = {d.reference: (d.status, d.reason_code, d.amounts) for d in report.outstanding}
        assert waiting[held][:2] == ("held_for_review", "held_for_review")
        assert waiting[unmatched.reference][:2] == ("held", "no_invoice_to_correct")
        assert waiting[unmatched.reference][2] is not None
        assert waiting[unmatched.reference][2].gross == unmatched.gross_total
        assert unmatched.reference not in excluded
        assert not report.balanced
        # What the totals count as captured and not acknowledged is exactly what the report says waits.
        waits = {
            w.kind: (w.figures.count, w.figures.gross) for w in report.waiting if w.customer_code is None
        }
        for figures in report.kinds:
            difference = (figures.difference.count, figures.difference.gross)
            assert difference == waits.get(figures.kind, (0, Decimal(0)))

    def test_an_acknowledgment_without_an_erp_reference_is_flagged(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=2, credit_every=0)
        replay(fresh_engine, ErpDouble(), settings())
        with session_scope(fresh_engine) as session:
            order, _, first_invoice, second_invoice = session.query(ReplayItem).order_by(ReplayItem.id).all()
            order.erp_reference = None
            first_invoice.erp_reference = second_invoice.erp_reference = "ERP-INV-000009"
        report = report_of(fresh_engine)
        assert report.erp_check.missing_erp_reference == [order.reference]
        assert report.erp_check.duplicate_erp_references == ["invoice ERP-INV-000009"]
        assert not report.balanced


class TestIncidentScope:
    def test_an_incidents_report_covers_what_was_captured_in_its_window(self, fresh_engine: Engine) -> None:
        before = committed(fresh_engine, orders=2, credit_every=0)
        with session_scope(fresh_engine) as session:
            incident = incidents.declare_incident(
                session, reason="ERP down", started_at=utcnow() - timedelta(microseconds=1), actor=ADMIN
            )
            during = capture(session, before, orders=3, credit_every=0)
        replay(fresh_engine, ErpDouble(), settings())
        report = report_of(fresh_engine, incident.id)
        assert report.incident is not None and report.incident.id == incident.id
        assert kind(report, "order")[:2] == (3, 3)
        assert len(during.orders) == 5


class TestFormats:
    def test_csv_has_totals_rates_and_open_documents(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=2, credit_every=0)
        doomed = data.orders[1]
        erp = ErpDouble(faults=lambda document, attempt: "refuse" if document.reference == doomed else None)
        replay(fresh_engine, erp, settings())
        rows = list(csv.DictReader(io.StringIO(report_csv(report_of(fresh_engine)))))

        totals = [r for r in rows if r["section"] == "total" and not r["vat_rate"]]
        assert [
            (r["kind"], r["captured_count"], r["acknowledged_count"], r["difference_count"]) for r in totals
        ] == [
            ("order", "2", "1", "1"),
            ("invoice", "2", "1", "1"),
            ("credit_note", "0", "0", "0"),
        ]
        rates = [r for r in rows if r["section"] == "total" and r["kind"] == "order" and r["vat_rate"]]
        assert {r["vat_rate"] for r in rates} >= {"5.5", "20"}
        order_total = next(r for r in totals if r["kind"] == "order")
        assert Decimal(order_total["captured_net"]) == sum(Decimal(r["captured_net"]) for r in rates)
        outstanding = [r for r in rows if r["section"] == "outstanding"]
        assert {r["reference"] for r in outstanding} >= {doomed}
        assert any("refused" in r["reason"] for r in outstanding)

    def test_the_pdf_reads_as_a_reconciliation(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=3, credit_every=2)
        replay(fresh_engine, ErpDouble(), settings())
        pdf = report_pdf(report_of(fresh_engine))
        text = " ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
        assert "Rapprochement de la reprise ERP" in text
        assert "équilibré" in text and "NON" not in text
        assert "Commandes" in text and "Factures" in text and "Avoirs" in text

    def test_a_long_report_does_not_hold_up_the_delivery_notes_printing_meanwhile(
        self, fresh_engine: Engine
    ) -> None:
        committed(fresh_engine, orders=3, credit_every=0)
        report = report_of(fresh_engine)  # nothing replayed: every document waits, one row each
        long = report.model_copy(update={"outstanding": report.outstanding * (ROWS_RENDERED_APART // 6 + 1)})
        rendered: list[bytes] = []
        printing = threading.Thread(target=lambda: rendered.append(report_pdf(long)), daemon=True)
        with pdf_module._render_lock:  # as while a delivery note renders in this process
            printing.start()
            printing.join(timeout=300)
            done_while_held = not printing.is_alive()
        printing.join()
        assert done_while_held, "the report waited for this process's rendering lock"
        text = " ".join(page.extract_text() for page in PdfReader(BytesIO(rendered[0])).pages)
        assert text.count(report.outstanding[0].reference) == ROWS_RENDERED_APART // 6 + 1

    def test_one_language_per_report_with_local_times_and_whole_words(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            data = capture(session, catalogue(session), orders=2, credit_every=0)
            cancelled = capture(session, data, orders=1, ship=False).orders[-1]
            cancel_order(session, number=cancelled, actor=REP)
            record_return(
                session,
                draft=ReturnCreate(
                    customer_code=data.customers[3].code,
                    lines=[{"product_code": data.products[2].code, "quantity": 1}],
                ),
                actor=REP,
            )
        replay(fresh_engine, ErpDouble(), settings())

        def text_of(lang: ReportLang) -> str:
            report = report_of(fresh_engine, lang=lang)
            pages = PdfReader(BytesIO(report_pdf(report))).pages
            # Lines wrap between words only: joined again with spaces, every phrase reads whole.
            return " ".join(" ".join(page.extract_text() for page in pages).split())

        french, english = text_of("fr"), text_of("en")
        assert "Rapprochement NON équilibré" in french and "commande annulée" in french
        assert "Commandes" in french and "Avoirs" in french and "attend une personne" in french
        assert "ERP replay reconciliation" in english and "order cancelled" in english
        assert "Orders" in english and "Credit notes" in english and "waits for a person" in english
        for english_word in ("cancelled", "void", "pending", "Orders"):
            assert english_word not in french
        for french_word in ("Commandes", "Avoirs", "annulée", "attend", "Motif"):
            assert french_word not in english
        # Times on the seller's clock, with the zone; never UTC.
        assert "UTC" not in french and "UTC" not in english
        assert any(zone in french for zone in (" CET", " CEST"))

    def test_csv_reasons_in_the_language_asked_and_amounts_of_what_waits(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            data = capture(session, catalogue(session), orders=1, credit_every=0)
            stray = record_return(
                session,
                draft=ReturnCreate(
                    customer_code=data.customers[3].code,
                    lines=[{"product_code": data.products[2].code, "quantity": 1}],
                ),
                actor=REP,
            ).credit_note
        replay(fresh_engine, ErpDouble(), settings())
        rows = list(csv.DictReader(io.StringIO(report_csv(report_of(fresh_engine, lang="en")))))
        [waiting] = [r for r in rows if r["section"] == "outstanding"]
        assert (waiting["reference"], waiting["status"]) == (stray.reference, "waits for a person")
        assert waiting["reason"].startswith("goods Carnet did not deliver")
        assert Decimal(waiting["captured_gross"]) == stray.gross_total
        totals = [
            r for r in rows if r["section"] == "waiting" and not r["customer_code"] and not r["vat_rate"]
        ]
        assert [(r["kind"], r["captured_count"], Decimal(r["captured_gross"])) for r in totals] == [
            ("credit_note", "1", stray.gross_total)
        ]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_neutralised() -> None:
    assert spreadsheet_safe('=HYPERLINK("http://x","clic")') == '\'=HYPERLINK("http://x","clic")'
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("-12.50") == "-12.50"
    assert spreadsheet_safe("Librairie du Parc") == "Librairie du Parc"
