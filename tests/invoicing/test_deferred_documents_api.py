"""Deferred invoices and credit notes: issued with every delivery note and return, amounts frozen,
listed for finance with filters, pagination and totals of the whole listed set."""

import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.catalog.models import Customer, Product
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, order_of, ship


def documents(client: TestClient, session: Session, **params: Any) -> dict[str, Any]:
    answer = client.get(
        "/api/v1/deferred-documents", params=params, headers=auth_headers(session, role="finance")
    )
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def return_of(
    client: TestClient, session: Session, customer: Customer, product: Product, quantity: int
) -> Any:
    answer = client.post(
        "/api/v1/returns",
        json={
            "customer_code": customer.code,
            "lines": [{"product_code": product.code, "quantity": quantity}],
        },
        headers=auth_headers(session),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


class TestDeferredInvoice:
    def test_each_delivery_note_has_one_invoice_for_what_it_shipped(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="10")
        book = make_product(session, price="20.00", vat_rate="5.5", includes_vat=True)
        radio = make_product(session, price="49.90", vat_rate="20")
        number = order_of(session, customer, (book, 3), (radio, 2))
        note = ship(client, auth_headers(session, role="warehouse"), number, [(1, 3), (2, 1)])

        (invoice,) = documents(client, session, customer_code=customer.code)["items"]

        assert re.fullmatch(r"DI-\d{4}-\d{6}", invoice["reference"])
        assert invoice["kind"] == "invoice" and invoice["status"] == "pending"
        assert uuid.UUID(invoice["idempotency_key"]).version == 4
        assert invoice["delivery_note_number"] == note["number"] and invoice["order_number"] == number
        assert invoice["return_number"] is None and invoice["invoice_reference"] is None
        assert [
            (line["product_code"], line["quantity"], line["line_amount"]) for line in invoice["lines"]
        ] == [
            (book.code, 3, "54.00"),
            (radio.code, 1, "44.91"),  # 49.90 less the customer's 10 %
        ]
        assert (
            invoice["totals"]
            == note["totals"]
            == {
                "net": "96.09",
                "vat": "11.80",
                "gross": "107.89",
                "vat_breakdown": [
                    {"rate": "5.5", "base": "51.18", "amount": "2.82"},
                    {"rate": "20", "base": "44.91", "amount": "8.98"},
                ],
            }
        )

    def test_amounts_stay_frozen_whatever_is_imported_later(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="10.00", vat_rate="20")
        ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 2)))
        before = documents(client, session, customer_code=customer.code)["items"]

        session.execute(
            update(Product)
            .where(Product.id == product.id)
            .values(unit_price=Decimal("15.00"), vat_rate=Decimal(10))
        )
        session.execute(
            update(Customer).where(Customer.id == customer.id).values(discount_percent=Decimal(50))
        )
        session.expire_all()

        after = documents(client, session, customer_code=customer.code)["items"]
        assert after == before
        assert after[0]["totals"]["gross"] == "24.00"

    def test_the_idempotency_key_never_changes(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1)))
        (listed,) = documents(client, session, customer_code=customer.code)["items"]
        finance = auth_headers(session, role="finance")
        by_id = client.get(f"/api/v1/deferred-documents/{listed['id']}", headers=finance).json()
        by_reference = client.get(f"/api/v1/deferred-documents/{listed['reference']}", headers=finance).json()
        assert by_id == by_reference == listed

    def test_invoices_and_credit_notes_have_separate_gapless_series(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        warehouse = auth_headers(session, role="warehouse")
        for _ in range(2):
            ship(client, warehouse, order_of(session, customer, (product, 2)))
        for _ in range(2):
            return_of(client, session, customer, product, 1)

        items = documents(client, session, customer_code=customer.code)["items"]

        def sequence(prefix: str) -> list[int]:
            return sorted(int(d["reference"][-6:]) for d in items if d["reference"].startswith(prefix))

        invoices, credits = sequence("DI-"), sequence("DC-")
        assert invoices == [invoices[0], invoices[0] + 1]
        assert credits == [credits[0], credits[0] + 1]


class TestListDeferredDocuments:
    def test_filters_and_totals_cover_every_matching_document_not_only_the_page(
        self, client: TestClient, session: Session
    ) -> None:
        customer, other = make_customer(session), make_customer(session)
        product = make_product(session, price="10.00", vat_rate="20")
        warehouse = auth_headers(session, role="warehouse")
        for quantity in (1, 2, 3):
            ship(client, warehouse, order_of(session, customer, (product, quantity)))
        ship(client, warehouse, order_of(session, other, (product, 5)))
        return_of(client, session, customer, product, 2)

        everything = documents(client, session, customer_code=customer.code, limit=2)

        assert len(everything["items"]) == 2 and everything["next_cursor"]
        totals = everything["totals"]
        assert totals["by_kind"] == [
            {"kind": "invoice", "count": 3, "net": "60.00", "vat": "12.00", "gross": "72.00"},
            {"kind": "credit_note", "count": 1, "net": "20.00", "vat": "4.00", "gross": "24.00"},
        ]
        assert (totals["count"], totals["net"], totals["vat"], totals["gross"]) == (
            4,
            "40.00",
            "8.00",
            "48.00",
        )

        credit_notes = documents(client, session, customer_code=customer.code, kind="credit_note")
        assert [d["kind"] for d in credit_notes["items"]] == ["credit_note"]
        assert credit_notes["totals"]["gross"] == "-24.00"
        assert documents(client, session, customer_code=customer.code, status="void")["totals"]["count"] == 0

    def test_pages_follow_each_other_newest_first(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        warehouse = auth_headers(session, role="warehouse")
        notes = [
            ship(client, warehouse, order_of(session, customer, (product, 1)))["number"] for _ in range(5)
        ]
        seen: list[str] = []
        cursor = None
        while True:
            params = {"customer_code": customer.code, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = documents(client, session, **params)
            seen += [d["delivery_note_number"] for d in page["items"]]
            assert page["totals"]["count"] == 5
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == list(reversed(notes))

    def test_bad_filters_are_located(self, client: TestClient, session: Session) -> None:
        answer = client.get(
            "/api/v1/deferred-documents",
            params={"kind": "receipt", "cursor": "%%%"},
            headers=auth_headers(session, role="finance"),
        )
        assert_problem(answer, 422, ["query", "kind"])

    def test_an_unknown_status_is_a_located_422(self, client: TestClient, session: Session) -> None:
        answer = client.get(
            "/api/v1/deferred-documents",
            params={"status": "lost"},
            headers=auth_headers(session, role="finance"),
        )
        assert answer.status_code == 422
        assert ["query", "status"] in [e["loc"] for e in answer.json()["errors"]]

    def test_an_unknown_document_is_404(self, client: TestClient, session: Session) -> None:
        finance = auth_headers(session, role="finance")
        assert_problem(client.get("/api/v1/deferred-documents/999999", headers=finance), 404)
        assert_problem(client.get("/api/v1/deferred-documents/DI-1999-000001", headers=finance), 404)

    @pytest.mark.parametrize("key", ["²", "1" * 30])
    def test_a_key_that_is_no_64_bit_id_is_404_not_a_500(
        self, client: TestClient, session: Session, key: str
    ) -> None:
        finance = auth_headers(session, role="finance")
        assert_problem(client.get(f"/api/v1/deferred-documents/{key}", headers=finance), 404)


class TestWhoSeesDeferredDocuments:
    def test_finance_and_admins_do(self, client: TestClient, session: Session) -> None:
        for role in ("finance", "admin"):
            answer = client.get("/api/v1/deferred-documents", headers=auth_headers(session, role=role))
            assert answer.status_code == 200

    def test_the_warehouse_and_reps_do_not(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1)))
        (document,) = documents(client, session, customer_code=customer.code)["items"]
        for role in ("warehouse", "rep"):
            headers = auth_headers(session, role=role)
            assert_problem(client.get("/api/v1/deferred-documents", headers=headers), 403)
            assert_problem(client.get(f"/api/v1/deferred-documents/{document['id']}", headers=headers), 403)
