"""The outbox holds every replayable document once, with a stable key and its dependencies, and is
filled by an idempotent sync at run start rather than at capture."""

import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.delivery.schemas import ReturnCreate
from app.fulfilment.service import record_return, void_delivery
from app.incidents.models import Incident
from app.invoicing.models import DeferredDocument
from app.orders.models import SaleOrder
from app.orders.service import cancel_order
from app.replay.models import ReplayDependency, ReplayItem, ReplayRecapMember
from app.replay.outbox import sync_outbox
from tests.replay.replay_data import REP, WAREHOUSE, capture, catalogue

PER_NOTE = "per_delivery_note"
RECAP = "monthly_recap"


def items(session: Session) -> list[ReplayItem]:
    session.flush()
    query = select(ReplayItem).order_by(ReplayItem.id).execution_options(populate_existing=True)
    return list(session.execute(query).scalars())


def needs(session: Session) -> set[tuple[str, str]]:
    item, needed = ReplayItem.__table__, ReplayItem.__table__.alias("needed")
    rows = session.execute(
        select(item.c.reference, needed.c.reference)
        .join(ReplayDependency, ReplayDependency.item_id == item.c.id)
        .join(needed, needed.c.id == ReplayDependency.needs_id)
    )
    return {(a, b) for a, b in rows}


class TestSync:
    def test_every_document_enters_once_with_its_key_and_dependencies(self, session: Session) -> None:
        data = capture(session, catalogue(session), orders=2, credit_every=2)
        first = sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        assert first.added == {"order": 2, "invoice": 2, "credit_note": 1}

        again = sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        assert again.added == {"order": 0, "invoice": 0, "credit_note": 0}
        rows = items(session)
        assert [(i.kind, i.status, i.attempts) for i in rows] == [
            ("order", "pending", 0),
            ("order", "pending", 0),
            ("invoice", "pending", 0),
            ("invoice", "pending", 0),
            ("credit_note", "pending", 0),
        ]
        orders = [i for i in rows if i.kind == "order"]
        assert [i.idempotency_key for i in orders] == [f"order:{n}" for n in data.orders]
        documents = {d.reference: d for d in session.execute(select(DeferredDocument)).scalars()}
        for item in rows[2:]:
            # The stored UUID, in its canonical text form, on SQLite as on PostgreSQL.
            assert item.idempotency_key == str(documents[item.reference].idempotency_key)
            assert uuid.UUID(item.idempotency_key)
        invoice_of_first = next(r for r in rows[2:4] if documents[r.reference].order_id == orders[0].order_id)
        assert needs(session) == {
            (rows[2].reference, orders[0].reference if invoice_of_first is rows[2] else orders[1].reference),
            (rows[3].reference, orders[1].reference if invoice_of_first is rows[2] else orders[0].reference),
            (rows[4].reference, invoice_of_first.reference),
        }

    def test_cancelled_and_reviewed_orders_and_void_documents_stay_out(self, session: Session) -> None:
        data = capture(session, catalogue(session), orders=3, credit_every=0)
        cancelled = capture(session, data, orders=1, ship=False).orders[-1]
        cancel_order(session, number=cancelled, actor=REP)
        held = capture(session, data, orders=1, ship=False).orders[-1]
        session.execute(update(SaleOrder).where(SaleOrder.number == held).values(status="needs_review"))
        void_delivery(session, number=data.notes[0], actor=WAREHOUSE)

        sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        references = {i.reference for i in items(session)}
        assert cancelled not in references and held not in references
        assert set(data.orders[:3]) <= references
        invoices = [i for i in items(session) if i.kind == "invoice"]
        assert len(invoices) == 2

        session.execute(update(SaleOrder).where(SaleOrder.number == held).values(status="captured"))
        assert sync_outbox(session, now=utcnow(), grouping=PER_NOTE).added["order"] == 1

    def test_a_document_withdrawn_before_its_first_send_leaves_the_outbox(self, session: Session) -> None:
        data = capture(session, catalogue(session), orders=2, credit_every=0)
        sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        void_delivery(session, number=data.notes[1], actor=WAREHOUSE)
        removed = sync_outbox(session, now=utcnow(), grouping=PER_NOTE).removed
        assert removed == 1
        assert len([i for i in items(session) if i.kind == "invoice"]) == 1

    def test_a_credit_note_with_nothing_to_correct_waits_in_the_outbox_for_a_person(
        self, session: Session
    ) -> None:
        data = capture(session, catalogue(session), orders=1, credit_every=0)
        stranger = data.products[3]
        credit_note = record_return(
            session,
            draft=ReturnCreate(
                customer_code=data.customers[2].code, lines=[{"product_code": stranger.code, "quantity": 1}]
            ),
            actor=REP,
        ).credit_note
        assert sync_outbox(session, now=utcnow(), grouping=PER_NOTE).added["credit_note"] == 1
        held = next(i for i in items(session) if i.kind == "credit_note")
        assert (held.reference, held.status) == (credit_note.reference, "held")

    def test_a_credit_note_naming_the_erp_invoice_it_corrects_is_replayed(self, session: Session) -> None:
        data = capture(session, catalogue(session), orders=1, credit_every=0)
        credit_note = record_return(
            session,
            draft=ReturnCreate(
                customer_code=data.customers[2].code,
                invoice_reference="F2026-00841",
                lines=[{"product_code": data.products[3].code, "quantity": 1}],
            ),
            actor=REP,
        ).credit_note
        assert credit_note.corrected_erp_invoice == "F2026-00841" and credit_note.invoice_id is None
        sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        item = next(i for i in items(session) if i.kind == "credit_note")
        assert item.status == "pending"
        assert not [pair for pair in needs(session) if pair[0] == credit_note.reference]

    def test_a_return_without_its_note_number_depends_on_the_invoices_its_goods_went_back_against(
        self, session: Session
    ) -> None:
        data = capture(session, catalogue(session, customers=1), orders=2, credit_every=0)
        first, second = data.products[0], data.products[1]
        # Order 1 shipped `first` x1 and `second` x2; order 2 shipped `second` x2 and `third` x2:
        # `first` goes back against note 1, the four `second` against notes 2 then 1.
        credit_note = record_return(
            session,
            draft=ReturnCreate(
                customer_code=data.customers[0].code,
                lines=[
                    {"product_code": first.code, "quantity": 1},
                    {"product_code": second.code, "quantity": 4},
                ],
            ),
            actor=REP,
        ).credit_note
        invoices = {
            d.delivery_note_id: d.reference
            for d in session.execute(
                select(DeferredDocument).where(DeferredDocument.kind == "invoice")
            ).scalars()
        }
        assert credit_note.invoice_id is not None and credit_note.corrected_erp_invoice is None
        sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        corrected = {b for a, b in needs(session) if a == credit_note.reference}
        assert corrected == set(invoices.values()) and len(corrected) == 2


