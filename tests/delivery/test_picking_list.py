"""The picking list: what the warehouse takes off the shelves, one line per product sorted by code,
backorders left out; read back from the PDF."""

from datetime import date, timedelta
from io import BytesIO

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, order_of, ship


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def row(text: str, code: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"{code} "))


class TestPickingList:
    def test_the_orders_to_ship_today_sorted_by_product_with_backorders_left_out(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session)
        shelf = make_product(session, code="PK-C", stock="5")
        other = make_product(session, code="PK-A", stock="10")
        missing = make_product(session, code="PK-B", stock="0")
        first = order_of(session, customer, (shelf, 3), (other, 2))
        second = order_of(session, customer, (shelf, 4), (missing, 1))
        later = order_of(session, customer, (other, 7), requested_date=date.today() + timedelta(days=5))
        headers = auth_headers(session, role="warehouse")

        answer = client.get("/api/v1/picking-list", headers=headers)

        assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
        text = pdf_text(answer.content)
        assert "Liste de préparation" in text and first in text and second in text and later not in text
        codes = [line.split()[0] for line in text.splitlines() if line.startswith("PK-")]
        assert codes == ["PK-A", "PK-C"]  # sorted; PK-B has no stock: a backorder, left out
        assert f"PK-A {other.gtin} {other.name} 2 {first} × 2" in text
        assert f"PK-C {shelf.gtin} {shelf.name} 5 {first} × 3" in text  # 3 + 2 of the 5 on hand
        assert f"{second} × 2" in text
        assert "1 ligne(s) en attente de stock" in text

    def test_one_order_in_english(self, client: TestClient, session: Session) -> None:
        customer = make_customer(session)
        book, pen = make_product(session, code="PL-2"), make_product(session, code="PL-1")
        number = order_of(session, customer, (book, 2), (pen, 6))
        order_of(session, customer, (book, 9))
        headers = auth_headers(session, role="rep")

        answer = client.get("/api/v1/picking-list", params={"order": number, "lang": "en"}, headers=headers)

        text = pdf_text(answer.content)
        assert "Picking list" in text and "To pick" in text
        assert row(text, "PL-1").startswith(f"PL-1 {pen.gtin} {pen.name} 6 ")
        assert row(text, "PL-2").startswith(f"PL-2 {book.gtin} {book.name} 2 ")
        assert text.index("PL-1 ") < text.index("PL-2 ")

    def test_what_was_shipped_is_not_picked_again(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, code="PS-1")
        number = order_of(session, customer, (product, 5))
        headers = auth_headers(session, role="warehouse")
        ship(client, headers, number, [(1, 3)])
        text = pdf_text(client.get("/api/v1/picking-list", params={"order": number}, headers=headers).content)
        assert row(text, "PS-1").startswith(f"PS-1 {product.gtin} {product.name} 2 ")

    def test_an_unknown_or_shipped_order_is_refused(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        unknown = client.get("/api/v1/picking-list", params={"order": "CMD-1999-000001"}, headers=headers)
        assert_problem(unknown, 404, ["query", "order"])
        shipped = order_of(session, customer, (product, 1))
        ship(client, headers, shipped)
        assert_problem(client.get("/api/v1/picking-list", params={"order": shipped}, headers=headers), 409)
