"""Printing delivery notes through the API: the PDF is read back and checked for what it says."""

from decimal import Decimal
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.delivery import printing
from app.delivery.models import DeliveryNote
from app.templating import format_money
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, fulfilment_state, order_of, ship


def pages(content: bytes) -> list[str]:
    assert content.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(BytesIO(content)).pages]


def printed(client: TestClient, headers: dict[str, str], number: str, lang: str = "fr") -> str:
    answer = client.post(f"/api/v1/delivery-notes/{number}/print", params={"lang": lang}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    return "\n".join(pages(answer.content))


class TestPrintDeliveryNote:
    def test_the_pdf_shows_the_number_customer_lines_and_totals(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, name="Librairie du Rivage", discount_percent="10")
        book = make_product(session, price="20.00", vat_rate="5.5", includes_vat=True, stock="50")
        radio = make_product(session, price="49.90", vat_rate="20", stock="10")
        number = order_of(session, customer, (book, 3), (radio, 2), customer_reference="PO-778")
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, number, [(1, 3), (2, 1)])

        text = printed(client, headers, note["number"])

        assert note["number"] in text and number in text and "PO-778" in text
        assert "Librairie du Rivage" in text and customer.code in text
        assert "Carnet Diffusion SAS" in text and "FR96552100554" in text
        for line in note["lines"]:
            assert line["product_code"] in text and line["gtin"] in text
        radio_row = next(row for row in text.splitlines() if row.startswith(f"2 {radio.code}"))
        # ordered, shipped now, backordered; unit price, discount, net unit price, amount (without VAT)
        assert radio_row.endswith(" 2 1 1 49,90 10 44,91 44,91")
        book_row = next(row for row in text.splitlines() if row.startswith(f"1 {book.code}"))
        assert book_row.endswith(" 3 3 20,00 10 18,00 54,00")  # the public price, VAT included
        totals = note["totals"]
        assert f"Total HT {format_money(Decimal(totals['net']))}" in text
        assert f"Total TTC {format_money(Decimal(totals['gross']))}" in text
        for vat in note["totals"]["vat_breakdown"]:
            assert format_money(Decimal(vat["amount"])) in text
        assert "Facture à suivre" in text
        assert "DUPLICATA" not in text

    def test_later_prints_are_duplicates(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))

        assert "DUPLICATA" not in printed(client, headers, note["number"])
        assert "DUPLICATA" in printed(client, headers, note["number"])
        assert "DUPLICATE no. 3" in printed(
            client, auth_headers(session, role="rep"), note["number"], lang="en"
        )

        read = client.get(f"/api/v1/delivery-notes/{note['number']}", headers=headers).json()
        assert read["print_count"] == 3 and read["first_printed_at"] is not None

    def test_a_get_of_the_pdf_is_a_preview_that_counts_no_print(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        number = ship(client, headers, order_of(session, customer, (product, 1)))["number"]
        url = f"/api/v1/delivery-notes/{number}"

        preview = client.get(f"{url}/pdf", headers=headers)
        assert preview.status_code == 200 and preview.headers["content-type"] == "application/pdf"
        assert "APERÇU, NE PAS REMETTRE" in "\n".join(pages(preview.content))
        assert client.get(url, headers=headers).json()["print_count"] == 0

        original = printed(client, headers, number)
        assert "DUPLICATA" not in original and "APERÇU" not in original
        assert "DUPLICATA n° 2" in printed(client, headers, number)
        assert "PREVIEW, DO NOT HAND OVER" in "\n".join(
            pages(client.get(f"{url}/pdf", params={"lang": "en"}, headers=headers).content)
        )
        assert client.get(url, headers=headers).json()["print_count"] == 2

    def test_english_labels(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, price="12.50")
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 2)))
        text = printed(client, headers, note["number"], lang="en")
        assert "Delivery note" in text and "Invoice to follow" in text and "€25.00" in text

    def test_prices_are_left_out_for_customers_who_do_not_want_them(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session, price="12.50")
        session.execute(
            update(Customer).where(Customer.id == customer.id).values(show_prices_on_delivery_note=False)
        )
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 2)))
        text = printed(client, headers, note["number"])
        assert product.code in text
        assert "€" not in text and "Total HT" not in text

    def test_a_void_note_prints_as_void(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))
        assert (
            client.post(f"/api/v1/delivery-notes/{note['number']}/void", headers=headers).status_code == 200
        )
        assert "ANNULÉ" in printed(client, headers, note["number"])

    def test_an_unknown_note_is_404_and_nothing_is_recorded(
        self, client: TestClient, session: Session
    ) -> None:
        before = fulfilment_state(session)
        headers = auth_headers(session, role="rep")
        answer = client.post("/api/v1/delivery-notes/BL-1999-000001/print", headers=headers)
        assert_problem(answer, 404, ["path", "number"])
        preview = client.get("/api/v1/delivery-notes/BL-1999-000001/pdf", headers=headers)
        assert_problem(preview, 404, ["path", "number"])
        assert fulfilment_state(session) == before

    def test_an_unsupported_language_is_located(self, client: TestClient, session: Session) -> None:
        answer = client.get(
            "/api/v1/delivery-notes/BL-1999-000001/pdf", params={"lang": "de"}, headers=auth_headers(session)
        )
        assert_problem(answer, 422, ["query", "lang"])

    def test_finance_may_not_print(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1))
        )
        finance = auth_headers(session, role="finance")
        assert_problem(client.post(f"/api/v1/delivery-notes/{note['number']}/print", headers=finance), 403)
        assert_problem(client.get(f"/api/v1/delivery-notes/{note['number']}/pdf", headers=finance), 403)


