"""Order status back to the partner: the order response again (EDIFACT ORDRSP, X12 855, JSON) when a
backorder ships, is closed, or waits again after its delivery note was voided, and when the order
leaves review; and the partner's read API."""

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.edi.edifact_syntax import Segment, tokenize
from app.edi.models import EdiAcknowledgment
from app.orders.models import SaleOrder
from tests.builders import auth_headers, make_product
from tests.edi.edi_builders import Hub, Line, ingest, make_hub, order_edifact, x12_850

ORDERS = "/api/v1/orders"


def documents(session: Session, hub: Hub) -> list[EdiAcknowledgment]:
    session.expire_all()
    query = (
        select(EdiAcknowledgment)
        .where(EdiAcknowledgment.partner_id == hub.partner.id)
        .order_by(EdiAcknowledgment.id)
    )
    return list(session.execute(query).scalars())


def segments(body: bytes, tag: str) -> list[Segment]:
    tokens = tokenize(body)
    assert tokens.errors == ()
    return [s for s in tokens.segments if s.tag == tag]


def x12(body: bytes, tag: str) -> list[list[str]]:
    return [s.split("*")[1:] for s in body.decode().split("~") if s.startswith(tag + "*")]


def ship(client: TestClient, session: Session, number: str) -> None:
    answer = client.post(f"{ORDERS}/{number}/deliveries", headers=auth_headers(session, role="warehouse"))
    assert answer.status_code == 201, answer.text


def receive(client: TestClient, session: Session, code: str, quantity: int) -> None:
    body = {"lines": [{"product_code": code, "quantity": quantity}]}
    answer = client.post("/api/v1/stock-receipts", json=body, headers=auth_headers(session, role="warehouse"))
    assert answer.status_code == 201, answer.text


