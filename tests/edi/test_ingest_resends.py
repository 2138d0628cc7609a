"""Ingestion: nothing lost, nothing doubled — resends, crashes while processing, concurrent resends."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import Actor
from app.cli import main as cli_main
from app.db import session_scope
from app.edi import ingestion
from app.edi.models import EdiAcknowledgment, EdiInterchange
from app.errors import Conflict
from app.orders.models import SaleOrder
from tests.builders import make_product
from tests.edi.edi_builders import (
    Line,
    edifact,
    ingest,
    make_hub,
    map_party,
    order_count,
    order_edifact,
    orders_message,
)

ADMIN = Actor(kind="user", id=0, name="admin", role=Role.ADMIN)


def interchange(session: Session, interchange_id: int) -> EdiInterchange:
    row = session.get(EdiInterchange, interchange_id)
    assert row is not None
    return row


class TestResends:
    def test_the_same_bytes_again_answer_the_first_answer_and_create_nothing(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin, 2)])
        first = ingest(session, hub, data)
        count = order_count(session)
        again = ingest(session, hub, data)
        assert again.resend
        assert again.body == first.body
        assert order_count(session) == count
        duplicates = session.execute(
            select(EdiInterchange).where(EdiInterchange.duplicate_of_id == first.body["id"])
        ).scalars()
        [resend] = list(duplicates)
        assert resend.status == "duplicate" and resend.raw == data  # kept for the audit trail

    def test_the_same_envelope_with_other_bytes_is_a_resend_too(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        first = ingest(session, hub, order_edifact([Line(product.gtin, 2)], control_ref="777"))
        again = ingest(session, hub, order_edifact([Line(product.gtin, 5)], control_ref="777"))
        assert again.resend and again.body["orders"] == first.body["orders"]

    def test_a_production_interchange_after_a_test_one_with_its_control_reference_creates_its_order(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        trial = ingest(session, hub, order_edifact([Line(product.gtin, 2)], control_ref="42", test=True))
        real = ingest(session, hub, order_edifact([Line(product.gtin, 2)], control_ref="42"))
        assert not trial.resend and not real.resend
        assert real.body["orders"] and real.body["orders"] != trial.body["orders"]
        again = ingest(session, hub, order_edifact([Line(product.gtin, 3)], control_ref="42"))
        assert again.resend and again.body["orders"] == real.body["orders"]

    def test_an_envelope_received_alone_is_not_captured_again_inside_a_batch(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        alone = order_edifact([Line(product.gtin, 2)], po_number="PO-A", control_ref="101")
        other = order_edifact([Line(product.gtin, 3)], po_number="PO-B", control_ref="102")
        first = ingest(session, hub, alone)
        count = order_count(session)
        batch = ingest(session, hub, alone + other)
        assert not batch.resend
        assert order_count(session) == count + 1
        assert len(batch.body["orders"]) == 1 and batch.body["orders"] != first.body["orders"]
        assert [w["code"] for w in batch.body["warnings"]] == ["repeated_envelope"]

    def test_an_envelope_of_a_batch_sent_again_alone_is_a_resend(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        alone = order_edifact([Line(product.gtin, 2)], po_number="PO-A", control_ref="201")
        other = order_edifact([Line(product.gtin, 3)], po_number="PO-B", control_ref="202")
        batch = ingest(session, hub, alone + other)
        count = order_count(session)
        again = ingest(session, hub, alone)
        assert again.resend
        assert again.body["orders"] == batch.body["orders"]
        assert order_count(session) == count

    def test_another_partner_may_use_the_same_control_reference(self, session: Session) -> None:
        one, two = make_hub(session), make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        assert not ingest(session, one, order_edifact([Line(product.gtin)], control_ref="5")).resend
        answer = ingest(
            session, two, order_edifact([Line(product.gtin)], control_ref="5", buyer="5412345000044")
        )
        assert not answer.resend and answer.body["orders"]

    def test_a_rejected_interchange_sent_again_after_a_fix_on_our_side_is_processed_afresh(
        self, session: Session
    ) -> None:
        hub = make_hub(session, gln=None, others=1)
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin, 3)], buyer="SHOP-7")
        refused = ingest(session, hub, data)
        assert refused.body["status"] == "rejected"
        map_party(session, hub, "SHOP-7", hub.customer)
        accepted = ingest(session, hub, data)
        assert not accepted.resend and accepted.body["status"] == "accepted"
        assert accepted.body["id"] != refused.body["id"]
        assert ingest(session, hub, data).resend

    def test_processing_a_processed_interchange_again_answers_what_it_answered(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        first = ingest(session, hub, order_edifact([Line(product.gtin)]))
        again = ingestion.process_interchange(session, interchange_id=first.body["id"])
        assert again.resend and again.body == first.body
        with pytest.raises(Conflict):
            ingestion.reprocess_interchange(session, interchange_id=first.body["id"], actor=ADMIN)


def _setup(engine: Engine) -> tuple[Any, bytes]:
    with session_scope(engine) as session:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = edifact(
            orders_message("1", "PO-A", [Line(product.gtin, 1)]),
            orders_message("2", "PO-B", [Line(product.gtin, 2)]),
        )
    return hub, data


def _count(engine: Engine, model: type[Any]) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


class TestCrashWhileProcessing:
    def test_the_file_stays_received_with_no_order_and_an_admin_reprocesses_it(
        self, fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hub, data = _setup(fresh_engine)
        with session_scope(fresh_engine) as session:
            stored = ingestion.store_interchange(session, actor=hub.actor, data=data, content_type=None)
        original = ingestion.record_orders

        def crash_after_writing(session: Session, **kwargs: Any) -> Any:
            original(session, **kwargs)
            raise RuntimeError("disk full")

        monkeypatch.setattr(ingestion, "record_orders", crash_after_writing)
        with pytest.raises(RuntimeError), session_scope(fresh_engine) as session:
            ingestion.process_interchange(session, interchange_id=stored.id)
        with session_scope(fresh_engine, write=False) as session:
            row = interchange(session, stored.id)
            assert (row.status, row.raw) == ("received", data)
        assert _count(fresh_engine, SaleOrder) == 0 and _count(fresh_engine, EdiAcknowledgment) == 0

        monkeypatch.setattr(ingestion, "record_orders", original)
        with session_scope(fresh_engine) as session:
            answer = ingestion.reprocess_interchange(session, interchange_id=stored.id, actor=ADMIN)
        assert not answer.resend and len(answer.body["orders"]) == 2
        assert _count(fresh_engine, SaleOrder) == 2

    def test_the_command_line_reprocesses_every_pending_interchange(
        self, fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        hub, data = _setup(fresh_engine)
        with session_scope(fresh_engine) as session:
            stored = ingestion.store_interchange(session, actor=hub.actor, data=data, content_type=None)
        monkeypatch.setattr("app.cli.session_scope", _scope_on(fresh_engine))
        assert cli_main(["edi", "reprocess"]) == 0
        assert f"interchange {stored.id}: accepted, 2 order(s)" in capsys.readouterr().out
        assert cli_main(["edi", "reprocess", str(stored.id)]) == 1  # already processed: refused


def _scope_on(engine: Engine) -> Callable[..., Any]:
    def scope(_engine: Engine | None = None, *, write: bool = True) -> Any:
        return session_scope(engine, write=write)

    return scope


class TestConcurrentResends:
    def test_two_copies_processed_at_once_create_the_orders_once(self, fresh_engine: Engine) -> None:
        hub, data = _setup(fresh_engine)
        stored = []
        for _ in range(2):
            with session_scope(fresh_engine) as session:
                stored.append(
                    ingestion.store_interchange(session, actor=hub.actor, data=data, content_type=None)
                )
        barrier = threading.Barrier(2)
        answers: list[ingestion.InterchangeOutcome] = []
        errors: list[BaseException] = []

        def process(interchange_id: int) -> None:
            try:
                barrier.wait()
                with session_scope(fresh_engine) as session:
                    answers.append(ingestion.process_interchange(session, interchange_id=interchange_id))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=process, args=(s.id,)) for s in stored]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert sorted(a.resend for a in answers) == [False, True]
        assert answers[0].body["orders"] == answers[1].body["orders"]
        assert _count(fresh_engine, SaleOrder) == 2
