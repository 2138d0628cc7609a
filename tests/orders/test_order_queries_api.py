"""Reading, listing and cancelling orders."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import auth_headers, make_customer, make_product


def capture(
    client: TestClient, headers: dict[str, str], customer_code: str, product_code: str, **extra: object
) -> dict:
    body = {
        "customer_code": customer_code,
        "channel": "phone",
        "lines": [{"product_code": product_code, "quantity": 2}],
        **extra,
    }
    answer = client.post("/api/v1/orders", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


class TestGetOrder:
    def test_returns_what_was_captured(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session)
        customer, product = make_customer(session), make_product(session)
        created = capture(client, headers, customer.code, product.code, customer_reference="R-1")
        fetched = client.get(f"/api/v1/orders/{created['number']}", headers=headers).json()
        assert fetched == created

    def test_unknown_number_is_404(self, client: TestClient, session: Session) -> None:
        answer = client.get("/api/v1/orders/CMD-1999-000001", headers=auth_headers(session))
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


class TestListOrders:
    def test_filters_by_customer_and_paginates_newest_first(
        self, client: TestClient, session: Session
    ) -> None:
        headers = auth_headers(session)
        ours, other, product = make_customer(session), make_customer(session), make_product(session)
        numbers = [capture(client, headers, ours.code, product.code)["number"] for _ in range(5)]
        capture(client, headers, other.code, product.code)

        seen: list[str] = []
        cursor = None
        while True:
            params = {"customer_code": ours.code, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/orders", params=params, headers=headers).json()
            seen += [order["number"] for order in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(numbers))

    def test_filters_by_status_channel_and_text(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session)
        customer, product = make_customer(session, name="Librairie du Rivage"), make_product(session)
        phone = capture(client, headers, customer.code, product.code, customer_reference="PO-RIV-9")
        email = capture(client, headers, customer.code, product.code, channel="email")
        client.post(f"/api/v1/orders/{email['number']}/cancel", headers=headers)

        def numbers(**params: str) -> list[str]:
            page = client.get(
                "/api/v1/orders", params={"customer_code": customer.code, **params}, headers=headers
            )
            return [order["number"] for order in page.json()["items"]]

        assert numbers(status="cancelled") == [email["number"]]
        assert numbers(channel="phone") == [phone["number"]]
        assert numbers(q="riv-9") == [phone["number"]]
        assert set(numbers(q="rivage")) == {phone["number"], email["number"]}

    def test_bad_filters_are_located(self, client: TestClient, session: Session) -> None:
        answer = client.get(
            "/api/v1/orders", params={"status": "lost", "cursor": "%%%"}, headers=auth_headers(session)
        )
        assert answer.status_code == 422
        assert ["query", "status"] in [e["loc"] for e in answer.json()["errors"]]


class TestCancelOrder:
    def test_cancels_and_releases_the_reserved_stock(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session)
        customer, product = make_customer(session), make_product(session, stock="3")
        order = capture(client, headers, customer.code, product.code)
        cancelled = client.post(f"/api/v1/orders/{order['number']}/cancel", headers=headers)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        session.refresh(product)
        assert product.reserved_quantity == 0

    def test_warehouse_may_not_cancel(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        order = capture(client, auth_headers(session), customer.code, product.code)
        answer = client.post(
            f"/api/v1/orders/{order['number']}/cancel", headers=auth_headers(session, role="warehouse")
        )
        assert answer.status_code == 403


class TestSearchText:
    def test_percent_and_underscore_are_searched_as_themselves(
        self, client: TestClient, session: Session
    ) -> None:
        headers = auth_headers(session)
        customer, product = make_customer(session), make_product(session)
        plain = capture(client, headers, customer.code, product.code, customer_reference="PO-100")
        special = capture(client, headers, customer.code, product.code, customer_reference="PO_100%")
        found = client.get(
            "/api/v1/orders", params={"q": "_100%", "customer_code": customer.code}, headers=headers
        )
        assert [o["number"] for o in found.json()["items"]] == [special["number"]]
        assert plain["number"] not in [o["number"] for o in found.json()["items"]]