class TestOrderResponseAgain:
    def test_an_ordrsp_follows_each_shipment_while_a_backorder_is_open_then_when_it_ships(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        plenty, scarce = make_product(session), make_product(session, stock="2")
        assert plenty.gtin and scarce.gtin
        answer = ingest(
            session, hub, order_edifact([Line(plenty.gtin, 1, number="1"), Line(scarce.gtin, 5, number="2")])
        )
        [number] = answer.body["orders"]

        ship(client, session, number)  # 1 + 2 leave, 3 backordered
        *_, partial = documents(session, hub)
        assert (partial.kind, partial.order_number) == ("ORDRSP", number)
        assert segments(partial.body, "BGM")[0].elements == (("231",), (number,), ("4",))
        assert [(s.value(1), s.value(2)) for s in segments(partial.body, "LIN")] == [("1", "5"), ("2", "6")]
        quantities = [s.elements[0][:2] for s in segments(partial.body, "QTY")]
        assert quantities == [("21", "1"), ("21", "5"), ("113", "2"), ("83", "3")]

        receive(client, session, scarce.code, 3)
        ship(client, session, number)  # the backorder ships
        *_, complete = documents(session, hub)
        assert complete.kind == "ORDRSP" and complete.id != partial.id
        assert segments(complete.body, "BGM")[0].value(3) == "29"  # every line accepted: all shipped
        assert [s.value(2) for s in segments(complete.body, "LIN")] == ["5", "5"]
        assert [d.kind for d in documents(session, hub)] == ["CONTRL", "ORDRSP", "ORDRSP", "ORDRSP"]

    def test_a_complete_first_shipment_needs_no_new_response(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        number = ingest(session, hub, order_edifact([Line(product.gtin, 2)])).body["orders"][0]
        ship(client, session, number)
        assert [d.kind for d in documents(session, hub)] == ["CONTRL", "ORDRSP"]

    def test_an_x12_partner_gets_its_855_again_when_the_backorder_ships(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session, stock="1")
        assert product.gtin
        number = ingest(session, hub, x12_850([Line(product.gtin, 3, qualifier="EN")])).body["orders"][0]
        ship(client, session, number)
        partial = documents(session, hub)[-1]
        assert partial.kind == "855" and [a[:2] for a in x12(partial.body, "ACK")] == [
            ["IA", "1"],
            ["IB", "2"],
        ]
        receive(client, session, product.code, 5)
        ship(client, session, number)
        complete = documents(session, hub)[-1]
        assert x12(complete.body, "BAK")[0][1] == "AD" and [a[:2] for a in x12(complete.body, "ACK")] == [
            ["IA", "3"]
        ]

    def test_the_order_response_follows_review_line_by_line(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        known, meant, unit = make_product(session), make_product(session), make_product(session)
        assert known.gtin and unit.gtin
        lines = [
            Line(known.gtin, 1, number="1"),
            Line("UNKNOWN-21", 2, qualifier="IN", number="2"),
            Line("UNKNOWN-22", 1, qualifier="IN", number="3"),
            Line(unit.gtin, "2.5", number="4"),
        ]
        number = ingest(session, hub, order_edifact(lines)).body["orders"][0]
        rep = auth_headers(session)
        held = client.get(f"{ORDERS}/{number}", headers=rep).json()["unresolved_lines"]
        base = f"/api/v1/edi/orders/{number}/unresolved-lines"
        client.post(
            f"{base}/{held[0]['id']}/map", json={"product_code": meant.code, "reason": "r"}, headers=rep
        )
        client.post(f"{base}/{held[1]['id']}/remove", json={"reason": "not stocked"}, headers=rep)
        assert [d.kind for d in documents(session, hub)] == ["CONTRL", "ORDRSP", "APERAK"]  # still held
        answer = client.post(
            f"{base}/{held[2]['id']}/correct", json={"quantity": 3, "reason": "boxes"}, headers=rep
        )
        assert answer.json()["status"] == "captured"
        response = documents(session, hub)[-1]
        assert response.kind == "ORDRSP"
        assert [(s.value(1), s.value(2)) for s in segments(response.body, "LIN")] == [
            ("1", "5"),  # accepted
            ("2", "5"),  # mapped to our product: accepted
            ("3", "7"),  # removed: not accepted
            ("4", "3"),  # 2.5 of a unit product corrected to 3: changed
        ]
        assert ("113", "3") in [s.elements[0][:2] for s in segments(response.body, "QTY")]


def quantities(body: bytes) -> list[tuple[str, ...]]:
    return [s.elements[0][:2] for s in segments(body, "QTY")]


def lines(body: bytes) -> list[tuple[str, str]]:
    """(partner's line number, ORDRSP action) per LIN."""
    return [(s.value(1), s.value(2)) for s in segments(body, "LIN")]


class TestOrderResponseWhenTheOrderChanges:
    def test_closing_a_backorder_answers_the_line_changed_to_what_shipped(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        plenty, scarce, none = (
            make_product(session),
            make_product(session, stock="2"),
            make_product(session, stock="0"),
        )
        assert plenty.gtin and scarce.gtin and none.gtin
        lines_sent = [
            Line(plenty.gtin, 1, number="1"),
            Line(scarce.gtin, 5, number="2"),
            Line(none.gtin, 3, number="3"),
        ]
        number = ingest(session, hub, order_edifact(lines_sent)).body["orders"][0]
        ship(client, session, number)
        rep = auth_headers(session)

        closed = client.post(f"{ORDERS}/{number}/lines/2/close", headers=rep)

        assert closed.status_code == 200, closed.text
        *_, response = documents(session, hub)
        assert response.kind == "ORDRSP"
        assert lines(response.body) == [("1", "5"), ("2", "3"), ("3", "6")]  # 2: changed to the 2 shipped
        assert quantities(response.body) == [
            ("21", "1"),
            ("21", "5"),
            ("113", "2"),
            ("21", "3"),
            ("113", "0"),
            ("83", "3"),
        ]
        client.post(f"{ORDERS}/{number}/lines/3/close", headers=rep)
        *_, last = documents(session, hub)
        assert lines(last.body) == [("1", "5"), ("2", "3"), ("3", "7")]  # nothing of 3 will ship
        assert [d.kind for d in documents(session, hub)] == ["CONTRL", "ORDRSP", "ORDRSP", "ORDRSP", "ORDRSP"]

    def test_an_x12_partner_gets_its_855_when_a_backorder_is_closed(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session, stock="1")
        assert product.gtin
        number = ingest(session, hub, x12_850([Line(product.gtin, 3, qualifier="EN")])).body["orders"][0]
        ship(client, session, number)
        closed = client.post(
            f"{ORDERS}/{number}/lines/1/close", headers=auth_headers(session, role="warehouse")
        )
        assert closed.status_code == 200, closed.text
        response = documents(session, hub)[-1]
        assert response.kind == "855" and x12(response.body, "BAK")[0][1] == "AC"
        assert [a[:2] for a in x12(response.body, "ACK")] == [["IQ", "1"]]

    def test_a_voided_delivery_note_answers_its_goods_backordered_again(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        plenty, scarce = make_product(session), make_product(session, stock="2")
        assert plenty.gtin and scarce.gtin
        number = ingest(
            session, hub, order_edifact([Line(plenty.gtin, 1, number="1"), Line(scarce.gtin, 5, number="2")])
        ).body["orders"][0]
        ship(client, session, number)
        receive(client, session, scarce.code, 3)
        ship(client, session, number)  # everything has left
        notes = client.get("/api/v1/edi/orders", headers={"X-API-Key": hub.key}).json()["items"][0]
        second = notes["delivery_notes"][-1]["number"]

        voided = client.post(
            f"/api/v1/delivery-notes/{second}/void", headers=auth_headers(session, role="warehouse")
        )

        assert voided.status_code == 200, voided.text
        *_, response = documents(session, hub)
        assert response.kind == "ORDRSP" and response.delivery_note_number is None
        assert lines(response.body) == [("1", "5"), ("2", "6")]  # the 3 wait again
        assert quantities(response.body) == [("21", "1"), ("21", "5"), ("113", "2"), ("83", "3")]

    def test_voiding_the_only_note_answers_what_the_stock_can_ship_now(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        scarce = make_product(session, stock="2")
        assert scarce.gtin
        number = ingest(session, hub, order_edifact([Line(scarce.gtin, 5, number="7")])).body["orders"][0]
        ship(client, session, number)
        note = client.get("/api/v1/edi/orders", headers={"X-API-Key": hub.key}).json()["items"][0]
        client.post(
            f"/api/v1/delivery-notes/{note['delivery_notes'][0]['number']}/void",
            headers=auth_headers(session, role="warehouse"),
        )
        *_, response = documents(session, hub)
        assert response.kind == "ORDRSP" and lines(response.body) == [("7", "6")]
        assert quantities(response.body) == [("21", "5"), ("113", "2"), ("83", "3")]  # 2 back on the shelf

    def test_accepting_a_held_order_as_it_stands_sends_its_response(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, 2, price="0.01", number="4")]))
        [number] = answer.body["orders"]
        assert (
            client.get(f"{ORDERS}/{number}", headers=auth_headers(session)).json()["status"] == "needs_review"
        )
        before = len(documents(session, hub))

        accepted = client.post(f"{ORDERS}/{number}/accept", headers=auth_headers(session))

        assert accepted.status_code == 200 and accepted.json()["status"] == "captured"
        *_, response = documents(session, hub)
        assert len(documents(session, hub)) == before + 1 and response.kind == "ORDRSP"
        assert segments(response.body, "BGM")[0].value(3) == "29" and lines(response.body) == [("4", "5")]
        assert segments(response.body, "FTX") == []  # no longer held

    def test_a_line_mapped_to_a_product_short_of_stock_is_answered_backordered(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        short = make_product(session, stock="1")
        number = ingest(
            session, hub, order_edifact([Line("UNKNOWN-41", 3, qualifier="IN", number="1")])
        ).body["orders"][0]
        rep = auth_headers(session)
        [held] = client.get(f"{ORDERS}/{number}", headers=rep).json()["unresolved_lines"]
        mapped = client.post(
            f"/api/v1/edi/orders/{number}/unresolved-lines/{held['id']}/map",
            json={"product_code": short.code, "reason": "their code for ours"},
            headers=rep,
        )
        assert mapped.json()["status"] == "captured"
        *_, response = documents(session, hub)
        assert lines(response.body) == [("1", "6")]
        assert quantities(response.body) == [("21", "3"), ("113", "1"), ("83", "2")]

    def test_a_phone_order_leaves_review_and_cancels_without_edi_documents(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session, stock="1")
        rep = auth_headers(session)
        hub = make_hub(session)
        body = {
            "customer_code": hub.customer.code,
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 3}],
        }
        number = client.post(ORDERS, json=body, headers=rep).json()["number"]
        ship(client, session, number)
        assert client.post(f"{ORDERS}/{number}/lines/1/close", headers=rep).status_code == 200
        assert documents(session, hub) == []


class TestPartnerReadApi:
    def test_a_partner_lists_its_customers_orders_with_shipped_backordered_and_notes(
        self, client: TestClient, session: Session
    ) -> None:
        hub, other = make_hub(session), make_hub(session, gln="5412345000044")
        product, scarce = make_product(session), make_product(session, stock="1")
        assert product.gtin and scarce.gtin
        first = ingest(
            session,
            hub,
            order_edifact([Line(product.gtin, 2, number="10"), Line(scarce.gtin, 4, number="20")]),
        ).body["orders"][0]
        second = ingest(
            session, hub, order_edifact([Line("UNKNOWN-31", 1, qualifier="IN")], control_ref="2")
        ).body["orders"][0]
        rep = auth_headers(session)
        phone = client.post(
            ORDERS,
            json={
                "customer_code": hub.customer.code,
                "channel": "phone",
                "lines": [{"product_code": product.code, "quantity": 1}],
            },
            headers=rep,
        ).json()["number"]
        ingest(session, other, order_edifact([Line(product.gtin, 1)], buyer="5412345000044"))
        ship(client, session, first)

        page = client.get("/api/v1/edi/orders?limit=2", headers={"X-API-Key": hub.key}).json()

        assert [o["number"] for o in page["items"]] == [phone, second] and page["next_cursor"]
        rest = client.get(
            f"/api/v1/edi/orders?cursor={page['next_cursor']}", headers={"X-API-Key": hub.key}
        ).json()
        [shipped] = rest["items"]
        assert rest["next_cursor"] is None and shipped["number"] == first
        assert shipped["status"] == "partially_shipped" and shipped["po_number"] == "PO-1"
        assert [
            (li["external_line_no"], li["ordered"], li["shipped"], li["backordered"])
            for li in shipped["lines"]
        ] == [
            ("10", 2, 2, 0),
            ("20", 4, 1, 3),
        ]
        [note] = shipped["delivery_notes"]
        assert note["number"].startswith("BL-") and [
            (li["order_line_no"], li["quantity"]) for li in note["lines"]
        ] == [(1, 2), (2, 1)]
        held = page["items"][1]
        assert held["status"] == "needs_review" and held["unresolved_lines"][0]["reason"] == "unknown_item"

    def test_who_reads_what(self, client: TestClient, session: Session) -> None:
        hub, other = make_hub(session), make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        ingest(session, hub, order_edifact([Line(product.gtin, 1)]))
        assert client.get("/api/v1/edi/orders", headers={"X-API-Key": other.key}).json()["items"] == []
        assert (
            client.get(
                f"/api/v1/edi/orders?partner={hub.partner.name}", headers={"X-API-Key": other.key}
            ).status_code
            == 403
        )
        rep = client.get(
            f"/api/v1/edi/orders?partner={hub.partner.name}", headers=auth_headers(session)
        ).json()
        assert len(rep["items"]) == 1
        assert (
            client.get("/api/v1/edi/orders", headers=auth_headers(session, role="warehouse")).status_code
            == 403
        )
        filtered = client.get("/api/v1/edi/orders?status=shipped", headers={"X-API-Key": hub.key}).json()
        assert filtered["items"] == []
        assert session.execute(select(SaleOrder.id)).first() is not None
