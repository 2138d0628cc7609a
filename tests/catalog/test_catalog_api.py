"""Customers and products through the API."""

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.catalog.importing import import_file
from tests.builders import auth_headers, make_customer, make_product

CUSTOMER = {
    "code": "LIB042",
    "name": "Librairie Le Failler",
    "vat_number": "FR40303265045",
    "gln": "3012345000017",
    "email": "Commandes@Failler.example",
    "billing_address": {"street": "8 rue Saint-Georges", "postal_code": "35000", "city": "Rennes"},
    "shipping_addresses": [
        {
            "code": "MAG",
            "street": "14 rue Nationale",
            "postal_code": "35000",
            "city": "Rennes",
            "gln": "3012345000024",
        }
    ],
    "discount_percent": "33",
}


class TestCustomers:
    def test_create_then_read(self, client: TestClient, session: Session) -> None:
        admin = auth_headers(session, role="admin")
        created = client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
        assert created.status_code == 201, created.text
        read = client.get("/api/v1/customers/LIB042", headers=auth_headers(session)).json()
        assert read["email"] == "commandes@failler.example"
        assert read["discount_percent"] == "33"
        assert read["shipping_addresses"][0]["gln"] == "3012345000024"
        assert read["billing_address"]["country"] == "FR"

    def test_post_again_replaces(self, client: TestClient, session: Session) -> None:
        admin = auth_headers(session, role="admin")
        client.post("/api/v1/customers", json=CUSTOMER, headers=admin)
        changed = {**CUSTOMER, "name": "Le Failler", "shipping_addresses": []}
        assert client.post("/api/v1/customers", json=changed, headers=admin).status_code == 201
        read = client.get("/api/v1/customers/LIB042", headers=admin).json()
        assert (read["name"], read["shipping_addresses"]) == ("Le Failler", [])

    def test_invalid_identifiers_are_located(self, client: TestClient, session: Session) -> None:
        bad = {**CUSTOMER, "vat_number": "FR00000000000", "gln": "3012345000018"}
        answer = client.post("/api/v1/customers", json=bad, headers=auth_headers(session, role="admin"))
        assert answer.status_code == 422
        assert {tuple(e["loc"]) for e in answer.json()["errors"]} == {("body", "vat_number"), ("body", "gln")}

    def test_search_by_name(self, client: TestClient, session: Session) -> None:
        make_customer(session, name="Maison de la Presse Quimper")
        page = client.get("/api/v1/customers", params={"q": "quimper"}, headers=auth_headers(session)).json()
        assert [c["name"] for c in page["items"]] == ["Maison de la Presse Quimper"]

    def test_unknown_code_is_404(self, client: TestClient, session: Session) -> None:
        assert client.get("/api/v1/customers/NOPE", headers=auth_headers(session)).status_code == 404


class TestProducts:
    def test_isbn10_is_stored_as_its_gtin(self, client: TestClient, session: Session) -> None:
        body = {
            "code": "BK1",
            "gtin": "2-07-036002-4",
            "name": "L'Étranger",
            "unit_price": "7.10",
            "price_includes_vat": True,
            "price_locked": True,
            "vat_rate": "5.5",
            "stock_on_hand": 12,
        }
        created = client.post(
            "/api/v1/products", json=body, headers=auth_headers(session, role="admin")
        ).json()
        assert created["gtin"] == "9782070360024"
        assert created["unit_price"] == "7.10"
        assert created["available_quantity"] == 12

    def test_bad_gtin_check_digit_is_refused(self, client: TestClient, session: Session) -> None:
        body = {"code": "BK2", "gtin": "9782070360025", "name": "x", "unit_price": "1", "vat_rate": "5.5"}
        answer = client.post("/api/v1/products", json=body, headers=auth_headers(session, role="admin"))
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["loc"] == ["body", "gtin"]

    def test_system_shows_the_snapshot_time(self, client: TestClient, session: Session) -> None:
        make_customer(session)
        body = {
            "code": "S1",
            "name": "x",
            "unit_price": "1",
            "vat_rate": "20",
            "stock_as_of": "2026-11-20T06:00:00Z",
        }
        client.post("/api/v1/products", json=body, headers=auth_headers(session, role="admin"))
        system = client.get("/api/v1/system").json()
        assert system["mode"] == "normal"  # no incident declared
        assert system["snapshot_as_of"].startswith("2026-11-20T06:00")

    def test_system_shows_how_old_each_kind_of_master_data_is(
        self, client: TestClient, session: Session, tmp_path: Path
    ) -> None:
        make_customer(session)
        make_product(session, code="OLD1", stock="5")  # stock as of the snapshot, 2026-11-20 06:00 UTC
        path = tmp_path / "products.csv"
        path.write_text("code;nom;prix;tva\nOLD1;Livre;6,00;5,5\n", encoding="utf-8")
        import_file(session, kind="products", path=path, as_of=datetime(2026, 11, 21, 19, 0, tzinfo=UTC))

        system = client.get("/api/v1/system", headers=auth_headers(session, role="rep")).json()

        ages = {age["kind"]: age["as_of"] for age in system["master_data"]}
        assert ages["products"].startswith("2026-11-21T19:00")
        assert ages["stock"].startswith("2026-11-20T06:00")
        # The snapshot is as old as its oldest kind: a fresh price list says nothing of the stock.
        assert system["snapshot_as_of"].startswith("2026-11-20T06:00")
        metrics = client.get("/api/v1/metrics").text
        assert 'carnet_master_data_age_seconds{kind="stock"}' in metrics
