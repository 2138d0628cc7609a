"""Shipping an order through the API: delivery notes, stock, reservations, backorders and refusals."""

import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.catalog.models import Product
from app.orders.models import SaleOrder
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, fulfilment_state, order_of, ship, stock_of


class TestShipOrder:
    def test_ships_what_stock_allows_and_answers_the_numbered_note(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="10")
        book = make_product(session, price="20.00", vat_rate="5.5", includes_vat=True, stock="50")
        radio = make_product(session, price="49.90", vat_rate="20", stock="10")
        number = order_of(session, customer, (book, 3), (radio, 1), customer_reference="PO-778")

        note = ship(client, auth_headers(session, role="warehouse"), number)

        assert re.fullmatch(r"BL-\d{4}-\d{6}", note["number"])
        assert note["status"] == "issued"
        assert note["order_number"] == number and note["order_status"] == "shipped"
        assert note["customer_code"] == customer.code and note["customer_reference"] == "PO-778"
        assert [
            (line["order_line_no"], line["quantity"], line["backordered_quantity"]) for line in note["lines"]
        ] == [
            (1, 3, 0),
            (2, 1, 0),
        ]
        # The same figures as the order: one delivery of everything.
        assert note["totals"] == {
            "net": "96.09",
            "vat": "11.80",
            "gross": "107.89",
            "vat_breakdown": [
                {"rate": "5.5", "base": "51.18", "amount": "2.82"},
                {"rate": "20", "base": "44.91", "amount": "8.98"},
            ],
        }
        assert stock_of(session, book) == (Decimal(47), Decimal(0))
        assert stock_of(session, radio) == (Decimal(9), Decimal(0))

    def test_admin_may_ship_too(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        assert ship(client, auth_headers(session, role="admin"), number)["order_status"] == "shipped"

    def test_partial_delivery_leaves_the_rest_as_a_backorder(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session)
        first, second = make_product(session, stock="100"), make_product(session, stock="100")
        number = order_of(session, customer, (first, 5), (second, 4))
        headers = auth_headers(session, role="warehouse")

        note = ship(client, headers, number, [(1, 2)])

        assert [
            (line["order_line_no"], line["quantity"], line["backordered_quantity"]) for line in note["lines"]
        ] == [(1, 2, 3)]
        order = client.get(f"/api/v1/orders/{number}", headers=auth_headers(session)).json()
        assert order["status"] == "partially_shipped"
        assert [(line["shipped_quantity"], line["backordered_quantity"]) for line in order["lines"]] == [
            (2, 3),
            (0, 4),
        ]
        assert stock_of(session, first) == (Decimal(98), Decimal(3))
        assert stock_of(session, second) == (Decimal(100), Decimal(4))

    def test_without_lines_ships_what_stock_allows_and_backorders_the_rest(
        self, client: TestClient, session: Session
    ) -> None:
        customer, scarce = make_customer(session), make_product(session, stock="3")
        number = order_of(session, customer, (scarce, 5))

        note = ship(client, auth_headers(session, role="warehouse"), number)

        assert [(line["quantity"], line["backordered_quantity"]) for line in note["lines"]] == [(3, 2)]
        assert note["order_status"] == "partially_shipped"
        assert stock_of(session, scarce) == (Decimal(0), Decimal(2))

    def test_two_lines_of_one_product_share_its_stock(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="4")
        number = order_of(session, customer, (product, 3), (product, 3))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        assert [(line["order_line_no"], line["quantity"]) for line in note["lines"]] == [(1, 3), (2, 1)]

    def test_a_backorder_ships_once_stock_is_received(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="1")
        number = order_of(session, customer, (product, 4))
        headers = auth_headers(session, role="warehouse")
        first = ship(client, headers, number)

        receipt = client.post(
            "/api/v1/stock-receipts",
            json={"lines": [{"gtin": product.gtin, "quantity": 10}]},
            headers=headers,
        )
        assert receipt.status_code == 201, receipt.text
        second = ship(client, headers, number)

        assert [line["quantity"] for line in second["lines"]] == [3]
        assert second["order_status"] == "shipped"
        assert int(second["number"][-6:]) == int(first["number"][-6:]) + 1
        assert stock_of(session, product) == (Decimal(7), Decimal(0))

    def test_prices_are_the_order_lines_not_the_current_snapshot(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00")
        number = order_of(session, customer, (product, 2))
        session.execute(update(Product).where(Product.id == product.id).values(unit_price=Decimal("99.00")))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        assert note["lines"][0]["unit_price"] == "10.00"
        assert note["totals"]["net"] == "20.00"

    def test_ships_to_the_order_address_else_the_billing_address(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session, addresses=2), make_product(session)
        to_depot = order_of(session, customer, (product, 1), shipping_address="DP2")
        without_address = make_customer(session, addresses=0)
        to_billing = order_of(session, without_address, (product, 1))
        headers = auth_headers(session, role="warehouse")
        assert ship(client, headers, to_depot)["shipping_address"]["code"] == "DP2"
        assert ship(client, headers, to_billing)["shipping_address"]["city"] == "Paris"

    def test_the_note_can_be_read_back(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1))
        )
        read = client.get(
            f"/api/v1/delivery-notes/{note['number']}", headers=auth_headers(session, role="rep")
        )
        assert read.status_code == 200
        assert read.json() == note


