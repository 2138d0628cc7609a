"""NUL characters, which PostgreSQL refuses in text, are a located 422 wherever a request carries them."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.orders.models import SaleOrder
from tests.builders import auth_headers, make_customer, make_product


def count_orders(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SaleOrder)).scalar_one()


class TestNulCharacters:
    def test_a_nul_in_a_json_body_is_refused_and_nothing_is_written(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "phone",
            "notes": "call\u0000back",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        before = count_orders(session)
        answer = client.post("/api/v1/orders", json=body, headers=auth_headers(session))
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["errors"][0]["loc"] == ["body"]
        assert count_orders(session) == before

    def test_an_escaped_backslash_before_u0000_is_plain_text(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "phone",
            "notes": "C:\\u0000",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        answer = client.post("/api/v1/orders", json=body, headers=auth_headers(session))
        assert answer.status_code == 201, answer.text
        assert answer.json()["notes"] == "C:\\u0000"

    @pytest.mark.parametrize(
        ("url", "where"),
        [
            ("/api/v1/orders/CMD%00", "path"),
            ("/api/v1/orders?q=a%00b", "query"),
            ("/api/v1/deferred-documents/%00", "path"),
            ("/api/v1/customers/%00", "path"),
        ],
    )
    def test_a_nul_in_the_url_is_a_located_422(
        self, client: TestClient, session: Session, url: str, where: str
    ) -> None:
        answer = client.get(url, headers=auth_headers(session, role="admin"))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == [where]

    def test_a_nul_in_a_form_is_refused(self, client: TestClient, session: Session) -> None:
        answer = client.post(
            "/api/v1/auth/token",
            content=b"username=a%00b&password=whatever12",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body"]
