"""The replay engine on a real database (both engines) against the ERP double: every document once,
in dependency order, through lost answers, errors, refusals and crashes."""

import threading
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select, update

from app.clock import utcnow
from app.config import Settings
from app.db import session_scope
from app.errors import BusinessRuleViolation, Conflict
from app.fulfilment.service import void_delivery
from app.invoicing.models import DeferredDocument
from app.orders.models import SaleOrder
from app.replay import repository, service
from app.replay.documents import ErpDocument
from app.replay.engine import Worker, WorkerConfig
from app.replay.models import ItemStatus, ReplayItem, ReplayRun, RunStatus
from app.replay.outbox import sync_outbox
from app.replay.reports import reconciliation
from app.replay.runs import execute_run, join_run, start_run
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import FINANCE, WAREHOUSE, Captured, capture, catalogue

BASE = {
    "erp_url": "http://erp.invalid",
    "erp_secret": "secret",
    "replay_backoff_base_seconds": 0.001,
    "replay_backoff_cap_seconds": 0.005,
    "replay_heartbeat_seconds": 0.2,
    "replay_batch_size": 7,
    "replay_send_threads": 4,
}


def settings(**changes: Any) -> Settings:
    return Settings(**{**BASE, **changes})


def committed(engine: Engine, *, orders: int, credit_every: int = 2, customers: int = 3) -> Captured:
    with session_scope(engine) as session:
        return capture(
            session, catalogue(session, customers=customers), orders=orders, credit_every=credit_every
        )


def replay(engine: Engine, erp: ErpDouble, config: Settings, **start: Any) -> tuple[int, str]:
    with session_scope(engine) as session:
        run = start_run(session, actor=FINANCE, settings=config, all_incidents=True, **start)
    return run.id, execute_run(run.id, engine=engine, settings=config, connector_factory=erp.connector)


def outbox(engine: Engine) -> list[ReplayItem]:
    with session_scope(engine, write=False) as session:
        return list(session.execute(select(ReplayItem).order_by(ReplayItem.id)).scalars())


def documents(engine: Engine) -> list[DeferredDocument]:
    with session_scope(engine, write=False) as session:
        return list(session.execute(select(DeferredDocument).order_by(DeferredDocument.id)).scalars())


class TestExactlyOnceInOrder:
    def test_every_document_reaches_the_erp_once_after_what_it_depends_on(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=9)
        erp = ErpDouble()
        run_id, status = replay(fresh_engine, erp, settings())

        assert status == RunStatus.COMPLETED
        assert len(erp.arrivals) == data.documents == 9 + 9 + 5
        assert max(erp.sends.values()) == 1
        items = outbox(fresh_engine)
        assert {i.status for i in items} == {ItemStatus.ACKNOWLEDGED}
        assert all(i.erp_reference == erp.held[i.idempotency_key].number for i in items)
        # The ERP numbers the invoices; Carnet keeps that number as their final number.
        for document in documents(fresh_engine):
            assert document.status == "replayed"
            assert document.final_number == erp.held[str(document.idempotency_key)].number
        with session_scope(fresh_engine, write=False) as session:
            run = session.get(ReplayRun, run_id)
            assert run is not None and (run.sent, run.acknowledged, run.retried) == (23, 23, 0)

    def test_a_body_is_frozen_at_its_first_send_and_sent_identically_ever_after(
        self, fresh_engine: Engine
    ) -> None:
        committed(fresh_engine, orders=4)
        erp = ErpDouble(faults=lambda document, attempt: "drop" if attempt == 1 else None)
        _, status = replay(fresh_engine, erp, settings())
        assert status == RunStatus.COMPLETED
        assert set(erp.sends.values()) == {2}
        assert all(bodies[0] == bodies[1] for bodies in erp.bodies.values())
        for item in outbox(fresh_engine):
            assert item.payload is not None
            assert ErpDocument.from_json(item.payload).to_json() == item.payload
            assert item.attempts == 2