class TestShipRefusals:
    def test_more_than_ordered_is_refused_and_changes_nothing(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 2), (product, 1))
        before = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 2, "quantity": 1}, {"line_no": 1, "quantity": 3}]},
            headers=auth_headers(session, role="warehouse"),
        )
        problem = assert_problem(answer, 422, ["body", "lines", 1, "quantity"])
        assert "only 2 left to ship" in problem["errors"][0]["msg"]
        assert fulfilment_state(session) == before

    def test_more_than_in_stock_is_refused_and_changes_nothing(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="2")
        number = order_of(session, customer, (product, 5))
        before = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 1, "quantity": 3}]},
            headers=auth_headers(session, role="warehouse"),
        )
        problem = assert_problem(answer, 422, ["body", "lines", 0, "quantity"])
        assert problem["type"] == "/problems/insufficient-stock"
        assert "2 in stock" in problem["errors"][0]["msg"]
        assert fulfilment_state(session) == before

    def test_an_unknown_line_is_located(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 7, "quantity": 1}]},
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422, ["body", "lines", 0, "line_no"])

    def test_malformed_lines_are_located(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries",
            json={"lines": [{"line_no": 1, "quantity": 0}, {"line_no": 1, "quantity": 1}]},
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422, ["body", "lines", 0, "quantity"])

    def test_a_cancelled_order_cannot_ship(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        assert (
            client.post(f"/api/v1/orders/{number}/cancel", headers=auth_headers(session)).status_code == 200
        )
        before = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries", headers=auth_headers(session, role="warehouse")
        )
        problem = assert_problem(answer, 409, ["path", "number"])
        assert problem["type"] == "/problems/order-cancelled"
        assert fulfilment_state(session) == before

    def test_an_order_that_needs_review_cannot_ship(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        session.execute(update(SaleOrder).where(SaleOrder.number == number).values(status="needs_review"))
        session.expire_all()
        before = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries", headers=auth_headers(session, role="warehouse")
        )
        assert assert_problem(answer, 409, ["path", "number"])["type"] == "/problems/order-needs-review"
        assert fulfilment_state(session) == before

    def test_an_order_shipped_in_full_has_nothing_left(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        headers = auth_headers(session, role="warehouse")
        ship(client, headers, number)
        answer = client.post(f"/api/v1/orders/{number}/deliveries", headers=headers)
        assert_problem(answer, 409, ["path", "number"])

    def test_nothing_in_stock_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="0")
        number = order_of(session, customer, (product, 1))
        before = fulfilment_state(session)
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries", headers=auth_headers(session, role="warehouse")
        )
        assert assert_problem(answer, 422, ["path", "number"])["type"] == "/problems/nothing-to-ship"
        assert fulfilment_state(session) == before

    def test_an_unknown_order_is_404(self, client: TestClient, session: Session) -> None:
        answer = client.post(
            "/api/v1/orders/CMD-1999-000001/deliveries", headers=auth_headers(session, role="warehouse")
        )
        assert_problem(answer, 404, ["path", "number"])

    def test_a_rep_cannot_ship(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        before = fulfilment_state(session)
        answer = client.post(f"/api/v1/orders/{number}/deliveries", headers=auth_headers(session, role="rep"))
        assert_problem(answer, 403)
        assert fulfilment_state(session) == before

    def test_finance_cannot_ship(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        answer = client.post(
            f"/api/v1/orders/{number}/deliveries", headers=auth_headers(session, role="finance")
        )
        assert_problem(answer, 403)

    def test_cancel_is_refused_once_something_shipped(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 3))
        ship(client, auth_headers(session, role="warehouse"), number, [(1, 1)])
        answer = client.post(f"/api/v1/orders/{number}/cancel", headers=auth_headers(session))
        assert answer.status_code == 409
