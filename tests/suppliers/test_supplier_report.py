"""Two publishers during an outage: orders, shipments, a backorder, a return, a cancelled order; each
publisher's report adds up with Carnet's orders, delivery notes and returns, and shows only its titles."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from app import numbering
from app.clock import utcnow
from app.suppliers.report_formats import FrenchExcel, french_number
from app.suppliers.service import report_period
from tests.builders import auth_headers, make_customer, make_product

GALLIMARD = ("GALL", "Gallimard")
SEUIL = ("SEUIL", "Éditions du Seuil")
FIGURES = (
    "snapshot_stock",
    "ordered",
    "shipped",
    "backordered",
    "returned",
    "received",
    "counted",
    "stock_left",
)


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def outage(client: TestClient, session: Session) -> dict[str, Any]:
    """During an incident, the rivage bookshop orders both publishers' books; the warehouse ships what
    it has (the novel waits as a backorder), one novel comes back, a second order is cancelled."""
    admin, rep = auth_headers(session, role="admin"), auth_headers(session, role="rep")
    warehouse = auth_headers(session, role="warehouse")
    shop = make_customer(session, name="Librairie du Rivage")
    novel = make_product(session, stock="4", supplier=GALLIMARD)
    poems = make_product(session, stock="10", supplier=GALLIMARD)
    essay = make_product(session, stock="5", supplier=SEUIL)
    started = (utcnow() - timedelta(minutes=1)).isoformat()
    incident = ok(
        client.post("/api/v1/incidents", json={"reason": "ERP", "started_at": started}, headers=admin), 201
    )

    lines = [(novel, 10), (poems, 2), (essay, 1)]
    body = {
        "customer_code": shop.code,
        "channel": "phone",
        "lines": [{"product_code": p.code, "quantity": q} for p, q in lines],
    }
    order = ok(client.post("/api/v1/orders", json=body, headers=rep), 201)
    note = ok(client.post(f"/api/v1/orders/{order['number']}/deliveries", headers=warehouse), 201)
    back = {
        "customer_code": shop.code,
        "delivery_note_number": note["number"],
        "lines": [{"product_code": novel.code, "quantity": 1, "reason": "abîmé"}],
    }
    returned = ok(client.post("/api/v1/returns", json=back, headers=rep), 201)
    body = {
        "customer_code": shop.code,
        "channel": "email",
        "lines": [{"product_code": poems.code, "quantity": 5}],
    }
    cancelled = ok(client.post("/api/v1/orders", json=body, headers=rep), 201)
    ok(client.post(f"/api/v1/orders/{cancelled['number']}/cancel", headers=rep))
    return {
        "incident": incident,
        "orders": [order],
        "notes": [note],
        "returns": [returned],
        "shop": shop,
        "titles": {"novel": novel.code, "poems": poems.code, "essay": essay.code},
    }


def report(
    client: TestClient, headers: dict[str, str], supplier: str, incident_id: int, output: str = "json"
) -> Any:
    params: dict[str, Any] = {"incident_id": incident_id, "format": output}
    return client.get(f"/api/v1/suppliers/{supplier}/report", params=params, headers=headers)


class TestTheReportAddsUp:
    def test_each_title_shows_its_stock_orders_shipments_backorders_and_returns(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        finance = auth_headers(session, role="finance")
        figures = ok(report(client, finance, "GALL", outage["incident"]["id"]))
        titles = outage["titles"]
        by_code = {t["code"]: tuple(t[f] for f in FIGURES) for t in figures["titles"]}
        assert by_code == {
            titles["novel"]: (4, 10, 4, 6, 1, 0, 0, 1),
            titles["poems"]: (10, 2, 2, 0, 0, 0, 0, 8),
        }
        assert tuple(figures["totals"][f] for f in FIGURES) == (14, 12, 6, 6, 1, 0, 0, 9)
        assert figures["supplier_name"] == "Gallimard"

    def test_the_figures_are_those_of_carnets_orders_delivery_notes_returns_and_stock(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        rep = auth_headers(session, role="rep")
        figures = ok(report(client, auth_headers(session, role="admin"), "GALL", outage["incident"]["id"]))
        for title in figures["titles"]:
            code = title["code"]
            ordered = [
                line
                for o in outage["orders"]
                for line in ok(client.get(f"/api/v1/orders/{o['number']}", headers=rep))["lines"]
                if line["product_code"] == code
            ]
            shipped = [
                line["quantity"]
                for n in outage["notes"]
                for line in n["lines"]
                if line["product_code"] == code
            ]
            back = [
                line["quantity"]
                for r in outage["returns"]
                for line in r["lines"]
                if line["product_code"] == code
            ]
            product = ok(client.get(f"/api/v1/products/{code}", headers=rep))
            assert title["ordered"] == sum(line["quantity"] for line in ordered)
            assert title["backordered"] == sum(line["backordered_quantity"] for line in ordered)
            assert title["shipped"] == sum(shipped)
            assert title["returned"] == sum(back)
            assert title["stock_left"] == product["stock_on_hand"]
            moved = -title["shipped"] + title["returned"] + title["received"] + title["counted"]
            assert title["stock_left"] == title["snapshot_stock"] + moved
        for figure in FIGURES:
            assert figures["totals"][figure] == sum(t[figure] for t in figures["titles"])

    def test_a_date_range_gives_the_same_figures_as_the_incident(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        admin = auth_headers(session, role="admin")
        by_incident = ok(report(client, admin, "GALL", outage["incident"]["id"]))
        today = utcnow().date()
        params = {
            "from": (today - timedelta(days=1)).isoformat(),
            "to": (today + timedelta(days=1)).isoformat(),
        }
        by_dates = ok(client.get("/api/v1/suppliers/GALL/report", params=params, headers=admin))
        assert by_dates["titles"] == by_incident["titles"] and by_dates["incident_id"] is None

    def test_a_period_before_the_outage_shows_nothing_moved_and_the_stock_of_then(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        params = {"from": "2026-01-01", "to": "2026-01-31"}
        figures = ok(
            client.get(
                "/api/v1/suppliers/GALL/report", params=params, headers=auth_headers(session, role="admin")
            )
        )
        assert [(t["ordered"], t["shipped"], t["stock_left"]) for t in figures["titles"]] == [
            (0, 0, 4),
            (0, 0, 10),
        ]

    def test_each_supplier_sees_only_its_titles(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        figures = ok(report(client, auth_headers(session, role="admin"), "SEUIL", outage["incident"]["id"]))
        assert [(t["code"], t["ordered"], t["shipped"]) for t in figures["titles"]] == [
            (outage["titles"]["essay"], 1, 1)
        ]


class TestFormats:
    def test_the_csv_opens_in_a_spreadsheet_set_to_french(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        answer = report(
            client, auth_headers(session, role="finance"), "GALL", outage["incident"]["id"], "csv"
        )
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert answer.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), dialect=FrenchExcel))
        assert rows[0][:5] == ["Code", "EAN", "Titre", "Date du stock", "Stock à la date"]
        assert rows[-1] == ["Total", "", "", "", "14", "12", "6", "6", "1", "0", "0", "9"]
        assert len(rows) == 4 and all(len(row) == 12 for row in rows)
        assert rows[1][3].count("/") == 2  # dd/mm/yyyy hh:mm

    def test_a_fractional_quantity_has_a_decimal_comma(self) -> None:
        assert (french_number(Decimal("2.500")), french_number(Decimal("-12.000"))) == ("2,5", "-12")

    def test_the_pdf_lists_the_titles_and_their_totals(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        answer = report(client, auth_headers(session, role="admin"), "GALL", outage["incident"]["id"], "pdf")
        assert answer.headers["content-type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
        assert "Gallimard" in text and outage["titles"]["novel"] in text and "Total (2 titres)" in text
        assert outage["titles"]["essay"] not in text


class TestAccess:
    def test_a_supplier_sees_its_report_and_no_customer(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        gallimard = auth_headers(session, role="supplier", supplier_code="GALL")
        shop = outage["shop"]
        for output in ("json", "csv", "pdf"):
            answer = report(client, gallimard, "GALL", outage["incident"]["id"], output)
            assert answer.status_code == 200, answer.text
            text = (
                answer.content.decode("utf-8", "replace")
                if output != "pdf"
                else "".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
            )
            assert shop.name not in text and shop.code not in text and shop.billing_street not in text

    def test_a_supplier_cannot_read_another_suppliers_report(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        gallimard = auth_headers(session, role="supplier", supplier_code="GALL")
        assert report(client, gallimard, "SEUIL", outage["incident"]["id"]).status_code == 404

    @pytest.mark.parametrize("role", ["rep", "warehouse"])
    def test_people_who_sell_and_ship_do_not_read_supplier_reports(
        self, client: TestClient, session: Session, outage: dict[str, Any], role: str
    ) -> None:
        assert (
            report(client, auth_headers(session, role=role), "GALL", outage["incident"]["id"]).status_code
            == 403
        )

    def test_an_unknown_supplier_or_incident_is_404_and_a_report_needs_a_period(
        self, client: TestClient, session: Session, outage: dict[str, Any]
    ) -> None:
        admin = auth_headers(session, role="admin")
        assert report(client, admin, "NOBODY", outage["incident"]["id"]).status_code == 404
        assert report(client, admin, "GALL", 999_999).status_code == 404
        answer = client.get("/api/v1/suppliers/GALL/report", headers=admin)
        assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["query", "from"]


def test_a_period_ends_today_on_the_business_clock_not_utc(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 23:30 UTC in December it is already 00:30 tomorrow in Paris: an order captured then falls
    in a report that runs "until today"."""
    late_evening = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(numbering, "utcnow", lambda: late_evening)
    period = report_period(session, from_date=date(2026, 12, 1), to_date=None, incident_id=None)
    assert period.start <= late_evening < period.end
    assert period.end == datetime(2026, 12, 8, 23, 0, tzinfo=UTC)