class TestIncidentOfDocuments:
    def test_items_belong_to_the_incident_whose_window_contains_their_creation(
        self, session: Session
    ) -> None:
        now = utcnow()
        earlier = Incident(
            reason="ERP down",
            started_at=now - timedelta(days=2),
            ended_at=now - timedelta(days=1),
            is_open=False,
            declared_at=now,
            declared_by="admin",
        )
        current = Incident(
            reason="ERP down again",
            started_at=now - timedelta(hours=1),
            is_open=True,
            declared_at=now,
            declared_by="admin",
        )
        session.add_all([earlier, current])
        session.flush()
        capture(session, catalogue(session), orders=1, credit_every=1)
        sync_outbox(session, now=utcnow(), grouping=PER_NOTE)
        assert {i.incident_id for i in items(session)} == {current.id}


class TestMonthlyRecap:
    def test_a_customers_invoices_of_a_month_make_one_recap_until_it_is_sent(self, session: Session) -> None:
        data = catalogue(session, customers=1)
        capture(session, data, orders=3, credit_every=3)
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        recaps = [i for i in items(session) if i.kind == "invoice"]
        assert len(recaps) == 1
        recap = recaps[0]
        period = f"{utcnow():%Y-%m}"
        assert recap.idempotency_key == f"recap:{data.customers[0].code}:{period}:1"
        assert recap.reference == f"REC-{period}-{data.customers[0].code}"
        members = session.execute(select(ReplayRecapMember.item_id)).scalars().all()
        assert members == [recap.id] * 3
        # The recap needs all three orders; the credit note needs the recap.
        assert {b for a, b in needs(session) if a == recap.reference} == set(data.orders)
        credit = next(i for i in items(session) if i.kind == "credit_note")
        assert (credit.reference, recap.reference) in needs(session)

        # Another delivery before the recap was frozen joins it; after, it starts a second recap.
        capture(session, data, orders=1, credit_every=0)
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        assert len([i for i in items(session) if i.kind == "invoice"]) == 1
        session.execute(update(ReplayItem).where(ReplayItem.id == recap.id).values(payload=b"{}"))
        capture(session, data, orders=1, credit_every=0)
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        second = [i for i in items(session) if i.kind == "invoice"][1]
        assert second.idempotency_key.endswith(":2") and second.reference.endswith("-2")

    def test_a_new_recap_never_takes_the_key_of_a_recap_still_in_the_outbox(self, session: Session) -> None:
        # A recap of the month outside any incident, one inside an incident; the first is withdrawn
        # (its only invoice voided) before any send; a new one after the incident must not take ":2".
        data = catalogue(session, customers=1)
        first = capture(session, data, orders=1, credit_every=0).notes[0]
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        incident = Incident(
            reason="ERP down", started_at=utcnow(), is_open=True, declared_at=utcnow(), declared_by="admin"
        )
        session.add(incident)
        session.flush()
        capture(session, data, orders=1, credit_every=0)
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        incident.ended_at, incident.is_open = utcnow(), False
        session.flush()
        void_delivery(session, number=first, actor=WAREHOUSE)
        capture(session, data, orders=1, credit_every=0)
        sync_outbox(session, now=utcnow(), grouping=RECAP)
        keys = [i.idempotency_key for i in items(session) if i.kind == "invoice"]
        period = f"{utcnow():%Y-%m}"
        assert sorted(keys) == [f"recap:{data.customers[0].code}:{period}:{n}" for n in (2, 3)]
