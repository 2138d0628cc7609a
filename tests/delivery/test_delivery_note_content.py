"""What a customer signs for: the note goes to the right address, and every printed line adds up by
hand (unit price less its discounts is the net unit price, times the quantity is the amount). The
PDF is read back with pypdf."""

import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from io import BytesIO
from typing import Any

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer, Product
from app.clock import utcnow
from app.incidents.models import Incident
from app.orders.models import SaleOrder
from app.templating import format_money
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import assert_problem, order_of, ship

# A number as printed in a table cell: French grouping (narrow no-break space) and decimal comma.
NUMBER = r"\d{1,3}(?:\u202f\d{3})*(?:,\d+)?"
# The end of a priced row: unit price, discounts in cascade (blank when none), net unit price, amount.
PRICED_TAIL = re.compile(
    rf" (?P<unit>{NUMBER}) (?:(?P<discounts>{NUMBER}(?: \+ {NUMBER})*) )?"
    rf"(?P<net>{NUMBER}) (?P<amount>{NUMBER})$"
)


def decimal(printed: str) -> Decimal:
    return Decimal(printed.replace("\u202f", "").replace(",", "."))


def note_text(client: TestClient, headers: dict[str, str], number: str, lang: str = "fr") -> str:
    answer = client.post(
        "/api/v1/delivery-notes/print", json={"numbers": [number], "lang": lang}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(answer.content)).pages)


def row_of(text: str, line: dict[str, Any]) -> str:
    start = f"{line['order_line_no']} {line['product_code']} {line['gtin']} {line['description']} "
    return next(row for row in text.splitlines() if row.startswith(start))


def check_adds_up(row: str, shipped: Decimal) -> Decimal:
    """The printed line checked as a customer would: its amount."""
    found = PRICED_TAIL.search(row)
    assert found is not None, row
    net = decimal(found["unit"])
    for discount in (found["discounts"] or "").split(" + "):
        if discount:
            net *= 1 - decimal(discount) / 100
    assert net.quantize(Decimal("0.0001"), ROUND_HALF_UP) == decimal(found["net"]), row
    amount = decimal(found["amount"])
    assert (decimal(found["net"]) * shipped).quantize(Decimal("0.01"), ROUND_HALF_UP) == amount, row
    return amount


def named_product(session: Session, name: str, **kwargs: Any) -> Product:
    product = make_product(session, **kwargs)
    product.name = name
    session.flush()
    return product


class TestShippingAddress:
    def test_an_order_naming_no_address_ships_to_the_customers_only_shipping_address(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session, addresses=1), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1))
        )
        assert note["shipping_address"]["code"] == "DP1" and note["shipping_address"]["city"] == "Lyon"

    def test_the_default_one_among_several(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session, addresses=3), make_product(session)
        customer.shipping_addresses[1].is_default = True
        number = order_of(session, customer, (product, 1))
        note = ship(client, auth_headers(session, role="warehouse"), number)
        assert note["shipping_address"]["code"] == "DP2"
        text = note_text(client, auth_headers(session, role="warehouse"), note["number"])
        assert "2 quai de la Gare" in text and "Dépôt 2" in text

    def test_the_address_the_order_names_wins_over_the_default(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session, addresses=2), make_product(session)
        customer.shipping_addresses[0].is_default = True
        number = order_of(session, customer, (product, 1), shipping_address="DP2")
        assert (
            ship(client, auth_headers(session, role="warehouse"), number)["shipping_address"]["code"] == "DP2"
        )

    def test_a_customer_without_shipping_address_gets_the_billing_address(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session, addresses=0), make_product(session)
        note = ship(
            client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1))
        )
        assert note["shipping_address"]["city"] == "Paris"

    def test_several_addresses_without_default_the_order_must_name_one(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session, addresses=2), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        orders_before = session.execute(select(func.count()).select_from(SaleOrder)).scalar_one()
        answer = client.post("/api/v1/orders", json=body, headers=auth_headers(session, role="rep"))
        problem = assert_problem(answer, 422, ["body", "shipping_address"])
        assert "DP1, DP2" in problem["detail"]
        assert session.execute(select(func.count()).select_from(SaleOrder)).scalar_one() == orders_before

    def test_the_default_is_part_of_the_customer_and_only_one_may_be(
        self, client: TestClient, session: Session
    ) -> None:
        address = {"street": "1 quai", "postal_code": "69002", "city": "Lyon"}
        body = {
            "code": "DEF1",
            "name": "Librairie Défaut",
            "billing_address": {"street": "1 rue", "postal_code": "75011", "city": "Paris"},
            "shipping_addresses": [
                {"code": "A", **address},
                {"code": "B", "is_default": True, **address},
            ],
        }
        headers = auth_headers(session, role="admin")
        created = client.post("/api/v1/customers", json=body, headers=headers)
        assert created.status_code in (200, 201), created.text
        assert [a["is_default"] for a in created.json()["shipping_addresses"]] == [False, True]
        body["shipping_addresses"][0]["is_default"] = True  # type: ignore[index]
        assert_problem(
            client.post("/api/v1/customers", json=body, headers=headers), 422, ["body", "shipping_addresses"]
        )


