"""Voiding a delivery note: the goods come back, the number stays, the deferred invoice is voided."""

from decimal import Decimal

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.invoicing.models import DeferredDocument
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, fulfilment_state, order_of, ship, stock_of


def void(client: TestClient, headers: dict[str, str], number: str) -> Response:
    return client.post(f"/api/v1/delivery-notes/{number}/void", headers=headers)


class TestVoidDeliveryNote:
    def test_puts_everything_back_and_keeps_the_number(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="10")
        number = order_of(session, customer, (product, 4))
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, number, [(1, 3)])

        answer = void(client, headers, note["number"])

        assert answer.status_code == 200, answer.text
        voided = answer.json()
        assert voided["number"] == note["number"] and voided["status"] == "void"
        assert voided["voided_at"] is not None and voided["order_status"] == "captured"
        assert stock_of(session, product) == (Decimal(10), Decimal(4))
        order = client.get(f"/api/v1/orders/{number}", headers=auth_headers(session)).json()
        assert [(line["shipped_quantity"], line["backordered_quantity"]) for line in order["lines"]] == [
            (0, 0)
        ]
        finance = auth_headers(session, role="finance")
        invoices = client.get(
            "/api/v1/deferred-documents", params={"kind": "invoice"}, headers=finance
        ).json()
        assert [(d["delivery_note_number"], d["status"]) for d in invoices["items"]] == [
            (note["number"], "void")
        ]

    def test_voiding_one_of_two_notes_restores_the_backorder(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 4))
        headers = auth_headers(session, role="warehouse")
        ship(client, headers, number, [(1, 1)])
        second = ship(client, headers, number, [(1, 3)])
        assert second["order_status"] == "shipped"

        voided = void(client, headers, second["number"]).json()

        assert voided["order_status"] == "partially_shipped"
        order = client.get(f"/api/v1/orders/{number}", headers=auth_headers(session)).json()
        assert [(line["shipped_quantity"], line["backordered_quantity"]) for line in order["lines"]] == [
            (1, 3)
        ]

    def test_a_number_is_never_reused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (product, 1))
        first = ship(client, headers, number)
        void(client, headers, first["number"])
        again = ship(client, headers, number)
        assert int(again["number"][-6:]) == int(first["number"][-6:]) + 1

    def test_twice_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))
        void(client, headers, note["number"])
        before = fulfilment_state(session)
        assert_problem(void(client, headers, note["number"]), 409, ["path", "number"])
        assert fulfilment_state(session) == before

    def test_refused_once_the_invoice_left_pending(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))
        session.execute(update(DeferredDocument).values(status="replayed"))
        before = fulfilment_state(session)

        problem = assert_problem(void(client, headers, note["number"]), 409, ["path", "number"])

        assert problem["type"] == "/problems/invoice-not-pending"
        assert fulfilment_state(session) == before

    def test_refused_once_goods_came_back_against_it(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 2)))
        returned = client.post(
            "/api/v1/returns",
            json={
                "customer_code": customer.code,
                "delivery_note_number": note["number"],
                "lines": [{"product_code": product.code, "quantity": 1}],
            },
            headers=auth_headers(session),
        )
        assert returned.status_code == 201
        before = fulfilment_state(session)
        problem = assert_problem(void(client, headers, note["number"]), 409, ["path", "number"])
        assert problem["type"] == "/problems/note-has-returns"
        assert fulfilment_state(session) == before

    def test_unknown_note_and_roles(self, client: TestClient, session: Session) -> None:
        assert_problem(void(client, auth_headers(session, role="warehouse"), "BL-1999-000001"), 404)
        customer, product = make_customer(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1))
        )
        assert_problem(void(client, auth_headers(session, role="rep"), note["number"]), 403)