class TestFailures:
    def test_errors_are_retried_with_backoff_until_acknowledged(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=5)
        erp = ErpDouble(faults=lambda document, attempt: "error" if attempt <= 2 else None)
        run_id, status = replay(fresh_engine, erp, settings())
        assert status == RunStatus.COMPLETED
        assert set(erp.sends.values()) == {3}
        with session_scope(fresh_engine, write=False) as session:
            run = service.get_run(session, run_id=run_id, actor=FINANCE)
        assert (run.retried, run.acknowledged, run.already_received) == (2 * 13, 13, 0)

    def test_an_item_that_keeps_failing_dies_and_its_dependents_wait(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=2, credit_every=1)
        doomed = data.orders[0]
        erp = ErpDouble(faults=lambda document, attempt: "error" if document.reference == doomed else None)
        _, status = replay(fresh_engine, erp, settings(replay_max_attempts=3))

        assert status == RunStatus.INCOMPLETE
        by_reference = {i.reference: i for i in outbox(fresh_engine)}
        assert by_reference[doomed].status == ItemStatus.DEAD
        assert by_reference[doomed].attempts == 3
        assert "gave up after 3 attempts" in (by_reference[doomed].last_error or "")
        assert erp.sends[f"order:{doomed}"] == 3
        # Its invoice and that invoice's credit note never left.
        pending = sorted(i.kind for i in by_reference.values() if i.status == ItemStatus.PENDING)
        assert pending == ["credit_note", "invoice"]
        with session_scope(fresh_engine, write=False) as session:
            report = reconciliation(
                session, incident=None, settings=settings(), now=by_reference[doomed].created_at
            )
        reasons = {d.reference: d.reason for d in report.outstanding}
        assert any(reason.startswith(f"attend {doomed}") for reason in reasons.values())
        assert not report.balanced

    def test_a_refused_document_waits_for_a_human_then_goes_again_rebuilt(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=2, credit_every=0)
        refused = data.orders[1]
        erp = ErpDouble(faults=lambda document, attempt: "refuse" if document.reference == refused else None)
        replay(fresh_engine, erp, settings())
        item = next(i for i in outbox(fresh_engine) if i.reference == refused)
        assert (item.status, item.attempts) == (ItemStatus.FAILED, 1)

        with session_scope(fresh_engine) as session:
            again = service.retry_item(session, item_id=item.id, actor=FINANCE)
        assert (again.status, again.attempts) == ("pending", 0)
        assert next(i for i in outbox(fresh_engine) if i.reference == refused).payload is None
        erp.faults = None
        _, status = replay(fresh_engine, erp, settings())
        assert status == RunStatus.COMPLETED
        assert erp.sends[f"order:{refused}"] == 2

    def test_only_given_up_items_can_be_retried(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=1, credit_every=0)
        replay(fresh_engine, ErpDouble(), settings())
        with session_scope(fresh_engine) as session, pytest.raises(Conflict):
            service.retry_item(session, item_id=outbox(fresh_engine)[0].id, actor=FINANCE)


