"""EDIFACT acknowledgments (CONTRL, EANCOM ORDRSP), parsed back with Carnet's own tokenizer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest

from app.edi.acknowledgments import (
    AckControl,
    ApplicationError,
    LineOutcome,
    LineStatus,
    eancom_aperak,
    eancom_ordrsp,
    edifact_contrl,
)
from app.edi.documents import Interchange, OrderLine
from app.edi.edifact import parse_edifact
from app.edi.edifact_syntax import Segment, tokenize
from app.edi.issues import InterchangeRejected
from app.edi.parse import parse_interchange
from tests.edi.corpus import fixture

CONTROL = AckControl(interchange_ref="900001", prepared_at=datetime(2025, 3, 1, 12, 30), message_ref="1")


def received_bytes(data: bytes) -> Interchange | InterchangeRejected:
    try:
        return parse_interchange(data)
    except InterchangeRejected as rejection:
        return rejection


def received(name: str) -> Interchange | InterchangeRejected:
    return received_bytes(fixture(name))


def accepted(name: str) -> Interchange:
    result = received(name)
    assert isinstance(result, Interchange)
    return result


def segments(data: bytes) -> list[Segment]:
    tokens = tokenize(data)
    assert tokens.errors == ()
    return tokens.segments


def find(data: bytes, tag: str) -> list[Segment]:
    return [s for s in segments(data) if s.tag == tag]


def read_back(data: bytes) -> Interchange:
    """Our own reader checks UNT/UNZ counts and references of what we wrote."""
    parsed = parse_edifact(data)
    assert parsed.orders == ()
    return parsed


class TestContrl:
    def test_positive_contrl_swaps_parties_and_acknowledges_the_interchange(self) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        data = edifact_contrl(subject, control=CONTROL)
        parsed = read_back(data)
        assert (parsed.sender_id, parsed.receiver_id, parsed.control_ref) == (
            "3010000000006",
            "3020000000005",
            "900001",
        )
        assert [(m.type, m.version, m.release, m.association_code) for m in parsed.skipped] == [
            ("CONTRL", "D", "3", "EAN002")
        ]
        (uci,) = find(data, "UCI")
        assert uci.elements == (("7310",), ("3020000000005", "14"), ("3010000000006", "14"), ("7",))
        assert find(data, "UCM") == []

    def test_shape_matches_the_reference_acknowledgment(self) -> None:
        reference = [s.tag for s in segments(fixture("edifact/aperak_accepted.edi"))]
        ours = [
            s.tag
            for s in segments(edifact_contrl(accepted("edifact/orders_d96a_books.edi"), control=CONTROL))
        ]
        assert (ours[:2], ours[-2:]) == (reference[:2], reference[-2:]) == (["UNB", "UNH"], ["UNT", "UNZ"])

    def test_negative_contrl_reports_the_unt_count_on_the_message(self) -> None:
        subject = received("edifact/orders_unt_count_wrong.edi")
        data = edifact_contrl(subject, control=CONTROL)
        read_back(data)
        (uci,) = find(data, "UCI")
        assert uci.value(1) == "2" and uci.value(4) == "4"
        (ucm,) = find(data, "UCM")
        assert ucm.elements == (
            ("000042001",),
            ("ORDERS", "D", "96A", "UN", "EAN008"),
            ("4",),
            ("29",),
            ("UNT",),
            ("2",),
        )

    def test_negative_contrl_locates_segment_and_data_element_errors(self) -> None:
        data = edifact_contrl(received("edifact/orders_d01b_release_errors.edi"), control=CONTROL)
        read_back(data)
        tags = [(s.tag, s.elements) for s in segments(data) if s.tag in ("UCM", "UCS", "UCD")]
        assert tags == [
            ("UCM", (("2026120501",), ("ORDERS", "D", "01B", "UN", "EAN010"), ("4",))),
            ("UCS", (("13",),)),
            ("UCD", (("22",), ("4", "4"))),
            ("UCS", (("21",),)),
            ("UCD", (("16",), ("4", "7"))),
        ]

    def test_one_contrl_per_received_interchange(self) -> None:
        subject = accepted("edifact/orders_two_interchanges_mixed_eol.edi")
        data = edifact_contrl(subject, control=CONTROL)
        parsed = read_back(data)
        assert [m.reference for m in parsed.skipped] == ["1", "2"]
        assert [u.value(1) for u in find(data, "UCI")] == ["LQ2611-1", "LQ2611-2"]

    def test_every_interchange_of_a_rejected_file_is_rejected_and_errors_stay_with_theirs(self) -> None:
        data = fixture("edifact/orders_two_interchanges_mixed_eol.edi")
        subject = received_bytes(data.replace(b"UNZ+1+LQ2611-2", b"UNZ+5+LQ2611-2"))
        ack = edifact_contrl(subject, control=CONTROL)
        assert [u.elements[3:] for u in find(ack, "UCI")] == [(("4",),), (("4",), ("29",), ("UNZ",), ("2",))]

    def test_group_trailer_error_is_reported_on_ucf(self) -> None:
        data = fixture("edifact/orders_d96b_group.edi")
        subject = received_bytes(data.replace(b"UNE+1+1", b"UNE+2+1"))
        (ucf,) = find(edifact_contrl(subject, control=CONTROL), "UCF")
        assert ucf.elements[3:] == (("4",), ("29",), ("UNE",), ("2",))

    def test_values_outside_the_received_character_set_switch_the_reply_to_utf8(self) -> None:
        data = fixture("edifact/orders_no_unz.edi").replace(b"CARNETRECV", "ŁÓDŹ".encode())
        ack = edifact_contrl(received_bytes(data), control=CONTROL)
        parsed = read_back(ack)
        assert (parsed.charset, parsed.sender_id) == ("UNOY", "ŁÓDŹ")

    def test_test_indicator_is_echoed(self) -> None:
        data = edifact_contrl(accepted("edifact/orders_test_indicator.edi"), control=CONTROL)
        assert find(data, "UNB")[0].value(11) == "1"
        assert read_back(data).test is True

    def test_group_error_is_reported_on_ucf(self) -> None:
        data = fixture("edifact/orders_d96b_group.edi").replace(b"UNT+17+1", b"UNT+20+1")
        data = edifact_contrl(received_bytes(data), control=CONTROL)
        read_back(data)
        (ucf,) = find(data, "UCF")
        assert ucf.value(1) == "1" and ucf.value(4) == "4"
        assert find(data, "UCM")[0].value(4) == "29"

    def test_unreadable_or_unenveloped_data_cannot_be_acknowledged(self) -> None:
        with pytest.raises(ValueError):
            edifact_contrl(
                InterchangeRejected(received("edifact/orders_unt_count_wrong.edi").issues),  # type: ignore[union-attr]
                control=CONTROL,
            )
        with pytest.raises(ValueError):
            edifact_contrl(accepted("ubl/order_2.1.xml"), control=CONTROL)


def _change_to_one(line: OrderLine) -> LineOutcome:
    return LineOutcome.change(line, 1)


OUTCOME_MAKERS: dict[LineStatus, Callable[[OrderLine], LineOutcome]] = {
    LineStatus.ACCEPTED: LineOutcome.accept,
    LineStatus.REJECTED: LineOutcome.reject,
    LineStatus.CHANGED: _change_to_one,
}


class TestOrdrsp:
    def test_line_statuses_and_quantities(self) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        order = subject.orders[0]
        outcomes = [
            LineOutcome.accept(order.lines[0]),
            LineOutcome.reject(order.lines[1]),
            LineOutcome.backorder(order.lines[2], Decimal(1)),
        ]
        data = eancom_ordrsp(subject, order, outcomes, control=CONTROL, response_number="CN-7")
        parsed = read_back(data)
        assert [(m.type, m.release, m.association_code) for m in parsed.skipped] == [
            ("ORDRSP", "96A", "EAN005")
        ]
        assert find(data, "BGM")[0].elements == (("231",), ("CN-7",), ("4",))
        assert find(data, "RFF")[0].elements == (("ON", "LQ-26-0042"),)
        assert [(s.value(1), s.value(2)) for s in find(data, "LIN")] == [("1", "5"), ("2", "7"), ("3", "6")]
        assert [s.elements[0] for s in find(data, "QTY")] == [
            ("21", "5"),
            ("21", "1"),
            ("21", "3"),
            ("113", "1"),
            ("83", "2"),
        ]
        assert find(data, "CNT")[0].elements == (("2", "3"),)

    @pytest.mark.parametrize(
        ("status", "function"),
        [(LineStatus.ACCEPTED, "29"), (LineStatus.REJECTED, "27"), (LineStatus.CHANGED, "4")],
    )
    def test_message_function_follows_the_lines(self, status: LineStatus, function: str) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        order = subject.orders[0]
        make = OUTCOME_MAKERS[status]
        data = eancom_ordrsp(
            subject, order, [make(line) for line in order.lines], control=CONTROL, response_number="CN-8"
        )
        assert find(data, "BGM")[0].value(3) == function

    def test_outcomes_must_cover_every_line(self) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        order = subject.orders[0]
        with pytest.raises(ValueError):
            eancom_ordrsp(
                subject, order, [LineOutcome.accept(order.lines[0])], control=CONTROL, response_number="X"
            )

    def test_inconsistent_outcomes_are_refused(self) -> None:
        line = accepted("edifact/orders_d96a_books.edi").orders[0].lines[0]
        with pytest.raises(ValueError):
            LineOutcome(line.position, LineStatus.REJECTED, line.quantity, Decimal(1))
        with pytest.raises(ValueError):
            LineOutcome.backorder(line, line.quantity)


class TestAperak:
    def test_application_errors_are_listed_with_their_lines_and_read_back(self) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        order = subject.orders[0]
        errors = [
            ApplicationError(
                "UNKITEM", "line 2 (9782843300011 x 1): no product of ours has this item id", "2"
            ),
            ApplicationError("PRICE", "the partner's price 18.5 differs from ours"),
        ]
        data = eancom_aperak(subject, order, errors, control=CONTROL, response_number="AP-1", refused=False)
        parsed = read_back(data)
        assert [(m.type, m.association_code) for m in parsed.skipped] == [("APERAK", "EAN001")]
        assert (parsed.sender_id, parsed.receiver_id) == ("3010000000006", "3020000000005")
        reference = [s.tag for s in segments(fixture("edifact/aperak_accepted.edi"))]
        ours = [s.tag for s in segments(data)]
        assert ours[:4] == reference[:4] == ["UNB", "UNH", "BGM", "DTM"]
        assert find(data, "BGM")[0].elements == (("12E", "", "9"), ("AP-1",), ("6",))
        assert [s.elements for s in find(data, "ERC")] == [(("UNKITEM", "", "91"),), (("PRICE", "", "91"),)]
        assert [s.elements[0] for s in find(data, "RFF")] == [("ON", "LQ-26-0042"), ("ACW", "1"), ("LI", "2")]

    def test_a_refused_message_is_not_accepted_and_an_aperak_needs_an_error(self) -> None:
        subject = accepted("edifact/orders_d96a_books.edi")
        order = subject.orders[0]
        data = eancom_aperak(
            subject,
            order,
            [ApplicationError("UNKBUYER", "buyer unknown")],
            control=CONTROL,
            response_number="2",
            refused=True,
        )
        assert find(data, "BGM")[0].value(3) == "27"
        with pytest.raises(ValueError):
            eancom_aperak(subject, order, [], control=CONTROL, response_number="3", refused=True)