class TestPricedLinesAddUp:
    def test_unit_price_discounts_net_price_and_amount_add_up_on_every_line(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="33")
        radio = named_product(session, "Radio", price="59.57", vat_rate="20")
        cable = named_product(session, "Cable", price="20.00", vat_rate="20")
        odd = named_product(session, "Lampe", price="7.3333", vat_rate="20")
        draft_lines = [
            {"product_code": radio.code, "quantity": 2},
            {"product_code": cable.code, "quantity": 30, "discount_percent": "5"},
            {"product_code": odd.code, "quantity": 97, "discount_percent": "12.5"},
        ]
        body = {"customer_code": customer.code, "channel": "phone", "lines": draft_lines}
        created = client.post("/api/v1/orders", json=body, headers=auth_headers(session, role="rep"))
        assert created.status_code == 201, created.text
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, created.json()["number"])

        text = note_text(client, headers, note["number"])

        assert "Remise %" in text and "P.U. net HT €" in text
        total = Decimal(0)
        for line in note["lines"]:
            row = row_of(text, line)
            total += check_adds_up(row, Decimal(str(line["quantity"])))
        assert check_adds_up(row_of(text, note["lines"][0]), Decimal(2)) == Decimal("79.82")
        assert "59,57 33 39,9119 79,82" in row_of(text, note["lines"][0])
        assert "20,00 5 + 33 12,73 381,90" in row_of(text, note["lines"][1])
        assert total == Decimal(note["totals"]["net"])
        assert f"Total HT {format_money(total)}" in text

    def test_books_show_public_price_with_vat_remise_and_net(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session, discount_percent="35")
        book = named_product(
            session, "Roman", price="22.90", vat_rate="5.5", includes_vat=True, price_locked=True
        )
        pen = named_product(session, "Stylo", price="3.00", vat_rate="20")
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (book, 7), (pen, 4)))

        text = note_text(client, headers, note["number"])

        assert "Livres à prix public (TTC, TVA comprise)" in text and "Autres articles (HT)" in text
        assert "Prix public TTC €" in text and "Net TTC €" in text
        book_line, pen_line = note["lines"]
        book_amount = check_adds_up(row_of(text, book_line), Decimal(7))
        assert "22,90 35 14,885 104,20" in row_of(text, book_line)
        assert f"Sous-total TTC {format_money(book_amount)}" in text
        pen_amount = check_adds_up(row_of(text, pen_line), Decimal(4))
        assert f"Sous-total HT {format_money(pen_amount)}" in text
        book_vat = next(v for v in note["totals"]["vat_breakdown"] if v["rate"] == "5.5")
        assert Decimal(book_vat["base"]) + Decimal(book_vat["amount"]) == book_amount


