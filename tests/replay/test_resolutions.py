"""What the replay cannot send waits for a person, who keys it into the ERP by hand (with the ERP's
reference) or cancels it (with a reason). Until the last item is settled the reconciliation is not
balanced and the system stays recovering; nothing is ever excluded without a person's action."""

from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.auth.service import issue_token
from app.clock import utcnow
from app.db import session_scope
from app.delivery.models import GoodsReturn
from app.delivery.schemas import ReturnCreate
from app.fulfilment.service import cancel_return, record_return
from app.incidents import service as incidents
from app.incidents.service import Mode, current_mode
from app.invoicing.models import DeferredDocument
from app.replay.documents import DocumentKind, ErpDocument
from app.replay.models import ReplayItem
from app.replay.outbox import sync_outbox
from app.replay.reports import reconciliation
from app.replay.runs import execute_run, start_run
from app.replay.schemas import ItemResolve, ReconciliationReport
from app.replay.service import resolve_item
from tests.builders import auth_headers, make_user
from tests.replay.committed_app import committed_client
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import ADMIN, FINANCE, REP, capture, catalogue
from tests.replay.test_engine import settings
from tests.replay.test_incidents import replay_incident


def outage_with_a_stray_credit_note(engine: Engine) -> tuple[int, str, str]:
    """An incident with two shipped orders and a return of goods Carnet never delivered, keyed without
    the ERP invoice they were billed on; the incident ended and replayed. (incident, credit note, order)"""
    with session_scope(engine) as session:
        incident = incidents.declare_incident(
            session, reason="ERP down", started_at=utcnow() - timedelta(minutes=1), actor=ADMIN
        )
        data = capture(session, catalogue(session), orders=2, credit_every=0)
        stray = record_return(
            session,
            draft=ReturnCreate(
                customer_code=data.customers[3].code,
                lines=[{"product_code": data.products[2].code, "quantity": 2}],
            ),
            actor=REP,
        ).credit_note
    with session_scope(engine) as session:
        incidents.end_incident(session, incident_id=incident.id, ended_at=None, actor=ADMIN)
    _, status = replay_incident(engine, incident.id)
    assert status == "incomplete"
    return incident.id, stray.reference, data.orders[0]


def report_and_mode(engine: Engine, incident_id: int) -> tuple[ReconciliationReport, Mode]:
    with session_scope(engine, write=False) as session:
        incident = incidents.get_incident(session, incident_id=incident_id)
        report = reconciliation(session, incident=incident, settings=settings(), now=utcnow())
        return report, current_mode(session)[0]


def item_of(engine: Engine, reference: str) -> ReplayItem:
    with session_scope(engine, write=False) as session:
        return session.execute(select(ReplayItem).where(ReplayItem.reference == reference)).scalar_one()


class TestWaitingForAPerson:
    def test_the_reconciliation_is_not_balanced_and_the_system_recovering_while_anything_waits(
        self, fresh_engine: Engine
    ) -> None:
        incident_id, stray, _ = outage_with_a_stray_credit_note(fresh_engine)

        report, mode = report_and_mode(fresh_engine, incident_id)
        assert not report.balanced and mode == Mode.RECOVERING
        assert [(d.reference, d.status, d.reason_code) for d in report.outstanding] == [
            (stray, "held", "no_invoice_to_correct")
        ]
        assert report.excluded == []
        credit_waits = next(w for w in report.waiting if w.kind == "credit_note" and w.customer_code is None)
        assert credit_waits.figures.count == 1 and credit_waits.figures.gross > Decimal(0)
        with session_scope(fresh_engine) as session:
            finance = {"Authorization": f"Bearer {issue_token(make_user(session, role='finance'))}"}
        with committed_client(fresh_engine) as client:
            system = client.get("/api/v1/system", headers=finance).json()
            metrics = client.get("/api/v1/metrics").text
        assert system["mode"] == "recovering"
        assert "1 document(s) attendent une personne" in system["banner"]
        assert [(w["code"], w["count"]) for w in system["warnings"]] == [("replay_needs_a_person", 1)]
        assert 'carnet_replay_waiting_documents{kind="credit_note",status="held"} 1' in metrics
        assert 'carnet_mode{mode="recovering"} 1' in metrics

    def test_keyed_by_hand_the_erp_holds_it_and_the_system_is_normal_again(
        self, fresh_engine: Engine
    ) -> None:
        incident_id, stray, _ = outage_with_a_stray_credit_note(fresh_engine)
        item = item_of(fresh_engine, stray)

        with session_scope(fresh_engine) as session:
            resolve_item(
                session,
                item_id=item.id,
                resolution=ItemResolve(
                    outcome="keyed", erp_reference="AV-2026-0042", reason="saisi par Julie"
                ),
                actor=FINANCE,
            )

        report, mode = report_and_mode(fresh_engine, incident_id)
        assert report.balanced and mode == Mode.NORMAL
        assert [(d.reference, d.erp_reference, d.resolved_by) for d in report.keyed_by_hand] == [
            (stray, "AV-2026-0042", FINANCE.name)
        ]
        with session_scope(fresh_engine, write=False) as session:
            document = session.execute(
                select(DeferredDocument).where(DeferredDocument.reference == stray)
            ).scalar_one()
        assert (document.status, document.final_number) == ("replayed", "AV-2026-0042")

    def test_cancelled_with_a_reason_it_is_listed_apart_with_its_amount(self, fresh_engine: Engine) -> None:
        incident_id, stray, _ = outage_with_a_stray_credit_note(fresh_engine)
        item = item_of(fresh_engine, stray)
        with session_scope(fresh_engine) as session:
            resolve_item(
                session,
                item_id=item.id,
                resolution=ItemResolve(outcome="cancelled", reason="avoir déjà fait par le siège"),
                actor=FINANCE,
            )

        report, mode = report_and_mode(fresh_engine, incident_id)
        assert report.balanced and mode == Mode.NORMAL
        [excluded] = report.excluded
        assert (excluded.reference, excluded.reason_code) == (stray, "cancelled_by_person")
        assert excluded.reason == f"écarté de la reprise par {FINANCE.name} : avoir déjà fait par le siège"
        assert excluded.amounts is not None and excluded.amounts.gross > Decimal(0)
        with session_scope(fresh_engine, write=False) as session:
            document = session.execute(
                select(DeferredDocument).where(DeferredDocument.reference == stray)
            ).scalar_one()
        assert (document.status, document.void_reason) == ("void", "avoir déjà fait par le siège")