class TestPrintBatch:
    def test_prints_the_notes_asked_in_one_pdf_in_that_order(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        numbers = [
            ship(client, headers, order_of(session, customer, (product, 1)))["number"] for _ in range(3)
        ]
        wanted = [numbers[2], numbers[0]]

        answer = client.post("/api/v1/delivery-notes/print", json={"numbers": wanted}, headers=headers)

        assert answer.status_code == 200, answer.text
        texts = pages(answer.content)
        assert len(texts) == 2
        assert [next(n for n in numbers if n in text) for text in texts] == wanted

    def test_prints_every_note_of_a_day_but_the_void_ones(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        kept = ship(client, headers, order_of(session, customer, (product, 1)))
        voided = ship(client, headers, order_of(session, customer, (product, 1)))
        client.post(f"/api/v1/delivery-notes/{voided['number']}/void", headers=headers)
        day = session.execute(
            select(DeliveryNote.issue_date).where(DeliveryNote.number == kept["number"])
        ).scalar()
        assert day is not None

        answer = client.post("/api/v1/delivery-notes/print", json={"date": day.isoformat()}, headers=headers)

        assert answer.status_code == 200, answer.text
        text = "\n".join(pages(answer.content))
        assert kept["number"] in text and voided["number"] not in text

    def test_a_large_batch_is_rendered_by_several_processes(
        self, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(printing, "PARALLEL_FROM", 4)
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        numbers = [
            ship(client, headers, order_of(session, customer, (product, 1)))["number"] for _ in range(4)
        ]

        answer = client.post("/api/v1/delivery-notes/print", json={"numbers": numbers}, headers=headers)

        assert answer.status_code == 200, answer.text
        texts = pages(answer.content)
        assert [next(n for n in numbers if n in text) for text in texts] == numbers

    def test_unknown_numbers_are_named_and_nothing_is_printed(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        known = ship(client, headers, order_of(session, customer, (product, 1)))["number"]
        before = fulfilment_state(session)

        answer = client.post(
            "/api/v1/delivery-notes/print",
            json={"numbers": [known, "BL-1999-000404", "BL-1999-000405"]},
            headers=headers,
        )

        problem = assert_problem(answer, 404, ["body", "numbers", 1], ["body", "numbers", 2])
        assert "BL-1999-000404" in problem["detail"] and "BL-1999-000405" in problem["detail"]
        assert fulfilment_state(session) == before

    def test_numbers_or_a_date_not_both(self, client: TestClient, session: Session) -> None:
        answer = client.post(
            "/api/v1/delivery-notes/print",
            json={"numbers": ["BL-1999-000001"], "date": "2026-11-26"},
            headers=auth_headers(session, role="warehouse"),
        )
        assert_problem(answer, 422)

    def test_a_day_without_notes_is_404(self, client: TestClient, session: Session) -> None:
        answer = client.post(
            "/api/v1/delivery-notes/print",
            json={"date": "1999-01-01"},
            headers=auth_headers(session, role="rep"),
        )
        assert_problem(answer, 404, ["body", "date"])
