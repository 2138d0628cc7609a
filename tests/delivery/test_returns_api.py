"""Recording returns through the API: what may come back, stock, and the deferred credit note."""

import re
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog.models import Customer, Product, StockMovement
from app.invoicing.models import DeferredDocument
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, fulfilment_state, order_of, ship, stock_of


def record(client: TestClient, headers: dict[str, str], customer: Customer, *lines: Any, **extra: Any) -> Any:
    body = {"customer_code": customer.code, "lines": list(lines), **extra}
    return client.post("/api/v1/returns", json=body, headers=headers)


def line(product: Product, quantity: Any, **extra: Any) -> dict[str, Any]:
    return {"product_code": product.code, "quantity": quantity, **extra}


class TestReturnAgainstADeliveryNote:
    def test_credits_what_came_back_at_the_delivered_prices(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="10")
        book = make_product(session, price="20.00", vat_rate="5.5", includes_vat=True, stock="50")
        number = order_of(session, customer, (book, 5))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        # A later price import changes nothing to what was invoiced, hence to what is credited.
        session.execute(update(Product).where(Product.id == book.id).values(unit_price=Decimal("25.00")))
        session.execute(update(Customer).where(Customer.id == customer.id).values(discount_percent=0))

        answer = record(
            client,
            auth_headers(session, role="rep"),
            customer,
            line(book, 2, reason="unsold"),
            delivery_note_number=note["number"],
        )

        assert answer.status_code == 201, answer.text
        goods_return = answer.json()
        assert re.fullmatch(r"RET-\d{4}-\d{6}", goods_return["number"])
        assert goods_return["customer_code"] == customer.code
        assert goods_return["delivery_note_number"] == note["number"]
        assert goods_return["warnings"] == []
        assert [
            (r["product_code"], r["quantity"], r["reason"], r["delivery_note_number"])
            for r in goods_return["lines"]
        ] == [(book.code, 2, "unsold", note["number"])]
        credit = goods_return["credit_note"]
        assert re.fullmatch(r"DC-\d{4}-\d{6}", credit["reference"])
        assert credit["kind"] == "credit_note" and credit["status"] == "pending"
        assert credit["delivery_note_number"] == note["number"] and credit["order_number"] == number
        assert (
            credit["invoice_reference"].startswith("DI-")
            and credit["return_number"] == goods_return["number"]
        )
        (credited,) = credit["lines"]
        assert (credited["unit_price"], credited["customer_discount_percent"], credited["vat_rate"]) == (
            "20.00",
            "10",
            "5.5",
        )
        assert credited["line_amount"] == "36.00"  # 2 x 20.00 less 10 %
        assert credit["totals"] == {
            "net": "34.12",
            "vat": "1.88",
            "gross": "36.00",
            "vat_breakdown": [{"rate": "5.5", "base": "34.12", "amount": "1.88"}],
        }

    def test_returned_goods_go_back_to_stock(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="10")
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 4))
        )
        answer = record(
            client, auth_headers(session), customer, line(product, 3), delivery_note_number=note["number"]
        )
        assert answer.status_code == 201, answer.text
        assert stock_of(session, product) == (Decimal(9), Decimal(0))

    def test_no_more_than_delivered_less_already_returned(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 4))
        )
        headers = auth_headers(session)
        first = record(client, headers, customer, line(product, 3), delivery_note_number=note["number"])
        assert first.status_code == 201
        before = fulfilment_state(session)

        answer = record(client, headers, customer, line(product, 2), delivery_note_number=note["number"])

        problem = assert_problem(answer, 422, ["body", "lines", 0, "quantity"])
        assert "at most 1" in problem["errors"][0]["msg"]
        assert fulfilment_state(session) == before

    def test_lines_of_one_product_add_up(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 4))
        )
        answer = record(
            client,
            auth_headers(session),
            customer,
            line(product, 3),
            line(product, 2),
            delivery_note_number=note["number"],
        )
        assert_problem(answer, 422, ["body", "lines", 1, "quantity"])

    def test_a_product_not_on_the_note_is_refused(self, client: TestClient, session: Session) -> None:
        customer, shipped, other = make_customer(session), make_product(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (shipped, 1))
        )
        answer = record(
            client, auth_headers(session), customer, line(other, 1), delivery_note_number=note["number"]
        )
        problem = assert_problem(answer, 422, ["body", "lines", 0, "quantity"])
        assert "not on delivery note" in problem["errors"][0]["msg"]

    def test_another_customers_note_is_refused(self, client: TestClient, session: Session) -> None:
        ours, theirs, product = make_customer(session), make_customer(session), make_product(session)
        note = ship(client, auth_headers(session, role="warehouse"), order_of(session, theirs, (product, 1)))
        answer = record(
            client, auth_headers(session), ours, line(product, 1), delivery_note_number=note["number"]
        )
        assert_problem(answer, 422, ["body", "delivery_note_number"])

    def test_a_void_note_takes_no_returns(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))
        client.post(f"/api/v1/delivery-notes/{note['number']}/void", headers=headers)
        answer = record(
            client, auth_headers(session), customer, line(product, 1), delivery_note_number=note["number"]
        )
        assert_problem(answer, 422, ["body", "delivery_note_number"])


