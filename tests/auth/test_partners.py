"""Partners: an API key, shown once, that sees and posts only for the partner's own customers."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import Partner
from app.edi.partners import create_partner
from app.errors import Conflict, InvalidInput
from tests.builders import auth_headers, make_customer, make_product


def order_for(customer_code: str, product_code: str) -> dict:
    return {
        "customer_code": customer_code,
        "channel": "edi",
        "lines": [{"product_code": product_code, "quantity": 1}],
    }


class TestCreatePartner:
    def test_key_is_returned_once_and_stored_hashed(self, session: Session) -> None:
        customer = make_customer(session)
        partner, key = create_partner(session, name="Dilicom hub", customer_codes=[customer.code])
        assert key.startswith("ck_") and len(key) > 40
        stored = session.get(Partner, partner.id)
        assert stored is not None and key not in (stored.api_key_hash, stored.api_key_prefix)

    def test_unknown_customer_is_refused(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            create_partner(session, name="X", customer_codes=["NOPE"])

    def test_duplicate_name_is_refused(self, session: Session) -> None:
        customer = make_customer(session)
        create_partner(session, name="Same", customer_codes=[customer.code])
        with pytest.raises(Conflict):
            create_partner(session, name="Same", customer_codes=[customer.code])


class TestPartnerAccess:
    def test_posts_and_reads_orders_of_its_own_customers(self, client: TestClient, session: Session) -> None:
        ours, product = make_customer(session), make_product(session)
        _, key = create_partner(session, name="Hub A", customer_codes=[ours.code])
        created = client.post(
            "/api/v1/orders", json=order_for(ours.code, product.code), headers={"X-API-Key": key}
        )
        assert created.status_code == 201, created.text
        assert created.json()["captured_by"].startswith("partner:")
        number = created.json()["number"]
        assert client.get(f"/api/v1/orders/{number}", headers={"X-API-Key": key}).status_code == 200

    def test_cannot_post_for_another_customer(self, client: TestClient, session: Session) -> None:
        ours, theirs, product = make_customer(session), make_customer(session), make_product(session)
        _, key = create_partner(session, name="Hub B", customer_codes=[ours.code])
        answer = client.post(
            "/api/v1/orders", json=order_for(theirs.code, product.code), headers={"X-API-Key": key}
        )
        assert answer.status_code == 403

    def test_cannot_read_another_customers_order_or_customer(
        self, client: TestClient, session: Session
    ) -> None:
        ours, theirs, product = make_customer(session), make_customer(session), make_product(session)
        _, key = create_partner(session, name="Hub C", customer_codes=[ours.code])
        other = client.post(
            "/api/v1/orders", json=order_for(theirs.code, product.code), headers=auth_headers(session)
        ).json()
        assert client.get(f"/api/v1/orders/{other['number']}", headers={"X-API-Key": key}).status_code == 404
        assert client.get(f"/api/v1/customers/{theirs.code}", headers={"X-API-Key": key}).status_code == 404
        listed = client.get("/api/v1/orders", headers={"X-API-Key": key}).json()["items"]
        assert other["number"] not in [o["number"] for o in listed]

    def test_invalid_key_is_401(self, client: TestClient) -> None:
        assert client.get("/api/v1/orders", headers={"X-API-Key": "ck_forged"}).status_code == 401

    def test_partner_cannot_write_master_data(self, client: TestClient, session: Session) -> None:
        customer = make_customer(session)
        _, key = create_partner(session, name="Hub D", customer_codes=[customer.code])
        body = {"code": "NEWP", "name": "x", "unit_price": "1", "vat_rate": "20"}
        assert client.post("/api/v1/products", json=body, headers={"X-API-Key": key}).status_code == 403


class TestPartnerPrices:
    def test_a_partners_own_price_holds_the_order_for_review(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00")
        _, key = create_partner(session, name="Hub P", customer_codes=[customer.code])
        body = {
            "customer_code": customer.code,
            "channel": "api",
            "lines": [{"product_code": product.code, "quantity": 2, "unit_price": "7.00"}],
        }
        order = client.post("/api/v1/orders", json=body, headers={"X-API-Key": key}).json()
        assert order["status"] == "needs_review"
        assert [p["code"] for p in order["problems"]] == ["partner_price"]

        rep = auth_headers(session, role="rep")
        accepted = client.post(f"/api/v1/orders/{order['number']}/accept", headers=rep)
        assert accepted.status_code == 200
        assert accepted.json()["status"] == "captured"
        assert accepted.json()["problems"][0]["resolved_by"].startswith("user:")
        assert client.post(f"/api/v1/orders/{order['number']}/accept", headers=rep).status_code == 409

    def test_a_partner_cannot_accept_its_own_order(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        _, key = create_partner(session, name="Hub Q", customer_codes=[customer.code])
        body = {
            "customer_code": customer.code,
            "channel": "api",
            "lines": [{"product_code": product.code, "quantity": 1, "discount_percent": "50"}],
        }
        order = client.post("/api/v1/orders", json=body, headers={"X-API-Key": key}).json()
        answer = client.post(f"/api/v1/orders/{order['number']}/accept", headers={"X-API-Key": key})
        assert answer.status_code == 403