class TestCrashRecovery:
    def test_items_left_in_flight_by_a_dead_run_are_sent_again_and_recognised(
        self, fresh_engine: Engine
    ) -> None:
        committed(fresh_engine, orders=6)
        erp = ErpDouble()
        config = settings(replay_lock_ttl_seconds=0.0)
        with session_scope(fresh_engine) as session:
            dead = start_run(session, actor=FINANCE, settings=config, all_incidents=True)
        with session_scope(fresh_engine) as session:
            sync_outbox(session, now=dead.started_at, grouping="per_delivery_note")
        worker = Worker(
            fresh_engine,
            WorkerConfig.from_settings(
                config, run_id=dead.id, kinds=["order"], until=None, skip_locked=False
            ),
            connector=erp,
            pool=None,  # type: ignore[arg-type]
            stop=threading.Event(),
        )
        # The dead run claimed a batch and the ERP stored it, but the process died before recording.
        claimed = worker._claim()
        for item in claimed:
            erp.send(item.document)
        assert {i.status for i in outbox(fresh_engine) if i.kind == "order"} == {ItemStatus.IN_FLIGHT}

        run_id, status = replay(fresh_engine, erp, config)
        assert status == RunStatus.COMPLETED
        assert len(erp.arrivals) == len(outbox(fresh_engine))
        assert all(erp.sends[item.document.idempotency_key] == 2 for item in claimed)
        with session_scope(fresh_engine, write=False) as session:
            assert session.get(ReplayRun, dead.id).status == RunStatus.ABANDONED  # type: ignore[union-attr]
            assert session.get(ReplayRun, run_id).already_received == len(claimed)  # type: ignore[union-attr]

    def test_a_second_run_is_refused_while_the_first_is_alive(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)
        with session_scope(fresh_engine) as session, pytest.raises(Conflict, match="is running"):
            start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)

    def test_a_worker_that_lost_its_claim_cannot_overwrite_the_outcome(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=1, credit_every=0)
        replay(fresh_engine, ErpDouble(), settings())
        item = outbox(fresh_engine)[0]
        late = repository.Outcomes(
            acknowledged=[],
            replayed_documents=[],
            setbacks=[
                {
                    "b_id": item.id,
                    "b_token": "someone-else",
                    "b_status": "failed",
                    "b_error": "x",
                    "b_next": None,
                }
            ],
            counters={},
        )
        with session_scope(fresh_engine) as session:
            repository.record_outcomes(session, run_id=item.run_id or 0, outcomes=late, now=item.created_at)
        assert outbox(fresh_engine)[0].status == ItemStatus.ACKNOWLEDGED


