"""Ingestion: the acknowledgments stored for the partner (CONTRL/ORDRSP/APERAK, 997/855/824, JSON),
their per-line outcomes and their gapless control numbers."""

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.edi.edifact_syntax import Segment, tokenize
from app.edi.models import EdiAcknowledgment
from tests.builders import make_product
from tests.edi.corpus import fixture
from tests.edi.edi_builders import (
    Hub,
    Line,
    edifact,
    ingest,
    make_hub,
    map_item,
    order_edifact,
    orders_message,
    x12_850,
)


def acknowledgments(session: Session, interchange_id: int) -> list[EdiAcknowledgment]:
    query = (
        select(EdiAcknowledgment)
        .where(EdiAcknowledgment.interchange_id == interchange_id)
        .order_by(EdiAcknowledgment.id)
    )
    return list(session.execute(query).scalars())


def segments(body: bytes, tag: str) -> list[Segment]:
    tokens = tokenize(body)
    assert tokens.errors == ()
    return [s for s in tokens.segments if s.tag == tag]


def x12_segments(body: bytes, tag: str) -> list[list[str]]:
    return [s.strip().split("*") for s in body.decode().split("~") if s.strip().startswith(tag + "*")]


class TestEdifact:
    def test_a_positive_contrl_then_one_ordrsp_per_order_with_an_outcome_per_line(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        plenty, scarce, fraction = (
            make_product(session),
            make_product(session, stock="2"),
            make_product(session, stock="100"),
        )
        assert plenty.gtin and scarce.gtin and fraction.gtin
        lines = [
            Line(plenty.gtin, 4, number="1"),
            Line(scarce.gtin, 5, number="2"),
            Line("4006381333931", 1, number="3"),
            Line(fraction.gtin, "1.5", number="4"),
        ]
        answer = ingest(session, hub, order_edifact(lines))
        contrl, ordrsp, aperak = acknowledgments(session, answer.body["id"])
        assert answer.body["acknowledgment_url"].endswith(f"/acknowledgments/{contrl.id}")
        assert (contrl.kind, contrl.content_type) == ("CONTRL", "application/EDIFACT")
        [uci] = segments(contrl.body, "UCI")
        assert (uci.value(1), uci.value(4)) == ("1001", "7")
        assert (ordrsp.kind, ordrsp.po_number, ordrsp.order_number) == (
            "ORDRSP",
            "PO-1",
            answer.body["orders"][0],
        )
        [bgm] = segments(ordrsp.body, "BGM")
        assert (bgm.value(2), bgm.value(3)) == (answer.body["orders"][0], "4")
        assert [(s.value(1), s.value(2)) for s in segments(ordrsp.body, "LIN")] == [
            ("1", "5"),  # accepted
            ("2", "6"),  # backordered: 2 now, 3 later
            ("3", "4"),  # unknown item: on the order, held for review
            ("4", "4"),  # 1.5 of a unit product: on the order as sent, held for review
        ]
        quantities = [(s.value(1, 1), s.value(1, 2)) for s in segments(ordrsp.body, "QTY")]
        assert ("113", "2") in quantities and ("83", "3") in quantities
        assert ("21", "1.5") in quantities
        texts = [s.value(4) for s in segments(ordrsp.body, "FTX")]
        assert texts[0] == "held for review: fractional_quantity, unknown_item"
        assert texts[1:] == ["held for review", "held for review"]
        assert (aperak.kind, aperak.order_number) == ("APERAK", answer.body["orders"][0])
        assert segments(aperak.body, "BGM")[0].elements == (("12E", "", "9"), (aperak.control_ref,), ("6",))
        assert [s.value(1) for s in segments(aperak.body, "ERC")] == ["UNKITEM", "FRACQTY"]
        assert [s.elements[0] for s in segments(aperak.body, "RFF")] == [
            ("ON", "PO-1"),
            ("ACW", "1"),
            ("LI", "3"),
            ("LI", "4"),
        ]

    def test_a_refused_message_is_answered_not_accepted(self, session: Session) -> None:
        hub = make_hub(session, gln=None, others=1)
        answer = ingest(session, hub, order_edifact([Line("4006381333931", 1)], buyer="5400000000011"))
        _, ordrsp, aperak = acknowledgments(session, answer.body["id"])
        assert segments(ordrsp.body, "BGM")[0].value(3) == "27" and ordrsp.order_number is None
        assert [s.value(2) for s in segments(ordrsp.body, "LIN")] == ["7"]
        assert segments(aperak.body, "BGM")[0].value(3) == "27"  # not accepted
        assert [s.value(1) for s in segments(aperak.body, "ERC")] == ["UNKBUYER"]
        assert "5400000000011" in segments(aperak.body, "FTX")[0].value(4)

    def test_a_message_whose_every_line_is_unknown_is_kept_and_answered_as_held(
        self, session: Session
    ) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, order_edifact([Line("4006381333931", 1)]))
        _, ordrsp, _aperak = acknowledgments(session, answer.body["id"])
        assert ordrsp.order_number == answer.body["orders"][0]
        assert segments(ordrsp.body, "BGM")[0].value(3) == "4"
        assert [s.value(2) for s in segments(ordrsp.body, "LIN")] == ["4"]

    def test_an_order_without_lines_is_kept_and_answered_as_held(self, session: Session) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, order_edifact([]))
        _, ordrsp, aperak = acknowledgments(session, answer.body["id"])
        assert [s.value(1) for s in segments(aperak.body, "ERC")] == ["NOLINE"]
        assert segments(ordrsp.body, "BGM")[0].value(3) == "4"
        assert segments(ordrsp.body, "FTX")[0].value(4) == "held for review: no_line"

    def test_a_syntax_error_gets_a_negative_contrl_naming_the_segment(self, session: Session) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        data = order_edifact([Line(product.gtin)]).replace(b"UNT+11+1", b"UNT+12+1")
        answer = ingest(session, hub, data)
        [contrl] = acknowledgments(session, answer.body["id"])
        assert segments(contrl.body, "UCI")[0].value(4) == "4"
        [ucm] = segments(contrl.body, "UCM")
        assert (ucm.value(1), ucm.value(3), ucm.value(4)) == ("1", "4", "29")  # UNT count wrong

    def test_control_numbers_are_gapless_per_partner(self, session: Session) -> None:
        hub, other = make_hub(session), make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        messages = [orders_message(str(n), f"PO-{n}", [Line(product.gtin)]) for n in (1, 2)]
        first = ingest(session, hub, edifact(*messages, control_ref="1"))
        second = ingest(session, hub, order_edifact([Line(product.gtin)], control_ref="2"))
        third = ingest(session, other, order_edifact([Line(product.gtin)], buyer="5412345000044"))

        def refs(answer_id: int) -> list[str]:
            return [a.control_ref for a in acknowledgments(session, answer_id)]

        assert refs(first.body["id"]) + refs(second.body["id"]) == ["1", "2", "3", "4", "5"]
        assert refs(third.body["id"]) == ["1", "2"]
        unb = segments(acknowledgments(session, second.body["id"])[0].body, "UNB")[0]
        assert unb.value(5) == "4"