class TestResolvingOverTheApi:
    def test_finance_resolves_a_held_item_and_a_settled_one_is_refused(
        self, client: TestClient, session: Session
    ) -> None:
        data = capture(session, catalogue(session), orders=1, credit_every=0)
        record_return(
            session,
            draft=ReturnCreate(
                customer_code=data.customers[2].code,
                lines=[{"product_code": data.products[3].code, "quantity": 1}],
            ),
            actor=REP,
        )
        sync_outbox(session, now=utcnow(), grouping="per_delivery_note")
        held = session.execute(select(ReplayItem).where(ReplayItem.status == "held")).scalar_one()
        finance = auth_headers(session, role="finance")
        url = f"/api/v1/replay-items/{held.id}/resolve"

        assert client.post(url, json={"outcome": "keyed"}, headers=finance).status_code == 422
        assert client.post(url, json={"outcome": "cancelled"}, headers=finance).status_code == 422
        assert (
            client.post(
                url, json={"outcome": "keyed", "erp_reference": "X"}, headers=auth_headers(session)
            ).status_code
            == 403
        )
        keyed = client.post(url, json={"outcome": "keyed", "erp_reference": "AV-9"}, headers=finance)
        assert keyed.status_code == 200, keyed.text
        assert (keyed.json()["status"], keyed.json()["erp_reference"]) == ("acknowledged", "AV-9")
        again = client.post(url, json={"outcome": "cancelled", "reason": "oops"}, headers=finance)
        assert again.status_code == 409


def test_an_invoice_keyed_by_hand_lets_the_credit_note_correcting_it_go(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        data = capture(session, catalogue(session), orders=1, credit_every=1)
    with session_scope(fresh_engine, write=False) as session:
        invoice = session.execute(
            select(DeferredDocument).where(DeferredDocument.kind == "invoice")
        ).scalar_one()
    erp = ErpDouble(
        faults=lambda document, attempt: "refuse" if document.reference == invoice.reference else None
    )

    def run() -> str:
        with session_scope(fresh_engine) as session:
            started = start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)
        return execute_run(
            started.id, engine=fresh_engine, settings=settings(), connector_factory=erp.connector
        )

    assert run() == "incomplete"
    assert item_of(fresh_engine, data.credit_notes[0]).status == "pending"
    erp.key_by_hand(DocumentKind.INVOICE, invoice.reference, "ERP-INV-BYHAND-1")
    with session_scope(fresh_engine) as session:
        resolve_item(
            session,
            item_id=item_of(fresh_engine, invoice.reference).id,
            resolution=ItemResolve(outcome="keyed", erp_reference="ERP-INV-BYHAND-1"),
            actor=FINANCE,
        )

    assert run() == "completed"
    credit_note = erp.stored()[-1]
    assert credit_note.kind == DocumentKind.CREDIT_NOTE
    sent = ErpDocument.from_json(credit_note.body)
    assert sent.references.corrected_invoice is not None
    assert sent.references.corrected_invoice.erp_number == "ERP-INV-BYHAND-1"


def test_a_return_cancelled_after_the_run_leaves_the_outbox_at_the_next_dry_run(fresh_engine: Engine) -> None:
    incident_id, stray, _ = outage_with_a_stray_credit_note(fresh_engine)
    with session_scope(fresh_engine) as session:
        number = session.execute(
            select(GoodsReturn.number)
            .join(DeferredDocument, DeferredDocument.goods_return_id == GoodsReturn.id)
            .where(DeferredDocument.reference == stray)
        ).scalar_one()
        cancel_return(session, number=number, reason="retour refusé au quai", actor=REP)
    with session_scope(fresh_engine) as session:
        started = start_run(
            session, actor=FINANCE, settings=settings(), incident_id=incident_id, dry_run=True
        )
    execute_run(started.id, engine=fresh_engine, settings=settings(), connector_factory=ErpDouble().connector)

    report, mode = report_and_mode(fresh_engine, incident_id)
    assert report.balanced and mode == Mode.NORMAL
    assert [(d.reference, d.reason) for d in report.excluded] == [(stray, "annulé : retour refusé au quai")]
