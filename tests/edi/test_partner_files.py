"""Files as real partners send them, through the whole ingestion: the partner's profile applied before
sniffing, a spreadsheet's Windows-1252, hard-wrapped files, count checks that hold an order, a GLN two
customers share."""

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.models import PartnerCustomer
from app.catalog.models import Customer, ShippingAddress
from app.orders.service import get_order
from tests.builders import auth_headers, make_customer, make_product
from tests.edi.conformance import sidecar
from tests.edi.corpus import FIXTURES, fixture
from tests.edi.edi_builders import (
    BUYER_GLN,
    Hub,
    Line,
    ingest,
    make_hub,
    map_item,
    map_party,
    order_edifact,
    x12_850,
)

URL = "/api/v1/edi/interchanges"
EXCEL = "csv/french_excel_cp1252.csv"


EXCEL_PRICES = {
    "9782843300004": "6.50",
    "9782843300011": "12.00",
    "9782843300028": "18.90",
    "3760123456784": "2.50",
}


def excel_products(session: Session) -> None:
    """The products the spreadsheet orders, at the prices it shows."""
    for item, price in EXCEL_PRICES.items():
        product = make_product(session, stock="1000", price=price)
        product.gtin = item
    session.flush()


def put_profile(client: TestClient, session: Session, hub: Hub, profile: dict[str, object]) -> httpx.Response:
    admin = auth_headers(session, role="admin")
    return client.put(f"/api/v1/edi/partners/{hub.partner.name}/profile", json=profile, headers=admin)


