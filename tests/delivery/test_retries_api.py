"""Retried shipments and returns: with an Idempotency-Key, a client that lost the answer and sends
again gets the first answer, and no second box ships, no second credit note is issued."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import fulfilment_state, order_of, ship


class TestRetriedShipment:
    def test_the_same_key_ships_once_and_answers_the_same_note(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="50")
        number = order_of(session, customer, (product, 10))
        headers = {**auth_headers(session, role="warehouse"), "Idempotency-Key": "box-1"}
        body = {"lines": [{"line_no": 1, "quantity": 4}]}
        first = client.post(f"/api/v1/orders/{number}/deliveries", json=body, headers=headers)
        state = fulfilment_state(session)
        again = client.post(f"/api/v1/orders/{number}/deliveries", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert fulfilment_state(session) == state

    def test_the_same_key_with_other_lines_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="50")
        number = order_of(session, customer, (product, 10))
        headers = {**auth_headers(session, role="warehouse"), "Idempotency-Key": "box-2"}
        client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 1, "quantity": 4}]},
            headers=headers,
        )
        state = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 1, "quantity": 5}]},
            headers=headers,
        )
        assert answer.status_code == 409
        assert fulfilment_state(session) == state

    def test_a_key_belongs_to_one_order(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="50")
        first, second = order_of(session, customer, (product, 2)), order_of(session, customer, (product, 3))
        headers = {**auth_headers(session, role="warehouse"), "Idempotency-Key": "same"}
        notes = [
            client.post(f"/api/v1/orders/{n}/deliveries", headers=headers).json()["number"]
            for n in (first, second)
        ]
        assert notes[0] != notes[1]


class TestRetriedReturn:
    def test_the_same_key_records_one_return_and_one_credit_note(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="50")
        number = order_of(session, customer, (product, 6))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        headers = {**auth_headers(session, role="rep"), "Idempotency-Key": "ret-1"}
        body = {
            "customer_code": customer.code,
            "delivery_note_number": note["number"],
            "lines": [{"product_code": product.code, "quantity": 2, "reason": "unsold"}],
        }
        first = client.post("/api/v1/returns", json=body, headers=headers)
        state = fulfilment_state(session)
        again = client.post("/api/v1/returns", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert fulfilment_state(session) == state