class TestQuantitiesAcrossNotes:
    def test_a_second_note_says_what_was_already_delivered_and_what_remains(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session)
        book = named_product(session, "Atlas", price="10.00", vat_rate="5.5", stock="100")
        headers = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (book, 10))
        ship(client, headers, number, [(1, 4)])
        second = ship(client, headers, number, [(1, 5)])

        (line,) = second["lines"]
        assert (line["ordered_quantity"], line["previously_shipped_quantity"], line["quantity"]) == (10, 4, 5)
        assert line["backordered_quantity"] == 1
        row = row_of(note_text(client, headers, second["number"]), line)
        assert row.startswith(f"1 {book.code} {book.gtin} Atlas 10 4 5 1 ")
        assert "Commandé Déjà livré Livré ce jour Reliquat" in note_text(
            client, headers, second["number"]
        ).replace("\n", " ")

    def test_the_lines_that_did_not_ship_are_on_the_note_as_still_to_come(
        self, client: TestClient, session: Session
    ) -> None:
        customer = make_customer(session)
        atlas = named_product(session, "Atlas", stock="100")
        globe = named_product(session, "Globe", stock="0")
        headers = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (atlas, 2), (globe, 3))
        note = ship(client, headers, number)  # the globe is out of stock: the atlas leaves alone

        assert [line["product_code"] for line in note["lines"]] == [atlas.code]
        text = note_text(client, headers, note["number"])
        to_come = text.split("Restent à livrer", 1)[1]
        assert f"2 {globe.code} {globe.gtin} Globe 3 0 3" in to_come  # ordered 3, nothing now, 3 to come
        assert atlas.code not in to_come
        english = note_text(client, headers, note["number"], lang="en")
        assert "Still to deliver" in english


class TestWhatLeavesWithTheGoods:
    def test_parcels_carrier_tracking_signature_and_reserves_are_printed(
        self, client: TestClient, session: Session
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        number = order_of(session, customer, (product, 2))
        body = {"parcel_count": 3, "carrier": "Geodis", "tracking_number": "GX-77812"}
        answer = client.post(f"/api/v1/orders/{number}/deliveries", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        note = answer.json()
        assert (note["parcel_count"], note["carrier"], note["tracking_number"]) == (3, "Geodis", "GX-77812")

        text = note_text(client, headers, note["number"])

        assert "COLIS" in text and "TRANSPORTEUR" in text and "N° DE SUIVI" in text
        assert "3 Geodis GX-77812" in text
        assert "Reçu conforme" in text and "Nom et signature du destinataire" in text
        assert "Réserves" in text and "L.133-3" in text

    def test_a_note_issued_during_an_incident_names_it_in_small_print(
        self, client: TestClient, session: Session
    ) -> None:
        incident = Incident(
            reason="ERP down",
            started_at=utcnow() - timedelta(hours=2),
            is_open=True,
            declared_at=utcnow(),
            declared_by="admin",
        )
        session.add(incident)
        session.flush()
        customer, product = make_customer(session), make_product(session)
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 1)))

        french = note_text(client, headers, note["number"])
        english = note_text(client, headers, note["number"], lang="en")

        assert f"incident n° {incident.id}" in french
        assert f"incident no. {incident.id}" in english
        for expected in ("Delivered before", "Delivered now", "PARCELS", "Received in good order", "L.133-3"):
            assert expected in english

    def test_the_english_note_adds_up_the_same(self, client: TestClient, session: Session) -> None:
        customer: Customer = make_customer(session, discount_percent="10")
        product = named_product(session, "Mug", price="12.35", vat_rate="20")
        headers = auth_headers(session, role="warehouse")
        note = ship(client, headers, order_of(session, customer, (product, 3)))
        text = note_text(client, headers, note["number"], lang="en")
        row = next(row for row in text.splitlines() if row.startswith(f"1 {product.code} "))
        assert "Discount %" in text and "Net unit price €" in text
        assert row.endswith(" 12.35 10 11.115 33.35") and check_adds_up(
            row.replace(".", ","), Decimal(3)
        ) == Decimal("33.35")
