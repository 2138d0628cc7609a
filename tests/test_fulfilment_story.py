"""One bookseller's order through fulfilment, over the API, as the people who do it see it:
order → partial delivery (backorder) → stock receipt → second delivery → return with credit note →
deferred documents for finance, with totals that add up."""

from decimal import Decimal
from io import BytesIO

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from tests.builders import auth_headers, make_customer, make_product


def test_order_to_deferred_documents(client: TestClient, session: Session) -> None:
    rep = auth_headers(session, role="rep")
    warehouse = auth_headers(session, role="warehouse")
    finance = auth_headers(session, role="finance")
    bookseller = make_customer(session, name="Librairie du Rivage", discount_percent="5")
    novel = make_product(
        session, price="22.00", vat_rate="5.5", includes_vat=True, price_locked=True, stock="4"
    )
    lamp = make_product(session, price="35.00", vat_rate="20", stock="10")

    # A rep takes the order by phone: 10 novels, 2 lamps. Only 4 novels are in the warehouse.
    order = client.post(
        "/api/v1/orders",
        json={
            "customer_code": bookseller.code,
            "channel": "phone",
            "customer_reference": "RIV-2026-11",
            "lines": [
                {"product_code": novel.code, "quantity": 10},
                {"product_code": lamp.code, "quantity": 2, "discount_percent": "10"},
            ],
        },
        headers=rep,
    ).json()
    assert [w["code"] for w in order["warnings"]] == ["stock_shortfall"]

    # The warehouse ships what it has; the rest of the novels wait as a backorder.
    first = client.post(f"/api/v1/orders/{order['number']}/deliveries", headers=warehouse)
    assert first.status_code == 201, first.text
    first_note = first.json()
    assert [(line["quantity"], line["backordered_quantity"]) for line in first_note["lines"]] == [
        (4, 6),
        (2, 0),
    ]
    assert first_note["order_status"] == "partially_shipped"
    backorders = client.get(
        "/api/v1/backorders", params={"customer_code": bookseller.code}, headers=rep
    ).json()
    assert [(b["product_code"], b["backordered_quantity"]) for b in backorders["items"]] == [(novel.code, 6)]

    # Looked at first (a preview prints nothing), the box leaves with its printed note: the original,
    # then a duplicate for the file.
    note_url = f"/api/v1/delivery-notes/{first_note['number']}"
    preview = client.get(f"{note_url}/pdf", headers=warehouse)
    assert "APERÇU" in PdfReader(BytesIO(preview.content)).pages[0].extract_text()
    original = client.post(f"{note_url}/print", headers=warehouse)
    text = PdfReader(BytesIO(original.content)).pages[0].extract_text()
    assert first_note["number"] in text and "Librairie du Rivage" in text and "DUPLICATA" not in text
    duplicate = client.post(f"{note_url}/print", headers=warehouse)
    assert "DUPLICATA n° 2" in PdfReader(BytesIO(duplicate.content)).pages[0].extract_text()

    # The publisher's delivery arrives; the backorder ships.
    receipt = client.post(
        "/api/v1/stock-receipts",
        json={"reference": "BR-88", "lines": [{"gtin": novel.gtin, "quantity": 20}]},
        headers=warehouse,
    ).json()
    assert [b["order_number"] for b in receipt["backorders"]] == [order["number"]]
    second = client.post(f"/api/v1/orders/{order['number']}/deliveries", headers=warehouse)
    assert second.status_code == 201, second.text
    second_note = second.json()
    assert [(line["product_code"], line["quantity"]) for line in second_note["lines"]] == [(novel.code, 6)]
    assert second_note["order_status"] == "shipped"
    assert int(second_note["number"][-6:]) == int(first_note["number"][-6:]) + 1
    backorders = client.get(
        "/api/v1/backorders", params={"customer_code": bookseller.code}, headers=rep
    ).json()
    assert backorders["items"] == []

    # Months later, three unsold novels come back against the second note.
    returned = client.post(
        "/api/v1/returns",
        json={
            "customer_code": bookseller.code,
            "delivery_note_number": second_note["number"],
            "lines": [{"gtin": novel.gtin, "quantity": 3, "reason": "unsold"}],
        },
        headers=rep,
    )
    assert returned.status_code == 201, returned.text
    credit_note = returned.json()["credit_note"]
    assert credit_note["totals"]["gross"] == "62.70"  # 3 x 22.00 less 5 %, VAT included

    # Finance sees two deferred invoices and one credit note, all pending, amounts frozen.
    listed = client.get(
        "/api/v1/deferred-documents", params={"customer_code": bookseller.code}, headers=finance
    ).json()
    kinds = sorted((d["kind"], d["delivery_note_number"]) for d in listed["items"])
    assert kinds == [
        ("credit_note", second_note["number"]),
        ("invoice", first_note["number"]),
        ("invoice", second_note["number"]),
    ]
    assert {d["status"] for d in listed["items"]} == {"pending"}
    invoices = [d for d in listed["items"] if d["kind"] == "invoice"]
    first_gross = Decimal(first_note["totals"]["gross"])
    second_gross = Decimal(second_note["totals"]["gross"])
    assert first_gross == Decimal("83.60") + Decimal("71.82")  # 4 novels; 2 lamps less 10 % then 5 %, +20 %
    assert second_gross == Decimal("125.40")
    assert sum(Decimal(d["totals"]["gross"]) for d in invoices) == first_gross + second_gross
    totals = listed["totals"]
    assert totals["count"] == 3
    assert Decimal(totals["gross"]) == first_gross + second_gross - Decimal("62.70")
    assert Decimal(totals["net"]) + Decimal(totals["vat"]) == Decimal(totals["gross"])
    assert credit_note["invoice_reference"] in {d["reference"] for d in invoices}

    # The whole order has left, and the three returned novels are back on the shelf.
    product = client.get(f"/api/v1/products/{novel.code}", headers=rep).json()
    assert (product["stock_on_hand"], product["reserved_quantity"]) == (4 - 4 + 20 - 6 + 3, 0)