class TestSpreadsheetExport:
    def test_a_french_excel_csv_in_windows_1252_is_read_with_the_partners_profile(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session, gln="3020000000005")
        excel_products(session)
        layout = (sidecar(FIXTURES / EXCEL) or {})["csv_profile"]
        assert put_profile(client, session, hub, {"csv": layout}).status_code == 200

        answer = client.post(
            URL,
            content=fixture(EXCEL),
            headers={"X-API-Key": hub.key, "Content-Type": "application/octet-stream"},
        )

        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert (body["format"], body["status"], body["charset"]) == ("csv", "accepted", "windows-1252")
        assert "charset_mismatch" in {w["code"] for w in body["warnings"]}
        assert [m["po_number"] for m in body["messages"]] == ["LQ-XL-0101", "LQ-XL-0102"]
        first = get_order(session, number=body["orders"][0], actor=hub.actor)
        assert [line.quantity for line in first.lines] == [12, 3, 1] and first.status == "captured"

    def test_a_declared_line_count_the_rows_do_not_reach_holds_the_order(self, session: Session) -> None:
        hub = make_hub(session, gln="3020000000005")
        excel_products(session)
        hub.partner.csv_profile = (sidecar(FIXTURES / EXCEL) or {})["csv_profile"]
        data = fixture(EXCEL).replace(b"2,50\xa0\x80;1;", b"2,50\xa0\x80;2;")  # the second order says 2 lines
        answer = ingest(session, hub, data)
        second = get_order(session, number=answer.body["orders"][1], actor=hub.actor)
        assert second.status == "needs_review"
        assert [(p["code"], p["declared"], p["received"]) for p in second.problems] == [
            ("line_count_mismatch", 2, 1)
        ]

    def test_the_partner_profile_charset_and_format_are_applied(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session, gln="3020000000005")
        excel_products(session)
        layout = (sidecar(FIXTURES / EXCEL) or {})["csv_profile"]
        profile = {"format": "csv", "charset": "cp1252", "despatch_advice": False, "csv": layout}
        saved = put_profile(client, session, hub, profile)
        assert saved.status_code == 200 and saved.json()["charset"] == "windows-1252"
        admin = auth_headers(session, role="admin")
        read = client.get(f"/api/v1/edi/partners/{hub.partner.name}/profile", headers=admin).json()
        assert (read["format"], read["charset"], read["csv"]["name"]) == (
            "csv",
            "windows-1252",
            "quais-excel",
        )
        body = client.post(URL, content=fixture(EXCEL), headers={"X-API-Key": hub.key}).json()
        assert (body["status"], body["charset"]) == ("accepted", "windows-1252")
        assert "charset_mismatch" not in {w["code"] for w in body["warnings"]}

    def test_only_admins_set_a_profile_and_it_must_be_usable(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        url = f"/api/v1/edi/partners/{hub.partner.name}/profile"
        assert client.put(url, json={}, headers={"X-API-Key": hub.key}).status_code == 403
        assert client.put(url, json={}, headers=auth_headers(session)).status_code == 403
        assert put_profile(client, session, hub, {"charset": "klingon-8"}).status_code == 422
        assert put_profile(client, session, hub, {"format": "pdf"}).status_code == 422


class TestWrappedAndCounted:
    def test_an_x12_file_hard_wrapped_at_80_columns_gives_every_line(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        map_party(session, hub, "LQ-BY-80", hub.customer)
        for n in range(1, 9):  # at the file's prices: 1.50, 2.00, 2.50...
            price = f"{1 + n * 0.5:.2f}"
            map_item(session, hub, f"LQ-AGENDA-{n:06d}", make_product(session, stock="100", price=price))
            if n <= 3:
                map_item(session, hub, f"LQ-CARNET-{n:06d}", make_product(session, stock="100", price=price))
        answer = ingest(session, hub, fixture("x12/850_wrapped_80col.x12"))
        assert answer.body["status"] == "accepted" and answer.body["errors"] == []
        assert "hard_wrapped" in {w["code"] for w in answer.body["warnings"]}
        second = get_order(session, number=answer.body["orders"][1], actor=hub.actor)
        assert len(second.lines) == 8 and second.status == "captured", second.problems

    def test_a_ctt_count_that_disagrees_holds_the_850(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session)
        assert product.gtin
        data = x12_850([Line(product.gtin, 1, qualifier="EN"), Line(product.gtin, 2, qualifier="EN")])
        answer = ingest(session, hub, data.replace(b"CTT*2", b"CTT*3"))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.status == "needs_review" and len(order.lines) == 2
        assert [p["code"] for p in order.problems] == ["line_count_mismatch"]


class TestSharedGln:
    def test_a_buyer_gln_two_customers_of_the_partner_share_holds_the_order(self, session: Session) -> None:
        hub = make_hub(session)  # its customer has BUYER_GLN
        other = make_customer(session)
        address = session.query(ShippingAddress).filter_by(customer_id=other.id).one()
        address.gln = BUYER_GLN  # the other customer's delivery point has the same GLN
        session.add(PartnerCustomer(partner_id=hub.partner.id, customer_id=other.id))
        session.flush()
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin)]))
        order = get_order(session, number=answer.body["orders"][0], actor=hub.actor)
        assert order.customer_id == hub.customer.id and order.status == "needs_review"
        [problem] = order.problems
        assert problem["code"] == "ambiguous_party" and problem["candidates"] == [
            hub.customer.code,
            other.code,
        ]

    def test_a_delivery_gln_two_customers_share_holds_the_order_and_a_mapping_settles_it(
        self, session: Session
    ) -> None:
        hub = make_hub(session, gln=None, others=1)
        customers = [hub.customer, *(c for c in _partner_customers(session, hub) if c.id != hub.customer.id)]
        for customer in customers:
            session.query(ShippingAddress).filter_by(customer_id=customer.id).one().gln = "5400000000028"
        session.flush()
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin)], buyer=None, delivery="5400000000028")
        order = get_order(session, number=ingest(session, hub, data).body["orders"][0], actor=hub.actor)
        assert order.status == "needs_review" and [p["code"] for p in order.problems] == ["ambiguous_party"]
        map_party(session, hub, "5400000000028", customers[1])
        again = order_edifact([Line(product.gtin)], buyer=None, delivery="5400000000028", control_ref="2")
        settled = get_order(session, number=ingest(session, hub, again).body["orders"][0], actor=hub.actor)
        assert (settled.customer_id, settled.status) == (customers[1].id, "captured")


def _partner_customers(session: Session, hub: Hub) -> list[Customer]:
    return list(
        session.query(Customer)
        .join(PartnerCustomer, PartnerCustomer.customer_id == Customer.id)
        .filter(PartnerCustomer.partner_id == hub.partner.id)
        .order_by(Customer.id)
    )
