"""Despatch advice: on each shipment of an EDI order, an EANCOM DESADV, an X12 856 or a JSON advice
for the partners whose profile asks for it, written with the shipment, in the outbox."""

from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.edi.ack_common import AckControl
from app.edi.despatch import DespatchAdvice, DespatchLine, eancom_desadv, json_despatch_advice, x12_856
from app.edi.documents import Envelope, FunctionalGroup, Party
from app.edi.edifact import parse_edifact
from app.edi.edifact_syntax import Segment, tokenize
from app.edi.models import EdiAcknowledgment, EdiPartnerProfile
from app.edi.x12 import parse_x12
from tests.builders import auth_headers, make_product
from tests.edi.edi_builders import Hub, Line, ingest, make_hub, order_edifact, x12_850

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
CONTROL = AckControl(interchange_ref="501", prepared_at=NOW, group_ref="501")
EDIFACT_ENVELOPE = Envelope(
    control_ref="1001",
    sender_id="5412345000013",
    receiver_id="5499999000009",
    sender_qualifier="14",
    receiver_qualifier="14",
    syntax="UNOC",
    syntax_version="3",
    test=False,
    prepared_at=None,
    messages=(),
    groups=(),
)
X12_ENVELOPE = Envelope(
    control_ref="000000101",
    sender_id="BUYERX12",
    receiver_id="CARNET",
    sender_qualifier="ZZ",
    receiver_qualifier="ZZ",
    syntax="X12",
    syntax_version="00401",
    test=False,
    prepared_at=None,
    messages=(),
    groups=(FunctionalGroup("PO", "17", "BUYERX12", "CARNET", "004010", ()),),
)


def advice(lines: int = 2) -> DespatchAdvice:
    return DespatchAdvice(
        note_number="BL-2026-000042",
        issued_at=NOW,
        despatch_date=date(2026, 11, 27),
        order_number="CMD-2026-000007",
        po_number="PO-77",
        po_date=date(2026, 11, 20),
        parties=(Party("BY", "5412345000013", "9"), Party("DP", "5412345000020", "9")),
        lines=tuple(
            DespatchLine(
                line_number=str(n * 10),
                gtin=f"376012345{n:03d}0"[:13] if n % 5 else None,
                product_code=f"P{n:06d}",
                description=f"Article {n}",
                unit="PCE" if n % 2 else None,
                ordered=Decimal(5),
                shipped=Decimal(3) if n % 3 else Decimal(5),
                shipped_to_date=Decimal(3) if n % 3 else Decimal(5),
                backordered=Decimal(2) if n % 3 else Decimal(0),
            )
            for n in range(1, lines + 1)
        ),
    )


def segments(data: bytes, tag: str) -> list[Segment]:
    tokens = tokenize(data)
    assert tokens.errors == ()
    return [s for s in tokens.segments if s.tag == tag]


def x12(data: bytes, tag: str) -> list[list[str]]:
    return [s.split("*")[1:] for s in data.decode().split("~") if s.startswith(tag + "*")]


class TestBuilders:
    def test_a_desadv_names_the_note_the_order_and_what_shipped_and_what_follows(self) -> None:
        data = eancom_desadv(EDIFACT_ENVELOPE, advice(), control=CONTROL)
        parsed = parse_edifact(data)  # our reader checks UNT/UNZ counts and references
        assert [(m.type, m.release, m.association_code) for m in parsed.skipped] == [
            ("DESADV", "96A", "EAN007")
        ]
        assert (parsed.sender_id, parsed.receiver_id) == ("5499999000009", "5412345000013")
        assert segments(data, "BGM")[0].elements == (("351",), ("BL-2026-000042",), ("9",))
        assert [s.elements[0] for s in segments(data, "RFF")][:3] == [
            ("ON", "PO-77"),
            ("DQ", "BL-2026-000042"),
            ("VN", "CMD-2026-000007"),
        ]
        assert [(s.value(1), s.value(3, 1)) for s in segments(data, "LIN")] == [
            ("10", "3760123450010"),
            ("20", "3760123450020"),
        ]
        assert [s.elements[0] for s in segments(data, "QTY")] == [
            ("12", "3", "PCE"),
            ("21", "5", "PCE"),
            ("83", "2", "PCE"),
            ("12", "3"),  # no unit: the partner sent none
            ("21", "5"),
            ("83", "2"),
        ]
        assert segments(data, "CNT")[0].elements == (("2", "2"),)

    def test_an_856_has_a_shipment_an_order_and_an_item_level_per_line(self) -> None:
        data = x12_856(X12_ENVELOPE, advice(3), control=CONTROL, version="004010")
        parsed = parse_x12(data)
        assert [(m.type, m.reference) for m in parsed.skipped] == [("856", "0001")]
        assert (parsed.sender_id, parsed.receiver_id) == ("CARNET", "BUYERX12")
        assert x12(data, "BSN") == [["00", "BL-2026-000042", "20261127", "0930", "0001"]]
        assert x12(data, "HL") == [
            ["1", "", "S"],
            ["2", "1", "O"],
            ["3", "2", "I"],
            ["4", "2", "I"],
            ["5", "2", "I"],
        ]
        assert x12(data, "PRF") == [["PO-77", "", "", "20261120"]]
        assert x12(data, "SN1") == [
            ["10", "3", "PCE", "3", "5", "PCE", "", "BP"],
            ["20", "3", "EA", "3", "5", "EA", "", "BP"],
            ["30", "5", "PCE", "5", "5", "PCE", "", "AC"],
        ]
        assert x12(data, "N1")[0] == ["BY", "", "UL", "5412345000013"]

    def test_a_json_advice_for_partners_without_edi_envelopes(self) -> None:
        body = orjson.loads(json_despatch_advice(advice(), number="7", now=NOW))
        assert (body["delivery_note"], body["po_number"]) == ("BL-2026-000042", "PO-77")
        assert [(li["line"], li["shipped"], li["backordered"]) for li in body["lines"]] == [
            ("10", "3", "2"),
            ("20", "3", "2"),
        ]