class TestReturnWithoutANote:
    def test_goes_back_against_the_customers_deliveries_newest_first(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00")
        headers = auth_headers(session, role="warehouse")
        older = ship(client, headers, order_of(session, customer, (product, 2)))
        session.execute(update(Product).where(Product.id == product.id).values(unit_price=Decimal("12.00")))
        newer = ship(client, headers, order_of(session, customer, (product, 2)))

        answer = record(client, auth_headers(session), customer, line(product, 3))

        assert answer.status_code == 201, answer.text
        goods_return = answer.json()
        assert [(r["quantity"], r["delivery_note_number"]) for r in goods_return["lines"]] == [
            (2, newer["number"]),
            (1, older["number"]),
        ]
        assert goods_return["delivery_note_number"] is None
        # The credit note is bound to what the goods went back against, not to the return's header.
        credit_note = goods_return["credit_note"]
        assert credit_note["delivery_note_number"] == newer["number"]
        assert credit_note["invoice_reference"] is not None
        assert credit_note["totals"]["net"] == "34.00"  # 2 x 12.00 + 1 x 10.00

    def test_no_more_than_delivered_overall(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 2)))
        before = fulfilment_state(session)
        answer = record(client, auth_headers(session), customer, line(product, 3))
        problem = assert_problem(answer, 422, ["body", "lines", 0, "quantity"])
        assert problem["type"] == "/problems/return-exceeds-delivery"
        assert fulfilment_state(session) == before

    def test_goods_carnet_never_delivered_are_accepted_with_a_warning(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="5")
        product = make_product(session, price="8.00", vat_rate="20", stock="0")

        answer = record(client, auth_headers(session), customer, {"gtin": product.gtin, "quantity": 2})

        assert answer.status_code == 201, answer.text
        goods_return = answer.json()
        assert [w["code"] for w in goods_return["warnings"]] == ["not_delivered_by_carnet"]
        assert goods_return["lines"][0]["delivery_note_number"] is None
        credit = goods_return["credit_note"]
        assert credit["lines"][0]["unit_price"] == "8.00"
        assert credit["totals"]["net"] == "15.20"  # 2 x 8.00 less the customer's 5 %
        assert (credit["invoice_reference"], credit["corrected_erp_invoice"]) == (None, None)
        assert stock_of(session, product)[0] == Decimal(2)

    def test_goods_billed_before_the_outage_name_the_erp_invoice_their_credit_note_corrects(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="8.00", vat_rate="20")

        answer = client.post(
            "/api/v1/returns",
            json={
                "customer_code": customer.code,
                "invoice_reference": "F2026-00841",
                "lines": [{"product_code": product.code, "quantity": 1}],
            },
            headers=auth_headers(session),
        )

        assert answer.status_code == 201, answer.text
        goods_return = answer.json()
        assert goods_return["invoice_reference"] == "F2026-00841"
        assert "corrects ERP invoice F2026-00841" in goods_return["warnings"][0]["detail"]
        assert goods_return["credit_note"]["corrected_erp_invoice"] == "F2026-00841"

    def test_an_erp_invoice_number_must_be_one_the_erp_accepts(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        answer = client.post(
            "/api/v1/returns",
            json={
                "customer_code": customer.code,
                "invoice_reference": "F 2026 841",
                "lines": [{"product_code": product.code, "quantity": 1}],
            },
            headers=auth_headers(session),
        )
        assert_problem(answer, 422, ["body", "invoice_reference"])


class TestReturnRefusals:
    def test_unknown_customer_and_products_are_located(self, client: TestClient, session: Session) -> None:
        answer = client.post(
            "/api/v1/returns",
            json={"customer_code": "NOPE", "lines": [{"product_code": "NOPE", "quantity": 1}]},
            headers=auth_headers(session),
        )
        assert_problem(answer, 422, ["body", "customer_code"])
        customer = make_customer(session)
        answer = record(client, auth_headers(session), customer, {"product_code": "NOPE", "quantity": 1})
        assert_problem(answer, 422, ["body", "lines", 0, "product_code"])

    def test_a_line_must_name_a_product_and_a_positive_quantity(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        answer = record(client, auth_headers(session), customer, {"quantity": 1}, line(product, -1))
        assert_problem(answer, 422, ["body", "lines", 0], ["body", "lines", 1, "quantity"])

    def test_a_credit_note_too_large_to_store_is_refused_and_nothing_is_kept(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="99999999.9999", stock="0")
        answer = record(client, auth_headers(session), customer, line(product, 999_999))
        assert_problem(answer, 422, ["body", "lines"])
        assert stock_of(session, product)[0] == Decimal(0)

    def test_the_warehouse_does_not_record_returns(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        answer = record(client, auth_headers(session, role="warehouse"), customer, line(product, 1))
        assert_problem(answer, 403)

    def test_a_return_can_be_read_back_with_its_credit_note(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        created = record(client, auth_headers(session), customer, line(product, 1)).json()
        read = client.get(f"/api/v1/returns/{created['number']}", headers=auth_headers(session))
        assert read.status_code == 200
        assert read.json() == created


class TestReturnsInSeveralGoes:
    def test_credits_add_up_to_what_was_invoiced_whatever_the_rounding(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session)
        product = make_product(session, price="0.335", vat_rate="20", stock="50")
        number = order_of(session, customer, (product, 3))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        invoiced = Decimal(note["lines"][0]["line_amount"])
        assert invoiced == Decimal("1.01")
        credited = []
        for _ in range(3):
            answer = record(
                client,
                auth_headers(session, role="rep"),
                customer,
                line(product, 1),
                delivery_note_number=note["number"],
            )
            assert answer.status_code == 201, answer.text
            credited.append(Decimal(answer.json()["credit_note"]["lines"][0]["line_amount"]))
        assert credited == [Decimal("0.34"), Decimal("0.33"), Decimal("0.34")]
        assert sum(credited) == invoiced


class TestWaysOut:
    def test_a_return_cancelled_before_replay_takes_the_goods_out_again_and_voids_its_credit_note(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00", stock="10")
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 4))
        )
        rep = auth_headers(session)
        recorded = record(client, rep, customer, line(product, 3)).json()
        assert stock_of(session, product)[0] == Decimal(6 + 3)

        answer = client.post(
            f"/api/v1/returns/{recorded['number']}/cancel", json={"reason": "keyed twice"}, headers=rep
        )

        assert answer.status_code == 200, answer.text
        cancelled = answer.json()
        assert (cancelled["cancel_reason"], cancelled["cancelled_at"] is not None) == ("keyed twice", True)
        credit_note = cancelled["credit_note"]
        assert (credit_note["status"], credit_note["void_reason"]) == ("void", "keyed twice")
        assert credit_note["reference"] == recorded["credit_note"]["reference"]  # kept, not deleted
        assert stock_of(session, product)[0] == Decimal(6)
        # What came back no longer counts: the four delivered may come back again.
        again = record(client, rep, customer, line(product, 4), delivery_note_number=note["number"])
        assert again.status_code == 201, again.text
        twice = client.post(f"/api/v1/returns/{recorded['number']}/cancel", json={"reason": "x"}, headers=rep)
        assert twice.status_code == 409

    def test_a_return_whose_credit_note_went_to_the_erp_cannot_be_cancelled(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="10")
        recorded = record(client, auth_headers(session), customer, line(product, 1)).json()
        session.execute(
            update(DeferredDocument)
            .where(DeferredDocument.reference == recorded["credit_note"]["reference"])
            .values(status="in_replay")
        )
        answer = client.post(
            f"/api/v1/returns/{recorded['number']}/cancel",
            json={"reason": "late"},
            headers=auth_headers(session),
        )
        assert assert_problem(answer, 409)["type"] == "/problems/credit-note-not-pending"

    def test_the_same_goods_keyed_twice_are_flagged_as_a_possible_duplicate(
        self, client: TestClient, session: Session
    ) -> None:
        customer, book, pen = make_customer(session), make_product(session), make_product(session)
        rep = auth_headers(session)
        first = record(client, rep, customer, line(book, 2), line(pen, 1)).json()
        assert "possible_duplicate" not in [w["code"] for w in first["warnings"]]

        second = record(client, rep, customer, line(pen, 1), line(book, 2)).json()
        duplicate = next(w for w in second["warnings"] if w["code"] == "possible_duplicate")
        assert first["number"] in duplicate["detail"]
        different = record(client, rep, customer, line(book, 1)).json()
        assert "possible_duplicate" not in [w["code"] for w in different["warnings"]]

    def test_a_retried_return_with_the_same_idempotency_key_is_one_return(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, stock="0")
        rep = {**auth_headers(session), "Idempotency-Key": "ret-7f3a"}
        body = {"customer_code": customer.code, "lines": [line(product, 2)]}
        first = client.post("/api/v1/returns", json=body, headers=rep)
        retry = client.post("/api/v1/returns", json=body, headers=rep)
        assert (first.status_code, retry.status_code) == (201, 201)
        assert retry.json()["number"] == first.json()["number"]
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert stock_of(session, product)[0] == Decimal(2)


class TestStockCorrection:
    def test_a_warehouse_count_sets_the_stock_and_is_recorded_as_a_movement(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session, stock="12")
        answer = client.post(
            "/api/v1/stock-corrections",
            json={"product_code": product.code, "counted": 9, "reason": "3 damaged in the rack"},
            headers=auth_headers(session, role="warehouse"),
        )
        assert answer.status_code == 201, answer.text
        assert {k: answer.json()[k] for k in ("counted", "previous", "difference")} == {
            "counted": 9,
            "previous": 12,
            "difference": -3,
        }
        session.expire_all()
        assert stock_of(session, product)[0] == Decimal(9)
        [movement] = session.execute(
            select(StockMovement).where(StockMovement.product_id == product.id)
        ).scalars()
        assert (movement.kind, movement.quantity, movement.reason) == (
            "count",
            Decimal(-3),
            "3 damaged in the rack",
        )

    def test_only_the_warehouse_counts_and_whole_units_stay_whole(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session, stock="12")
        body = {"product_code": product.code, "counted": 9, "reason": "count"}
        assert (
            client.post("/api/v1/stock-corrections", json=body, headers=auth_headers(session)).status_code
            == 403
        )
        half = {**body, "counted": "8.5"}
        answer = client.post(
            "/api/v1/stock-corrections", json=half, headers=auth_headers(session, role="warehouse")
        )
        assert_problem(answer, 422, ["body", "counted"])
