"""Invoicing deadlines are warned before they pass: an invoice per delivery note is due at delivery, a
monthly recap at the end of the month (warned from a configurable day)."""

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.config import get_settings
from app.delivery.models import DeliveryNote
from app.invoicing.models import DeferredDocument
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import order_of, ship


@pytest.fixture
def monthly_recaps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARNET_INVOICE_GROUPING", "monthly_recap")
    monkeypatch.setenv("CARNET_RECAP_WARNING_DAY", "1")  # every day of the month is past it
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def shipped_note(client: TestClient, session: Session) -> dict[str, object]:
    customer, product = make_customer(session), make_product(session, price="10.00", vat_rate="20")
    return ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 3)))


class TestPerNoteInvoices:
    def test_a_note_is_flagged_from_delivery_with_its_age_and_amount(
        self, client: TestClient, session: Session
    ) -> None:
        note = shipped_note(client, session)
        (warning,) = client.get("/api/v1/system").json()["warnings"]
        assert (warning["code"], warning["count"], warning["age_days"]) == ("uninvoiced_delivery", 1, 0)
        assert Decimal(warning["amount"]) == Decimal("36.00")

        session.execute(
            update(DeliveryNote)
            .where(DeliveryNote.number == note["number"])
            .values(issue_date=date.fromisoformat(str(note["issue_date"])) - timedelta(days=3))
        )
        system = client.get("/api/v1/system").json()
        assert system["warnings"][-1]["age_days"] == 3 and "3 day(s) ago" in system["warnings"][-1]["detail"]
        metrics = client.get("/api/v1/metrics").text
        assert "carnet_uninvoiced_delivery_notes 1" in metrics
        assert "carnet_uninvoiced_amount_euros 36.0" in metrics
        assert "carnet_oldest_uninvoiced_delivery_age_days 3" in metrics

    def test_nothing_is_flagged_once_the_invoice_is_in_the_erp(
        self, client: TestClient, session: Session
    ) -> None:
        shipped_note(client, session)
        session.execute(update(DeferredDocument).values(status="replayed"))
        assert client.get("/api/v1/system").json()["warnings"] == []
        assert "carnet_uninvoiced_delivery_notes 0" in client.get("/api/v1/metrics").text


class TestMonthlyRecaps:
    def test_the_months_notes_are_flagged_from_the_warning_day_with_the_amount_at_stake(
        self, client: TestClient, session: Session, monthly_recaps: None
    ) -> None:
        shipped_note(client, session)
        shipped_note(client, session)
        system = client.get("/api/v1/system").json()
        (warning,) = system["warnings"]
        assert (warning["code"], warning["count"]) == ("recap_due_at_month_end", 2)
        assert Decimal(warning["amount"]) == Decimal("72.00")
        assert system["banner"] == warning["detail"]
