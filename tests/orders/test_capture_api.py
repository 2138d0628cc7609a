"""Capturing orders through the API: numbering, pricing, warnings, refusals, idempotency."""

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer, Product
from app.idempotency.models import IdempotencyRecord
from app.orders.models import SaleOrder, SaleOrderLine
from tests.builders import auth_headers, make_customer, make_product


def order_body(customer: Customer, *lines: tuple[Product, Any], **extra: Any) -> dict[str, Any]:
    return {
        "customer_code": customer.code,
        "channel": "phone",
        "lines": [{"product_code": p.code, "quantity": q} for p, q in lines],
        **extra,
    }


def count_orders(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SaleOrder)).scalar_one()


class TestCaptureOrder:
    def test_returns_a_numbered_order_with_totals(self, client: TestClient, session: Session) -> None:
        customer = make_customer(session, discount_percent="10")
        book = make_product(session, price="20.00", vat_rate="5.5", includes_vat=True, price_locked=True)
        radio = make_product(session, price="49.90", vat_rate="20")
        answer = client.post(
            "/api/v1/orders",
            json=order_body(customer, (book, 3), (radio, 1), customer_reference="PO-778"),
            headers=auth_headers(session),
        )
        assert answer.status_code == 201, answer.text
        order = answer.json()
        assert order["number"].startswith("CMD-20") and len(order["number"]) == len("CMD-2026-000001")
        assert order["status"] == "captured"
        assert order["customer_reference"] == "PO-778"
        assert [line["line_no"] for line in order["lines"]] == [1, 2]
        assert order["lines"][0]["line_amount"] == "54.00"  # 3 x 20.00 less 10 %
        assert order["lines"][1]["net_amount"] == "44.91"  # 49.90 less 10 %
        assert order["totals"] == {
            "net": "96.09",
            "vat": "11.80",
            "gross": "107.89",
            "vat_breakdown": [
                {"rate": "5.5", "base": "51.18", "amount": "2.82"},
                {"rate": "20", "base": "44.91", "amount": "8.98"},
            ],
        }
        assert order["warnings"] == []

    def test_totals_add_up(self, client: TestClient, session: Session) -> None:
        customer = make_customer(session)
        products = [
            make_product(session, price=p, vat_rate=r, includes_vat=i)
            for p, r, i in [("9.99", "20", False), ("7.10", "5.5", True), ("0.33", "20", False)]
        ]
        order = client.post(
            "/api/v1/orders",
            json=order_body(customer, *[(p, 7) for p in products]),
            headers=auth_headers(session),
        ).json()
        totals = order["totals"]
        assert Decimal(totals["gross"]) == Decimal(totals["net"]) + Decimal(totals["vat"])
        assert sum(Decimal(v["base"]) for v in totals["vat_breakdown"]) == Decimal(totals["net"])

    def test_numbers_follow_each_other(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session)
        numbers = [
            client.post("/api/v1/orders", json=order_body(customer, (product, 1)), headers=headers).json()[
                "number"
            ]
            for _ in range(3)
        ]
        sequence = [int(n.rsplit("-", 1)[1]) for n in numbers]
        assert sequence == [sequence[0], sequence[0] + 1, sequence[0] + 2]

    def test_accepts_a_line_by_gtin(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "email",
            "lines": [{"gtin": product.gtin, "quantity": 2}],
        }
        order = client.post("/api/v1/orders", json=body, headers=auth_headers(session)).json()
        assert order["lines"][0]["product_code"] == product.code
        assert order["channel"] == "email"

    def test_records_who_captured_it(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        order = client.post(
            "/api/v1/orders", json=order_body(customer, (product, 1)), headers=auth_headers(session)
        ).json()
        assert order["captured_by"].startswith("user:")

    def test_uses_a_shipping_address_of_the_customer(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session, addresses=2), make_product(session)
        order = client.post(
            "/api/v1/orders",
            json=order_body(customer, (product, 1), shipping_address="DP2"),
            headers=auth_headers(session),
        ).json()
        assert order["shipping_address"]["city"] == "Lyon"
        assert order["shipping_address"]["code"] == "DP2"

    def test_price_override_is_used_and_flagged(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00")
        body = order_body(customer)
        body["lines"] = [{"product_code": product.code, "quantity": 2, "unit_price": "8.50"}]
        order = client.post("/api/v1/orders", json=body, headers=auth_headers(session)).json()
        assert order["lines"][0]["line_amount"] == "17.00"
        assert [w["code"] for w in order["warnings"]] == ["price_override"]

    def test_reserves_the_ordered_quantity(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="10")
        client.post("/api/v1/orders", json=order_body(customer, (product, 4)), headers=auth_headers(session))
        session.refresh(product)
        assert product.reserved_quantity == 4


class TestWarnings:
    def test_stock_shortfall_when_open_orders_already_take_the_stock(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="5")
        headers = auth_headers(session)
        first = client.post("/api/v1/orders", json=order_body(customer, (product, 4)), headers=headers).json()
        second = client.post(
            "/api/v1/orders", json=order_body(customer, (product, 2)), headers=headers
        ).json()
        assert first["warnings"] == []
        assert [w["code"] for w in second["warnings"]] == ["stock_shortfall"]
        assert second["warnings"][0]["line_no"] == 1

    def test_possible_duplicate_names_the_other_order(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session)
        first = client.post(
            "/api/v1/orders",
            json=order_body(customer, (product, 1), customer_reference="BC-12"),
            headers=headers,
        ).json()
        second = client.post(
            "/api/v1/orders",
            json=order_body(customer, (product, 1), customer_reference="BC-12"),
            headers=headers,
        ).json()
        warning = second["warnings"][0]
        assert warning["code"] == "possible_duplicate"
        assert warning["orders"] == [first["number"]]

    def test_same_items_by_another_channel_is_a_possible_duplicate(
        self, client: TestClient, session: Session
    ) -> None:
        customer, book, radio = make_customer(session), make_product(session), make_product(session)
        headers = auth_headers(session)
        phone = client.post(
            "/api/v1/orders", json=order_body(customer, (book, 3), (radio, 1)), headers=headers
        ).json()
        later = order_body(customer, (radio, 1), (book, 3), channel="edi")
        edi = client.post("/api/v1/orders", json=later, headers=headers).json()
        assert edi["warnings"][0]["code"] == "possible_duplicate"
        assert edi["warnings"][0]["orders"] == [phone["number"]]
        assert "phone" in edi["warnings"][0]["detail"]

    def test_other_quantities_are_not_a_duplicate(self, client: TestClient, session: Session) -> None:
        customer, book = make_customer(session), make_product(session)
        headers = auth_headers(session)
        client.post("/api/v1/orders", json=order_body(customer, (book, 3)), headers=headers)
        other = client.post("/api/v1/orders", json=order_body(customer, (book, 4)), headers=headers).json()
        assert other["warnings"] == []

    def test_no_duplicate_warning_for_another_customer(self, client: TestClient, session: Session) -> None:
        product = make_product(session)
        headers = auth_headers(session)
        for customer in (make_customer(session), make_customer(session)):
            order = client.post(
                "/api/v1/orders",
                json=order_body(customer, (product, 1), customer_reference="X"),
                headers=headers,
            ).json()
            assert order["warnings"] == []


class TestRefusals:
    def refused(
        self,
        client: TestClient,
        session: Session,
        body: Any,
        *,
        status: int = 422,
        content: bytes | None = None,
    ) -> dict[str, Any]:
        before = count_orders(session)
        headers = {**auth_headers(session), "Content-Type": "application/json"}
        if content is not None:
            answer = client.post("/api/v1/orders", content=content, headers=headers)
        else:
            answer = client.post("/api/v1/orders", json=body, headers=headers)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert count_orders(session) == before
        problem = answer.json()
        assert problem["status"] == status and problem["title"] and problem["type"]
        return problem

    def test_blocked_customer(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session, blocked=True), make_product(session)
        problem = self.refused(client, session, order_body(customer, (product, 1)))
        assert problem["type"] == "/problems/customer-blocked"

    def test_unknown_customer(self, client: TestClient, session: Session) -> None:
        product = make_product(session)
        body = {
            "customer_code": "NOPE",
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        problem = self.refused(client, session, body)
        assert problem["errors"] == [{"loc": ["body", "customer_code"], "msg": "unknown customer 'NOPE'"}]

    def test_unknown_products_are_all_located(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        body = order_body(customer, (product, 1))
        body["lines"] += [{"product_code": "GHOST", "quantity": 1}, {"gtin": "4006381333931", "quantity": 1}]
        problem = self.refused(client, session, body)
        assert [e["loc"] for e in problem["errors"]] == [
            ["body", "lines", 1, "product_code"],
            ["body", "lines", 2, "gtin"],
        ]

    @pytest.mark.parametrize("quantity", [0, -3, "abc", None, 10_000_001])
    def test_bad_quantity(self, client: TestClient, session: Session, quantity: Any) -> None:
        customer, product = make_customer(session), make_product(session)
        problem = self.refused(client, session, order_body(customer, (product, quantity)))
        assert problem["errors"][0]["loc"] == ["body", "lines", 0, "quantity"]

    def test_fractional_quantity_of_a_product_sold_in_units(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        problem = self.refused(client, session, order_body(customer, (product, 1.5)))
        assert problem["errors"][0]["loc"] == ["body", "lines", 0, "quantity"]

    def test_fractional_quantity_is_fine_for_a_product_sold_by_the_metre(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, decimals=True, price="2.00")
        answer = client.post(
            "/api/v1/orders", json=order_body(customer, (product, "2.5")), headers=auth_headers(session)
        )
        assert answer.status_code == 201
        assert answer.json()["lines"][0]["quantity"] == "2.5"
        assert answer.json()["lines"][0]["line_amount"] == "5.00"

    def test_a_line_amount_too_large_to_store_is_located(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, price="99999999.9999")
        problem = self.refused(client, session, order_body(customer, (product, 999_999)))
        assert problem["errors"][0]["loc"] == ["body", "lines", 0, "quantity"]

    def test_an_order_total_too_large_to_store_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, price="99999999.9999")
        problem = self.refused(client, session, order_body(customer, (product, 60), (product, 60)))
        assert problem["errors"][0]["loc"] == ["body", "lines"]

    def test_override_of_a_fixed_price(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, price_locked=True)
        body = order_body(customer)
        body["lines"] = [{"product_code": product.code, "quantity": 1, "unit_price": "1.00"}]
        problem = self.refused(client, session, body)
        assert problem["errors"][0]["loc"] == ["body", "lines", 0, "unit_price"]

    def test_malformed_json(self, client: TestClient, session: Session) -> None:
        problem = self.refused(client, session, None, content=b'{"customer_code": "C1", "lines": [')
        assert "JSON" in problem["errors"][0]["msg"]

    def test_wrong_types_and_unknown_fields(self, client: TestClient, session: Session) -> None:
        problem = self.refused(
            client, session, {"customer_code": 12, "channel": "fax", "lines": "many", "colour": "red"}
        )
        located = {tuple(e["loc"]) for e in problem["errors"]}
        assert {
            ("body", "customer_code"),
            ("body", "channel"),
            ("body", "lines"),
            ("body", "colour"),
        } <= located

    def test_no_lines(self, client: TestClient, session: Session) -> None:
        customer = make_customer(session)
        self.refused(client, session, {"customer_code": customer.code, "channel": "phone", "lines": []})

    def test_unknown_shipping_address(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        problem = self.refused(client, session, order_body(customer, (product, 1), shipping_address="MARS"))
        assert problem["errors"][0]["loc"] == ["body", "shipping_address"]

    def test_oversized_body(self, client: TestClient, session: Session) -> None:
        self.refused(client, session, None, status=413, content=b'{"notes": "' + b"x" * 2_000_000 + b'"}')

    def test_nothing_is_left_behind_by_a_refused_order(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="10")
        body = order_body(customer, (product, 2))
        body["lines"].append({"product_code": "GHOST", "quantity": 1})
        self.refused(client, session, body)
        session.refresh(product)
        assert product.reserved_quantity == 0
        assert session.execute(select(func.count()).select_from(SaleOrderLine)).scalar_one() == 0


class TestIdempotency:
    def test_same_key_and_body_return_the_first_answer(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = {**auth_headers(session), "Idempotency-Key": "retry-1"}
        first = client.post("/api/v1/orders", json=order_body(customer, (product, 1)), headers=headers)
        again = client.post("/api/v1/orders", json=order_body(customer, (product, 1)), headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert count_orders(session) == 1

    def test_same_key_with_another_body_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = {**auth_headers(session), "Idempotency-Key": "retry-2"}
        client.post("/api/v1/orders", json=order_body(customer, (product, 1)), headers=headers)
        answer = client.post("/api/v1/orders", json=order_body(customer, (product, 2)), headers=headers)
        assert answer.status_code == 409
        assert count_orders(session) == 1

    def test_keys_are_scoped_to_the_caller(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        for _ in range(2):
            client.post(
                "/api/v1/orders",
                json=order_body(customer, (product, 1)),
                headers={**auth_headers(session), "Idempotency-Key": "shared"},
            )
        assert count_orders(session) == 2
        assert session.execute(select(func.count()).select_from(IdempotencyRecord)).scalar_one() == 2

    def test_a_refused_request_does_not_burn_the_key(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = {**auth_headers(session), "Idempotency-Key": "k"}
        bad = order_body(customer, (product, 1))
        bad["customer_code"] = "NOPE"
        assert client.post("/api/v1/orders", json=bad, headers=headers).status_code == 422
        good = client.post("/api/v1/orders", json=order_body(customer, (product, 1)), headers=headers)
        assert good.status_code == 201