class TestX12:
    def test_a_997_then_an_855_per_purchase_order(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        product = make_product(session, stock="1")
        assert product.gtin
        lines = [Line(product.gtin, 3, qualifier="EN"), Line("999999999999", 1, qualifier="VN")]
        answer = ingest(session, hub, x12_850(lines))
        ack997, ack855, ack824 = acknowledgments(session, answer.body["id"])
        assert (ack997.kind, ack997.content_type, ack855.kind) == ("997", "application/EDI-X12", "855")
        assert x12_segments(ack997.body, "AK1")[0][1:] == ["PO", "17"]
        assert x12_segments(ack997.body, "AK9")[0][1] == "A"
        [bak] = x12_segments(ack855.body, "BAK")
        assert (bak[2], bak[3], bak[8]) == ("AC", "PO-X1", answer.body["orders"][0])
        assert [ack[1:3] for ack in x12_segments(ack855.body, "ACK")] == [
            ["IA", "1"],
            ["IB", "2"],
            ["IH", "1"],  # unknown item: on hold, waiting for review
        ]
        # X12's APERAK: the 850 accepted with an error, the unknown item on its line
        assert (ack824.kind, ack824.content_type, ack824.order_number) == (
            "824",
            "application/EDI-X12",
            answer.body["orders"][0],
        )
        assert x12_segments(ack824.body, "GS")[0][1] == "AG"
        assert x12_segments(ack824.body, "OTI")[0][1:4] == ["TE", "PO", "PO-X1"]
        [ted] = x12_segments(ack824.body, "TED")
        assert ted[1] == "024" and "999999999999" in ted[2] and ted[3] == "PO1"
        assert x12_segments(ack824.body, "NTE") == [["NTE", "LIN", "2"]]

    def test_a_refused_850_gets_a_rejecting_824_with_the_reason(self, session: Session) -> None:
        hub = make_hub(session, gln=None, others=1)
        answer = ingest(
            session, hub, x12_850([Line("012345678905", 1, qualifier="UP")], buyer="5400000000011")
        )
        assert answer.body["orders"] == []
        *_, ack855, ack824 = acknowledgments(session, answer.body["id"])
        assert x12_segments(ack855.body, "BAK")[0][2] == "RD"
        assert ack824.kind == "824" and ack824.order_number is None
        assert x12_segments(ack824.body, "OTI")[0][1] == "TR"
        assert [ted[1] for ted in x12_segments(ack824.body, "TED")] == ["027"]  # the buyer is unknown

    def test_a_broken_850_gets_a_rejecting_997(self, session: Session) -> None:
        hub = make_hub(session, gln=None)
        data = x12_850([Line("012345678905", 1, qualifier="UP")]).replace(b"SE*5*0001", b"SE*9*0001")
        answer = ingest(session, hub, data)
        assert answer.body["status"] == "rejected"
        [ack] = acknowledgments(session, answer.body["id"])
        assert ack.kind == "997" and x12_segments(ack.body, "AK5")[0][1] == "R"


class TestJson:
    def test_xml_partners_get_a_json_acknowledgment_with_the_outcome_per_line(self, session: Session) -> None:
        hub: Hub = make_hub(session, gln="3020000000005")
        map_item(session, hub, "3760123456784", make_product(session, stock="1000"))
        data = fixture("ubl/order_2.1.xml")
        answer = ingest(session, hub, data, content_type="application/xml")
        assert answer.body["format"] == "ubl" and answer.body["status"] == "accepted"
        [ack] = acknowledgments(session, answer.body["id"])
        assert (ack.kind, ack.content_type) == ("JSON", "application/json")
        body = orjson.loads(ack.body)
        assert body["interchange_id"] == answer.body["id"] and body["status"] == "accepted"
        [order] = body["orders"]
        assert (order["po_number"], order["order"], order["status"]) == (
            "LQ-UBL-34",
            answer.body["orders"][0],
            "needs_review",
        )
        assert order["review"] == ["price_difference", "unknown_delivery_party", "unknown_item"]
        assert [(line["item"], line["status"], line["confirmed"]) for line in order["lines"]] == [
            ("3760123456784", "accepted", "120"),
            ("CARNET-ETUI-11", "pending", "0"),
        ]
        assert order["lines"][1]["reason"] == "unknown_item"

    def test_a_file_without_envelope_gets_a_json_rejection(self, session: Session) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, b"\x00 not an order")
        [ack] = acknowledgments(session, answer.body["id"])
        assert ack.kind == "JSON"
        body = orjson.loads(ack.body)
        assert body["status"] == "rejected" and body["errors"][0]["code"] == "unknown_format"

    def test_a_damaged_edifact_envelope_still_gets_a_negative_contrl(self, session: Session) -> None:
        hub = make_hub(session)
        answer = ingest(session, hub, b"UNB+garbage")
        [ack] = acknowledgments(session, answer.body["id"])
        assert ack.kind == "CONTRL" and segments(ack.body, "UCI")[0].value(4) == "4"