def despatch_profile(session: Session, hub: Hub) -> None:
    session.add(
        EdiPartnerProfile(partner_id=hub.partner.id, despatch_advice=True, updated_at=NOW, updated_by="test")
    )
    session.flush()


def outbox(client: TestClient, hub: Hub) -> list[dict[str, object]]:
    items = client.get("/api/v1/edi/outbox", headers={"X-API-Key": hub.key}).json()["items"]
    assert isinstance(items, list)
    return items


class TestOnShipment:
    def test_an_edifact_partner_gets_a_desadv_in_its_outbox_with_each_shipment(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        despatch_profile(session, hub)
        plenty, scarce = make_product(session), make_product(session, stock="2")
        assert plenty.gtin and scarce.gtin
        answer = ingest(
            session,
            hub,
            order_edifact([Line(plenty.gtin, 4, number="10"), Line(scarce.gtin, 5, number="20")]),
        )
        [number] = answer.body["orders"]
        warehouse = auth_headers(session, role="warehouse")

        shipped = client.post(f"/api/v1/orders/{number}/deliveries", headers=warehouse)

        assert shipped.status_code == 201, shipped.text
        note = shipped.json()["number"]
        [desadv] = [item for item in outbox(client, hub) if item["kind"] == "DESADV"]
        assert (desadv["kind"], desadv["order_number"], desadv["delivery_note_number"]) == (
            "DESADV",
            number,
            note,
        )
        assert desadv["interchange_id"] == answer.body["id"]
        body = client.get(str(desadv["url"]), headers={"X-API-Key": hub.key}).content
        assert segments(body, "BGM")[0].value(2) == note
        assert [s.value(1) for s in segments(body, "LIN")] == ["10", "20"]
        quantities = [s.elements[0][:2] for s in segments(body, "QTY")]
        assert quantities == [("12", "4"), ("21", "4"), ("12", "2"), ("21", "5"), ("83", "3")]
        listed = client.get(
            f"/api/v1/edi/interchanges/{answer.body['id']}/acknowledgments", headers={"X-API-Key": hub.key}
        )
        assert [a["kind"] for a in listed.json()] == ["CONTRL", "ORDRSP", "DESADV", "ORDRSP"]  # a backorder

    def test_an_x12_partner_gets_an_856(self, client: TestClient, session: Session) -> None:
        hub = make_hub(session, gln=None)
        despatch_profile(session, hub)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, x12_850([Line(product.gtin, 2, qualifier="EN")]))
        client.post(
            f"/api/v1/orders/{answer.body['orders'][0]}/deliveries",
            headers=auth_headers(session, role="warehouse"),
        )
        [item] = [i for i in outbox(client, hub) if i["kind"] == "856"]
        body = session.execute(
            select(EdiAcknowledgment.body).where(EdiAcknowledgment.id == item["id"])
        ).scalar_one()
        assert x12(body, "SN1") == [["1", "2", "EA", "2", "2", "EA", "", "AC"]]
        assert parse_x12(body).receiver_id == "BUYERX12"

    def test_a_partner_whose_profile_does_not_ask_gets_none_nor_does_a_phone_order(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        answer = ingest(session, hub, order_edifact([Line(product.gtin, 1)]))
        warehouse = auth_headers(session, role="warehouse")
        client.post(f"/api/v1/orders/{answer.body['orders'][0]}/deliveries", headers=warehouse)
        assert [i["kind"] for i in outbox(client, hub)] == ["CONTRL", "ORDRSP"]
        despatch_profile(session, hub)
        rep = auth_headers(session)
        phone = client.post(
            "/api/v1/orders",
            json={
                "customer_code": hub.customer.code,
                "channel": "phone",
                "lines": [{"product_code": product.code, "quantity": 1}],
            },
            headers=rep,
        ).json()
        assert (
            client.post(f"/api/v1/orders/{phone['number']}/deliveries", headers=warehouse).status_code == 201
        )
        assert [i["kind"] for i in outbox(client, hub)] == ["CONTRL", "ORDRSP"]

    def test_the_outbox_is_the_partners_own_and_polled_from_a_cursor(
        self, client: TestClient, session: Session
    ) -> None:
        hub, other = make_hub(session), make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        ingest(session, hub, order_edifact([Line(product.gtin, 1)]))
        first = client.get("/api/v1/edi/outbox?limit=1", headers={"X-API-Key": hub.key}).json()
        assert [i["kind"] for i in first["items"]] == ["CONTRL"]
        rest = client.get(
            f"/api/v1/edi/outbox?cursor={first['next_cursor']}", headers={"X-API-Key": hub.key}
        ).json()
        assert [i["kind"] for i in rest["items"]] == ["ORDRSP"] and rest["next_cursor"]
        later = client.get(
            f"/api/v1/edi/outbox?cursor={rest['next_cursor']}", headers={"X-API-Key": hub.key}
        ).json()
        assert later == {"items": [], "next_cursor": None}
        assert outbox(client, other) == []
        assert (
            client.get(
                f"/api/v1/edi/outbox?partner={hub.partner.name}", headers={"X-API-Key": other.key}
            ).status_code
            == 403
        )
        rep_view = client.get(
            f"/api/v1/edi/outbox?partner={hub.partner.name}", headers=auth_headers(session)
        ).json()
        assert len(rep_view["items"]) == 2
