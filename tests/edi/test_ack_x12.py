"""X12 acknowledgments (997, 855, 824), parsed back with Carnet's own X12 reader."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from app.edi.acknowledgments import AckControl, ApplicationError, LineOutcome, x12_824, x12_855, x12_997
from app.edi.documents import Interchange
from app.edi.issues import InterchangeRejected
from app.edi.parse import parse_interchange
from app.edi.x12 import parse_x12
from app.edi.x12_syntax import X12Segment, tokenize_x12
from tests.edi.corpus import fixture

CONTROL = AckControl(
    interchange_ref="4711", prepared_at=datetime(2025, 3, 1, 12, 30), group_ref="88", message_ref="1"
)


def received(data: bytes) -> Interchange | InterchangeRejected:
    try:
        return parse_interchange(data)
    except InterchangeRejected as rejection:
        return rejection


def x12_file(name: str) -> bytes:
    return fixture(f"x12/{name}")


def accepted(name: str) -> Interchange:
    result = received(x12_file(name))
    assert isinstance(result, Interchange)
    return result


def segments(data: bytes) -> list[X12Segment]:
    tokens = tokenize_x12(data)
    assert tokens.errors == ()
    return tokens.interchanges[0].segments


def find(data: bytes, tag: str) -> list[list[str]]:
    return [list(s.elements) for s in segments(data) if s.tag == tag]


def read_back(data: bytes) -> Interchange:
    """Our own reader checks SE/GE/IEA counts and control numbers of what we wrote."""
    parsed = parse_x12(data)
    assert parsed.orders == () and parsed.warnings == ()
    return parsed


class Test997:
    def test_positive_997_per_group_with_swapped_parties(self) -> None:
        data = x12_997(accepted("810_850_two_groups.edi"), control=CONTROL)
        parsed = read_back(data)
        assert (parsed.sender_id, parsed.receiver_id, parsed.control_ref) == (
            "CARNETISA",
            "LIBQUAISISA",
            "000004711",
        )
        assert parsed.test is True
        assert [(m.type, m.reference) for m in parsed.skipped] == [("997", "0001"), ("997", "0002")]
        assert find(data, "GS")[0][0] == "FA" and find(data, "GS")[0][5] == "88"
        assert find(data, "AK1") == [["IN", "1"], ["PO", "165"]]
        assert find(data, "AK9") == [["A", "2", "2", "2"], ["A", "1", "1", "1"]]

    def test_shape_matches_the_reference_997(self) -> None:
        reference = [s.tag for s in segments(x12_file("997_rejecting_850.edi"))]
        data = x12_997(
            received(x12_file("850_lf_terminator.x12").replace(b"SE*9", b"SE*8")),
            control=CONTROL,
        )
        read_back(data)
        assert [s.tag for s in segments(data)] == [t for t in reference if t not in ("AK3", "AK4")]

    def test_set_count_error_rejects_with_ak5_code(self) -> None:
        data = x12_file("850_lf_terminator.x12").replace(b"SE*9", b"SE*8")
        ack = x12_997(received(data), control=CONTROL)
        read_back(ack)
        assert find(ack, "AK2") == [["850", "0278"]]
        assert find(ack, "AK5") == [["R", "4"]]
        assert find(ack, "AK9") == [["R", "1", "1", "0"]]

    def test_element_error_is_detailed_with_ak3_and_ak4(self) -> None:
        data = x12_file("850_lf_terminator.x12").replace(b"PO1**2*CA", b"PO1**two*CA")
        ack = x12_997(received(data), control=CONTROL)
        read_back(ack)
        assert find(ack, "AK3") == [["PO1", "5", "", "8"]]
        assert find(ack, "AK4") == [["2", "", "6"]]
        assert find(ack, "AK5") == [["R", "5"]]

    def test_group_trailer_error_is_reported_on_ak9(self) -> None:
        data = x12_file("850_lf_terminator.x12").replace(b"GE*1*183", b"GE*2*183")
        ack = x12_997(received(data), control=CONTROL)
        assert find(ack, "AK9") == [["R", "1", "1", "0", "5"]]

    def test_tolerated_defects_are_accepted_with_errors_noted(self) -> None:
        ack = x12_997(accepted("850_missing_terminator.edi"), control=CONTROL)
        read_back(ack)
        assert find(ack, "AK5") == [["E"], ["E"]]

    def test_isa13_must_be_nine_digits_at_most(self) -> None:
        control = AckControl(interchange_ref="1234567890", prepared_at=CONTROL.prepared_at)
        with pytest.raises(ValueError):
            x12_997(accepted("850_vics.edi"), control=control)


class Test855:
    def test_lines_are_acknowledged_one_by_one(self) -> None:
        subject = accepted("850_vics.edi")
        order = subject.orders[0]
        lines = order.lines
        outcomes = [
            LineOutcome.accept(lines[0]),
            LineOutcome.change(lines[1], Decimal(200)),
            LineOutcome.backorder(lines[2], Decimal(100)),
            LineOutcome.backorder(lines[3], Decimal(0)),
            LineOutcome.reject(lines[4]),
            LineOutcome.accept(lines[5]),
        ]
        data = x12_855(subject, order, outcomes, control=CONTROL, response_number="CN-1")
        parsed = read_back(data)
        assert [(m.type, m.reference) for m in parsed.skipped] == [("855", "0001")]
        assert find(data, "GS")[0][0] == "PR"
        assert find(data, "BAK") == [["00", "AC", "LQ82922332", "20261116", "", "", "", "CN-1", "20250301"]]
        assert find(data, "ACK") == [
            ["IA", "120", "EA"],
            ["IQ", "200", "EA"],
            ["IA", "100", "EA"],
            ["IB", "26", "EA"],
            ["IB", "76", "EA"],
            ["IR", "72", "EA"],
            ["IA", "696", "EA"],
        ]
        assert find(data, "PO1")[0] == ["1", "120", "EA", "9.25", "", "CB", "LQ-117"]
        assert find(data, "CTT") == [["6"]]

    def test_shape_matches_the_reference_855(self) -> None:
        reference = [s.tag for s in segments(x12_file("855_two_sets.edi"))]
        subject = accepted("850_lf_terminator.x12")
        order = subject.orders[0]
        data = x12_855(
            subject,
            order,
            [LineOutcome.accept(line) for line in order.lines],
            control=CONTROL,
            response_number="CN-2",
        )
        tags = [s.tag for s in segments(data)]
        assert tags[:4] == reference[:4] == ["ISA", "GS", "ST", "BAK"]
        assert tags[-3:] == ["SE", "GE", "IEA"]
        assert find(data, "BAK")[0][:3] == ["00", "AD", "LQX-1001"]

    def test_all_rejected_is_reject_with_detail(self) -> None:
        subject = accepted("850_lf_terminator.x12")
        order = subject.orders[0]
        data = x12_855(
            subject,
            order,
            [LineOutcome.reject(line) for line in order.lines],
            control=CONTROL,
            response_number="CN-3",
        )
        assert find(data, "BAK")[0][1] == "RD"


class Test824:
    def test_application_errors_are_reported_against_the_850_and_its_lines(self) -> None:
        subject = accepted("850_vics.edi")
        order = subject.orders[0]
        errors = [
            ApplicationError("UNKITEM", "line 2 (LQ-118 x 72): no product of ours has this item id", "2"),
            ApplicationError("PRICE", "the partner's price 9.25 differs from ours: 8.90"),
            ApplicationError("FRACQTY", "line 3: 2.5 of a product sold in units", "3"),
        ]
        data = x12_824(subject, order, errors, control=CONTROL, response_number="AA-7", refused=False)
        parsed = read_back(data)
        assert [(m.type, m.reference) for m in parsed.skipped] == [("824", "0001")]
        assert find(data, "GS")[0][:3] == ["AG", "999999999", "4405197800"]
        assert find(data, "BGN") == [["11", "AA-7", "20250301", "1230"]]
        [oti] = find(data, "OTI")
        # accepted with errors (the order waits for review), naming the 850 as its sender sent it
        assert oti[:5] == ["TE", "PO", "LQ82922332", "4405197800", "999999999"]
        assert oti[7:] == ["1421", "000000010", "850", "004010VICS"]
        assert find(data, "TED") == [
            ["024", "line 2 (LQ-118 x 72): no product of ours has this item id", "PO1"],
            ["011", "the partner's price 9.25 differs from ours: 8.90"],
            ["012", "line 3: 2.5 of a product sold in units", "PO1"],
        ]
        assert find(data, "NTE") == [["LIN", "2"], ["LIN", "3"]]

    def test_a_refused_order_is_rejected_and_free_text_cannot_break_the_segment(self) -> None:
        subject = accepted("850_lf_terminator.x12")
        order = subject.orders[0]
        long = "buyer 5400000000011*unknown~to us>" + "x" * 80
        data = x12_824(
            subject,
            order,
            [ApplicationError("UNKBUYER", long)],
            control=CONTROL,
            response_number="9",
            refused=True,
        )
        read_back(data)
        assert find(data, "OTI")[0][0] == "TR"
        [ted] = find(data, "TED")
        assert (
            ted[0] == "027" and len(ted[1]) == 60 and ted[1].startswith("buyer 5400000000011 unknown to us ")
        )
        with pytest.raises(ValueError):
            x12_824(subject, order, [], control=CONTROL, response_number="3", refused=True)