class TestFreezing:
    def test_a_deferred_invoice_being_replayed_can_no_longer_be_voided(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=1, credit_every=0)
        erp = ErpDouble(faults=lambda document, attempt: "refuse" if document.kind == "invoice" else None)
        replay(fresh_engine, erp, settings())
        with session_scope(fresh_engine) as session, pytest.raises(Conflict, match="in_replay"):
            void_delivery(session, number=data.notes[0], actor=WAREHOUSE)

    def test_carnet_numbers_invoices_from_the_outage_series_in_issue_order(
        self, fresh_engine: Engine
    ) -> None:
        committed(fresh_engine, orders=5, credit_every=2)
        erp = ErpDouble()
        config = settings(invoice_numbering="carnet")
        replay(fresh_engine, erp, config)
        invoices = [d for d in documents(fresh_engine) if d.kind == "invoice"]
        credit_notes = [d for d in documents(fresh_engine) if d.kind == "credit_note"]
        year = invoices[0].issue_date.year
        assert [d.final_number for d in sorted(invoices, key=lambda d: (d.issued_at, d.id))] == [
            f"FAD-{year}-{n:06d}" for n in range(1, 6)
        ]
        assert sorted(d.final_number or "" for d in credit_notes) == [
            f"AAD-{year}-{n:06d}" for n in range(1, 4)
        ]
        sent = {h.reference: orjson.loads(h.body) for h in erp.stored()}
        for invoice in invoices:
            assert sent[invoice.reference]["invoice_number"] == invoice.final_number
        by_id = {d.id: d for d in invoices}
        for note in credit_notes:
            corrected = sent[note.reference]["references"]["corrected_invoice"]
            assert corrected["invoice_number"] == by_id[note.invoice_id or 0].final_number
            assert (
                corrected["erp_number"] == erp.held[str(by_id[note.invoice_id or 0].idempotency_key)].number
            )

    def test_a_monthly_recap_lists_its_notes_and_is_totalled_over_its_lines(
        self, fresh_engine: Engine
    ) -> None:
        data = committed(fresh_engine, orders=6, credit_every=3, customers=2)
        erp = ErpDouble()
        _, status = replay(fresh_engine, erp, settings(invoice_grouping="monthly_recap"))
        assert status == RunStatus.COMPLETED
        recaps = [orjson.loads(h.body) for h in erp.stored() if h.kind == "invoice"]
        assert len(recaps) == 2
        for recap in recaps:
            assert len(recap["references"]["delivery_note_numbers"]) == 3
            assert len(recap["lines"]) == 6
            assert [line["line_no"] for line in recap["lines"]] == list(range(1, 7))
        deferred = [d for d in documents(fresh_engine) if d.kind == "invoice"]
        numbers = {h.reference: h.number for h in erp.stored() if h.kind == "invoice"}
        assert {d.final_number for d in deferred} == set(numbers.values())
        credit_notes = [orjson.loads(h.body) for h in erp.stored() if h.kind == "credit_note"]
        assert {c["references"]["corrected_invoice"]["reference"] for c in credit_notes} <= set(numbers)
        assert len(data.credit_notes) == len(credit_notes) == 2
        with session_scope(fresh_engine, write=False) as session:
            report = reconciliation(session, incident=None, settings=settings(), now=deferred[0].issued_at)
        assert report.balanced

    def test_a_dry_run_sends_nothing_and_says_what_would_go(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=3, credit_every=3)
        erp = ErpDouble()
        run_id, status = replay(fresh_engine, erp, settings(), dry_run=True)
        assert status == RunStatus.COMPLETED and erp.sends == {}
        with session_scope(fresh_engine, write=False) as session:
            run = service.get_run(session, run_id=run_id, actor=FINANCE)
        assert run.summary is not None
        assert run.summary["would_send_count"] == 7
        assert {kind: f["count"] for kind, f in run.summary["would_send"].items()} == {
            "order": 3,
            "invoice": 3,
            "credit_note": 1,
        }
        assert {i.status for i in outbox(fresh_engine)} == {ItemStatus.PENDING}


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
class TestSeveralWorkers:
    def test_workers_sharing_a_run_never_send_an_item_twice(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=30, credit_every=2)
        stall = threading.Event()
        erp = ErpDouble()
        erp.on_send = lambda document: stall.wait(0.002)
        run_id, status = replay(fresh_engine, erp, settings(replay_batch_size=5), workers=3)
        assert status == RunStatus.COMPLETED
        assert max(erp.sends.values()) == 1 and len(erp.arrivals) == 75
        with session_scope(fresh_engine, write=False) as session:
            assert len({i.claimed_by for i in outbox(fresh_engine)}) == 1  # released once acknowledged
            assert session.get(ReplayRun, run_id).workers == 3  # type: ignore[union-attr]


def test_the_lock_of_a_run_whose_heartbeat_stopped_expires(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        stale = start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)
    with session_scope(fresh_engine) as session:
        session.execute(
            update(ReplayRun)
            .where(ReplayRun.id == stale.id)
            .values(heartbeat_at=stale.started_at - timedelta(minutes=5))
        )
    with session_scope(fresh_engine) as session:
        fresh = start_run(
            session, actor=FINANCE, settings=settings(replay_lock_ttl_seconds=60), all_incidents=True
        )
    with session_scope(fresh_engine, write=False) as session:
        assert session.get(ReplayRun, stale.id).status == RunStatus.ABANDONED  # type: ignore[union-attr]
        assert session.get(ReplayRun, fresh.id).status == RunStatus.RUNNING  # type: ignore[union-attr]


