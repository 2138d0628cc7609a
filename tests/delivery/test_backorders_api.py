"""Backorders (what is left to ship of partly shipped orders) and the stock receipts that release them."""

from datetime import timedelta
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.orders.models import SaleOrder
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, fulfilment_state, order_of, ship, stock_of


def backorders(client: TestClient, headers: dict[str, str], **params: object) -> list[tuple[str, int, int]]:
    answer = client.get("/api/v1/backorders", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return [(b["order_number"], b["line_no"], b["backordered_quantity"]) for b in answer.json()["items"]]


class TestBackorders:
    def test_lists_what_is_left_of_partly_shipped_orders_oldest_first(
        self, client: TestClient, session: Session
    ) -> None:
        customer, scarce, plenty = (
            make_customer(session),
            make_product(session, stock="1"),
            make_product(session),
        )
        warehouse = auth_headers(session, role="warehouse")
        older = order_of(session, customer, (scarce, 3), (plenty, 2))
        newer = order_of(session, customer, (plenty, 1), (scarce, 2))
        untouched = order_of(session, customer, (scarce, 5))
        ship(client, warehouse, older)  # 1 of 3 scarce, 2 of 2 plenty
        ship(client, warehouse, newer, [(1, 1)])

        listed = backorders(client, auth_headers(session, role="rep"), customer_code=customer.code)

        assert listed == [(older, 1, 2), (newer, 2, 2)]
        assert untouched not in {number for number, _, _ in listed}

    def test_filters_by_product_and_age_and_paginates(self, client: TestClient, session: Session) -> None:
        customer, first, second = make_customer(session), make_product(session), make_product(session)
        warehouse = auth_headers(session, role="warehouse")
        numbers = [order_of(session, customer, (first, 2), (second, 2)) for _ in range(3)]
        for number in numbers:
            ship(client, warehouse, number, [(1, 1)])
        session.execute(
            update(SaleOrder)
            .where(SaleOrder.number == numbers[0])
            .values(created_at=utcnow() - timedelta(days=9))
        )

        assert backorders(client, warehouse, product_code=second.code) == [(n, 2, 2) for n in numbers]
        assert backorders(client, warehouse, customer_code=customer.code, older_than_days=7) == [
            (numbers[0], 1, 1),
            (numbers[0], 2, 2),
        ]
        seen, cursor = [], None
        while True:
            params = {"customer_code": customer.code, "limit": 4, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/backorders", params=params, headers=warehouse).json()
            seen += [(b["order_number"], b["line_no"]) for b in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [(n, line_no) for n in numbers for line_no in (1, 2)]

    def test_bad_filters_are_located(self, client: TestClient, session: Session) -> None:
        answer = client.get(
            "/api/v1/backorders",
            params={"older_than_days": -1},
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422, ["query", "older_than_days"])


class TestStockReceipts:
    def test_adds_to_stock_and_names_the_backorders_now_ready(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="0")
        warehouse = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (product, 3))
        client.post(
            "/api/v1/stock-receipts",
            json={"lines": [{"product_code": product.code, "quantity": 1}]},
            headers=warehouse,
        )
        ship(client, warehouse, number)

        answer = client.post(
            "/api/v1/stock-receipts",
            json={"reference": "BR-4471", "lines": [{"gtin": product.gtin, "quantity": 5}]},
            headers=warehouse,
        )

        assert answer.status_code == 201, answer.text
        receipt = answer.json()
        assert receipt["reference"] == "BR-4471"
        assert receipt["lines"] == [
            {"product_code": product.code, "gtin": product.gtin, "quantity": 5, "stock_on_hand": 5}
        ]
        assert [(b["order_number"], b["backordered_quantity"]) for b in receipt["backorders"]] == [
            (number, 2)
        ]
        assert stock_of(session, product) == (Decimal(5), Decimal(2))

    def test_unknown_products_are_located_and_nothing_is_received(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session)
        before = fulfilment_state(session)
        answer = client.post(
            "/api/v1/stock-receipts",
            json={
                "lines": [
                    {"product_code": product.code, "quantity": 1},
                    {"product_code": "NOPE", "quantity": 1},
                ]
            },
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422, ["body", "lines", 1, "product_code"])
        assert fulfilment_state(session) == before

    def test_whole_units_only_for_products_sold_by_the_unit(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session)
        answer = client.post(
            "/api/v1/stock-receipts",
            json={"lines": [{"product_code": product.code, "quantity": "1.5"}]},
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422, ["body", "lines", 0, "quantity"])

    def test_reps_do_not_receive_stock(self, client: TestClient, session: Session) -> None:
        product = make_product(session)
        answer = client.post(
            "/api/v1/stock-receipts",
            json={"lines": [{"product_code": product.code, "quantity": 1}]},
            headers=auth_headers(session, role="rep"),
        )
        assert_problem(answer, 403)


class TestClosingABackorder:
    def test_the_customer_gives_up_the_rest_of_a_line_its_reservation_is_released(
        self, client: TestClient, session: Session
    ) -> None:
        customer, scarce, plenty = (
            make_customer(session),
            make_product(session, stock="1"),
            make_product(session),
        )
        warehouse = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (scarce, 3), (plenty, 2))
        ship(client, warehouse, number)  # 1 of 3 scarce, 2 of 2 plenty
        assert stock_of(session, scarce) == (Decimal(0), Decimal(2))

        closed = client.post(f"/api/v1/orders/{number}/lines/1/close", headers=auth_headers(session))

        assert closed.status_code == 200, closed.text
        order = closed.json()
        assert order["status"] == "shipped"
        line = order["lines"][0]
        assert (line["shipped_quantity"], line["closed_quantity"], line["backordered_quantity"]) == (1, 2, 0)
        assert stock_of(session, scarce) == (Decimal(0), Decimal(0))  # nothing reserved any more
        assert backorders(client, warehouse, customer_code=customer.code) == []
        # Goods arriving later do not ship to a customer who gave up.
        client.post(
            "/api/v1/stock-receipts",
            json={"lines": [{"product_code": scarce.code, "quantity": 5}]},
            headers=warehouse,
        )
        assert client.post(f"/api/v1/orders/{number}/deliveries", headers=warehouse).status_code == 409

    def test_only_a_backordered_line_can_be_closed(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 2))
        answer = client.post(f"/api/v1/orders/{number}/lines/1/close", headers=auth_headers(session))
        assert assert_problem(answer, 409)["type"] == "/problems/no-backorder"
        missing = client.post(f"/api/v1/orders/{number}/lines/9/close", headers=auth_headers(session))
        assert missing.status_code == 404
