"""X12: separators from ISA, envelope control rules and 850 mapping."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.edi.documents import ItemIdKind
from app.edi.issues import InterchangeRejected, Issue, IssueCode
from app.edi.x12 import parse_x12
from app.edi.x12_syntax import X12Separators, tokenize_x12
from tests.edi.corpus import fixture

PO_BODY = [
    "BEG*00*SA*PO-1**20250301",
    "N1*BY*Buyer Inc*92*B-7",
    "N1*ST*Store 12*UL*5412345000020",
    "PO1*1*5*EA*2.50**UP*012345678905",
    "PID*F****Blue widget",
    "PO1*2*1*CA***VN*W-9",
    "CTT*2",
]


def isa(control: str = "000000001", usage: str = "P") -> str:
    return (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'SENDER':<15}*ZZ*{'RECEIVER':<15}*250301*1200*U*00401*"
        f"{control}*0*{usage}*>"
    )


def transaction(
    reference: str = "0001",
    body: list[str] | None = None,
    *,
    kind: str = "850",
    se_count: int | None = None,
    se_ref: str | None = None,
) -> list[str]:
    segments = [f"ST*{kind}*{reference}", *(PO_BODY if body is None else body)]
    count = len(segments) + 1 if se_count is None else se_count
    return [*segments, f"SE*{count}*{reference if se_ref is None else se_ref}"]


def group(
    *sets: list[str], control: str = "7", functional_id: str = "PO", ge: str | None = None
) -> list[str]:
    segments = [f"GS*{functional_id}*SENDER*RECEIVER*20250301*1200*{control}*X*004010"]
    for set_segments in sets or (transaction(),):
        segments += set_segments
    return [*segments, ge or f"GE*{len(sets) or 1}*{control}"]


def interchange(*groups: list[str], control: str = "000000001", iea: str | None = None) -> bytes:
    segments = [isa(control)]
    for group_segments in groups or (group(),):
        segments += group_segments
    if iea != "":
        segments.append(iea or f"IEA*{len(groups) or 1}*{control}")
    return "~\n".join(segments).encode() + b"~\n"


def rejection(data: bytes) -> InterchangeRejected:
    with pytest.raises(InterchangeRejected) as caught:
        parse_x12(data)
    return caught.value


def codes(issues: tuple[Issue, ...]) -> set[IssueCode]:
    return {issue.code for issue in issues}


class TestSeparators:
    @pytest.mark.parametrize(
        ("name", "separators"),
        [
            ("850_tilde_element_sep.x12", X12Separators("~", "|", "\n")),
            ("850_pipe_4_sets.x12", X12Separators("|", ">", "~")),
            ("850_nak_terminator.x12", X12Separators("*", ":", "\x15")),
            ("850_cr_terminator_sln.x12", X12Separators("*", ">", "\r")),
            ("850_00302_at_compsep.x12", X12Separators("*", "@", "\n")),
        ],
    )
    def test_separators_come_from_the_isa(self, name: str, separators: X12Separators) -> None:
        tokens = tokenize_x12(fixture(f"x12/{name}"))
        assert tokens.interchanges[0].separators == separators
        assert tokens.errors == ()

    def test_terminator_followed_by_space_or_line_break_is_ignored(self) -> None:
        parsed = parse_x12(fixture("x12/850_tilde_space_two_sets.x12"))
        assert [o.po_number for o in parsed.orders] == ["801104", "PONUM-1234567"]
        assert parsed.orders[1].lines[0].identifiers[0].kind is ItemIdKind.ISBN

    def test_no_break_space_padding_and_bom_are_warnings(self) -> None:
        parsed = parse_x12(fixture("x12/850_bom_nbsp_isa.edi"))
        assert (parsed.sender_id, parsed.receiver_id) == ("LQ0001234", "CARNETDIST")
        assert codes(parsed.warnings) == {
            IssueCode.BOM,
            IssueCode.ENVELOPE_LAYOUT,
            IssueCode.CONTROL_REFERENCE_MISMATCH,
        }

    def test_tab_indented_segments(self) -> None:
        parsed = parse_x12(fixture("x12/850_bom_tab_indent.edi"))
        assert [line.item for line in parsed.orders[0].lines] == [
            "LQ_CA001-NOIR",
            "LQ_CA001-ROUGE",
            "LQ_CA001-VERT",
        ]
        assert any("102 characters" in w.detail for w in parsed.warnings)

    def test_letter_as_terminator_is_rejected(self) -> None:
        data = isa().encode() + b"AGS*PO"
        assert codes(rejection(data).issues) == {IssueCode.INVALID_SEPARATORS}

    def test_data_not_starting_with_isa_is_rejected(self) -> None:
        assert codes(rejection(b"GS*PO*A*B~").issues) == {IssueCode.UNKNOWN_FORMAT}

    def test_garbage_after_the_last_interchange_is_rejected(self) -> None:
        caught = rejection(interchange() + b"HELLO")
        assert codes(caught.issues) == {IssueCode.UNEXPECTED_DATA}


def wrap(data: bytes, width: int, line_break: bytes = b"\r\n") -> bytes:
    """Cut every line longer than ``width`` as a legacy network does."""
    return b"".join(
        line_break.join(line[i : i + width] for i in range(0, len(line), width)) + b"\n"
        for line in data.splitlines()
    )


class TestHardWrapped:
    def test_a_file_wrapped_at_80_columns_is_unwrapped_and_nothing_is_lost(self) -> None:
        parsed = parse_x12(fixture("x12/850_wrapped_80col.x12"))
        first, second = parsed.orders
        assert len(first.lines) == 3 and len(second.lines) == 8
        assert [line.item for line in second.lines] == [f"LQ-AGENDA-{n:06d}" for n in range(1, 9)]
        assert second.lines[7].identifiers[1].value == "037600200080"
        assert parsed.sender_id == "LQWRAP80" and parsed.prepared_at is not None
        assert codes(parsed.warnings) == {IssueCode.HARD_WRAPPED}

    def test_a_wrapped_file_whose_terminator_is_a_line_break_is_rejected(self) -> None:
        data = wrap(fixture("x12/850_lf_terminator.x12"), 80, b"\n")
        caught = rejection(data)
        assert codes(caught.issues) == {IssueCode.HARD_WRAPPED}
        assert caught.issues[0].where.segment_tag == "ISA"

    def test_a_line_break_after_each_terminator_is_no_wrapping(self) -> None:
        assert parse_x12(interchange()).warnings == ()


class TestCharacterSets:
    def test_bytes_that_are_not_utf8_are_read_as_windows_1252_and_said(self) -> None:
        data = interchange().replace(b"Buyer Inc", "Librairie Gén".encode("cp1252"))
        parsed = parse_x12(data)
        assert parsed.orders[0].party("BY").name == "Librairie Gén"  # type: ignore[union-attr]
        assert (parsed.encoding, codes(parsed.warnings)) == ("windows-1252", {IssueCode.CHARSET_MISMATCH})

    def test_the_partners_declared_charset_is_used(self) -> None:
        data = interchange().replace(b"Buyer Inc", "Librairie Gén".encode("latin-1"))
        parsed = parse_x12(data, charset="iso-8859-1")
        assert (parsed.encoding, parsed.warnings) == ("iso-8859-1", ())


class TestEnvelopeRules:
    def test_se_count_mismatch_is_rejected_where_it_is(self) -> None:
        caught = rejection(interchange(group(transaction(se_count=4))))
        assert codes(caught.issues) == {IssueCode.CONTROL_COUNT_MISMATCH}
        assert caught.issues[0].loc == "segment 11 (SE) element 1 in message 0001"
        assert caught.interchange is not None and caught.interchange.orders[0].po_number == "PO-1"

    def test_se_reference_mismatch_is_rejected(self) -> None:
        assert codes(rejection(interchange(group(transaction(se_ref="0002")))).issues) == {
            IssueCode.CONTROL_REFERENCE_MISMATCH
        }

    @pytest.mark.parametrize(
        ("ge", "code"),
        [("GE*2*7", IssueCode.CONTROL_COUNT_MISMATCH), ("GE*1*8", IssueCode.CONTROL_REFERENCE_MISMATCH)],
    )
    def test_ge_must_match_its_group(self, ge: str, code: IssueCode) -> None:
        caught = rejection(interchange(group(transaction(), ge=ge)))
        assert codes(caught.issues) == {code}
        assert caught.issues[0].where.segment_tag == "GE"

    def test_iea_count_mismatch_is_rejected(self) -> None:
        assert codes(rejection(interchange(iea="IEA*2*000000001")).issues) == {
            IssueCode.CONTROL_COUNT_MISMATCH
        }

    def test_iea_reference_mismatch_with_right_count_is_a_warning(self) -> None:
        parsed = parse_x12(interchange(iea="IEA*1*000000009"))
        assert codes(parsed.warnings) == {IssueCode.CONTROL_REFERENCE_MISMATCH}

    def test_missing_iea_after_complete_groups_is_a_warning(self) -> None:
        parsed = parse_x12(interchange(iea=""))
        assert codes(parsed.warnings) == {IssueCode.MISSING_TRAILER}

    def test_set_without_se_is_rejected_as_truncated(self) -> None:
        data = interchange()
        caught = rejection(data[: data.index(b"CTT")])
        assert IssueCode.TRUNCATED in codes(caught.issues)

    def test_missing_ge_is_rejected(self) -> None:
        caught = rejection(interchange(group()[:-1]))
        assert IssueCode.MISSING_SEGMENT in codes(caught.issues)

    def test_segment_outside_a_set_is_rejected(self) -> None:
        caught = rejection(interchange([*group()[:-1], "PO1*3*1*EA", "GE*1*7"]))
        assert codes(caught.issues) == {IssueCode.UNEXPECTED_SEGMENT}

    def test_non_850_sets_are_skipped_and_listed(self) -> None:
        parsed = parse_x12(fixture("x12/810_850_two_groups.edi"))
        assert [(m.type, m.reference) for m in parsed.skipped] == [("810", "000000001"), ("810", "000000002")]
        assert [g.functional_id for g in parsed.envelopes[0].groups] == ["IN", "PO"]
        assert parsed.orders[0].message.group_ref == "165"  # type: ignore[union-attr]

    def test_concatenated_interchanges_with_the_same_control_number(self) -> None:
        parsed = parse_x12(fixture("x12/850_concat_same_control.edi"))
        assert len(parsed.envelopes) == 2 and len(parsed.orders) == 2
        assert codes(parsed.warnings) == {IssueCode.DUPLICATE_CONTROL_REFERENCE}


class TestPurchaseOrder:
    def test_vics_order(self) -> None:
        parsed = parse_x12(fixture("x12/850_vics.edi"))
        assert (parsed.sender_id, parsed.receiver_id, parsed.control_ref, parsed.test) == (
            "4405197800",
            "999999999",
            "000003438",
            False,
        )
        assert parsed.prepared_at == datetime(2026, 11, 16, 17, 19)
        assert parsed.envelopes[0].acknowledgment_requested is False
        order = parsed.orders[0]
        assert (order.po_number, order.document_type, order.document_date) == (
            "LQ82922332",
            "SA",
            date(2026, 11, 16),
        )
        assert order.requested_delivery_date == date(2026, 12, 4)
        assert order.delivery_party_id == "3020000000012"
        assert order.buyer_id is None
        header = order.message
        assert header is not None and (header.type, header.reference, header.version, header.group_ref) == (
            "850",
            "000000010",
            "004010VICS",
            "1421",
        )
        line = order.lines[0]
        assert (line.line_number, line.quantity, line.unit, line.unit_price, line.description) == (
            "1",
            Decimal(120),
            "EA",
            Decimal("9.25"),
            "PETIT CARNET",
        )
        assert [(i.kind, i.value) for i in line.identifiers] == [
            (ItemIdKind.BUYER, "LQ-117"),
            (ItemIdKind.OTHER, "RO"),
            (ItemIdKind.SELLER, "AB3542"),
        ]
        assert (line.identifier(ItemIdKind.SELLER), line.identifier(ItemIdKind.GTIN)) == ("AB3542", None)

    def test_built_order_with_parties_and_lines(self) -> None:
        order = parse_x12(interchange()).orders[0]
        assert order.buyer_id == "B-7" and order.delivery_party_id == "5412345000020"
        assert [(line.item, line.quantity) for line in order.lines] == [
            ("012345678905", Decimal(5)),
            ("W-9", Decimal(1)),
        ]
        assert order.lines[0].identifiers[0].kind is ItemIdKind.UPC

    def test_missing_beg_is_rejected(self) -> None:
        caught = rejection(interchange(group(transaction(body=PO_BODY[1:]))))
        assert codes(caught.issues) == {IssueCode.MISSING_SEGMENT}

    def test_unreadable_quantity_is_rejected_at_po102(self) -> None:
        body = [*PO_BODY[:3], "PO1*1*five*EA***UP*012345678905", "CTT*1"]
        caught = rejection(interchange(group(transaction(body=body))))
        assert caught.issues[0].loc == "segment 7 (PO1) element 2 in message 0001"
        assert caught.issues[0].where.segment_position == 5

    def test_line_without_product_id_is_rejected(self) -> None:
        body = [*PO_BODY[:3], "PO1*1*5*EA", "CTT*1"]
        assert codes(rejection(interchange(group(transaction(body=body)))).issues) == {
            IssueCode.MISSING_VALUE
        }

    def test_line_count_control_total_mismatch_is_a_warning_and_declared_on_the_order(self) -> None:
        parsed = parse_x12(interchange(group(transaction(body=[*PO_BODY[:-1], "CTT*3"]))))
        assert codes(parsed.warnings) == {IssueCode.CONTROL_TOTAL_MISMATCH}
        assert (parsed.orders[0].declared_line_count, len(parsed.orders[0].lines)) == (3, 2)