class TestJoining:
    @pytest.mark.parametrize("database", ["postgresql"], indirect=True)
    def test_another_process_lends_its_workers_to_a_running_run(self, fresh_engine: Engine) -> None:
        data = committed(fresh_engine, orders=8)
        erp = ErpDouble()
        config = settings()
        with session_scope(fresh_engine) as session:
            run = start_run(session, actor=FINANCE, settings=config, all_incidents=True)
        with session_scope(fresh_engine) as session:
            sync_outbox(session, now=run.started_at, grouping="per_delivery_note")
        joined = join_run(
            run.id, engine=fresh_engine, settings=config, workers=2, connector_factory=erp.connector
        )
        assert joined.acknowledged == data.documents
        assert (
            execute_run(run.id, engine=fresh_engine, settings=config, connector_factory=erp.connector)
            == "completed"
        )
        assert max(erp.sends.values()) == 1 and len(erp.arrivals) == data.documents

    def test_only_a_running_run_on_postgresql_can_be_joined(self, fresh_engine: Engine) -> None:
        run_id, _ = replay(fresh_engine, ErpDouble(), settings())
        expected = Conflict if fresh_engine.dialect.name == "postgresql" else BusinessRuleViolation
        with pytest.raises(expected):
            join_run(run_id, engine=fresh_engine, settings=settings())


def delivered_in_reverse(engine: Engine) -> dict[str, list[str]]:
    """Backdate the deferred documents so that the last captured is the first issued (notes keyed in
    after the fact); their references per kind, in order of issue."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(DeferredDocument.id, DeferredDocument.kind, DeferredDocument.reference).order_by(
                DeferredDocument.id.desc()
            )
        ).all()
        start = utcnow() - timedelta(hours=1)
        in_order: dict[str, list[str]] = {}
        for minute, row in enumerate(rows):
            session.execute(
                update(DeferredDocument)
                .where(DeferredDocument.id == row.id)
                .values(issued_at=start + timedelta(minutes=minute))
            )
            in_order.setdefault(row.kind, []).append(row.reference)
    return in_order


def order_of_invoice(engine: Engine, reference: str) -> str:
    with session_scope(engine, write=False) as session:
        number = session.execute(
            select(SaleOrder.number)
            .join(DeferredDocument, DeferredDocument.order_id == SaleOrder.id)
            .where(DeferredDocument.reference == reference)
        ).scalar_one()
    return str(number)


class TestErpNumbersFollowChronology:
    def test_with_erp_numbering_invoices_and_credit_notes_arrive_in_order_of_issue(
        self, fresh_engine: Engine
    ) -> None:
        committed(fresh_engine, orders=8, credit_every=2)
        in_order = delivered_in_reverse(fresh_engine)
        # The order of the first delivery fails once: its invoice waits, and every later one with it.
        first_order = order_of_invoice(fresh_engine, in_order["invoice"][0])
        erp = ErpDouble(
            faults=lambda document, attempt: (
                "error" if document.reference == first_order and attempt == 1 else None
            )
        )

        _, status = replay(fresh_engine, erp, settings(invoice_numbering="erp"))

        assert status == RunStatus.COMPLETED
        for kind in ("invoice", "credit_note"):
            stored = [held for held in erp.stored() if held.kind == kind]
            assert [held.reference for held in stored] == in_order[kind], kind
            assert [held.number for held in stored] == sorted(held.number for held in stored)

    def test_a_document_that_needs_a_person_lets_the_later_ones_through(self, fresh_engine: Engine) -> None:
        committed(fresh_engine, orders=5, credit_every=0)
        in_order = delivered_in_reverse(fresh_engine)["invoice"]
        refused = in_order[1]
        erp = ErpDouble(faults=lambda document, attempt: "refuse" if document.reference == refused else None)

        _, status = replay(fresh_engine, erp, settings(invoice_numbering="erp"))

        assert status == RunStatus.INCOMPLETE
        stored = [held.reference for held in erp.stored() if held.kind == "invoice"]
        assert stored == [reference for reference in in_order if reference != refused]
        by_reference = {item.reference: item for item in outbox(fresh_engine)}
        assert by_reference[refused].status == ItemStatus.FAILED
