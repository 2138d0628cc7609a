"""EDIFACT: tokenizer, envelope control rules and ORDERS mapping."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from app.edi.documents import DocumentFormat, Interchange, ItemIdKind
from app.edi.edifact import parse_edifact
from app.edi.edifact_syntax import DEFAULT_CHARS, ServiceChars, format_segment, tokenize
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.samples import eancom_orders_interchange
from tests.edi.corpus import fixture

ORDER_BODY = [
    "BGM+220+PO-1+9",
    "DTM+137:20250301:102",
    "DTM+2:20250310:102",
    "NAD+BY+5412345000013::9",
    "NAD+DP+5412345000020::9",
    "LIN+1++4006381333931:EN",
    "QTY+21:5",
    "UNS+S",
]


def message(
    reference: str = "1",
    body: list[str] | None = None,
    *,
    kind: str = "ORDERS:D:96A:UN:EAN008",
    unt_count: int | None = None,
    unt_ref: str | None = None,
) -> list[str]:
    segments = [f"UNH+{reference}+{kind}", *(ORDER_BODY if body is None else body)]
    count = len(segments) + 1 if unt_count is None else unt_count
    return [*segments, f"UNT+{count}+{reference if unt_ref is None else unt_ref}"]


def interchange(
    *messages: list[str],
    control: str = "42",
    syntax: str = "UNOC:3",
    unz: str | None = None,
    una: str = "",
    separator: str = "\n",
) -> bytes:
    segments = [f"UNB+{syntax}+SENDER:14+RECEIVER:14+250301:1200+{control}"]
    for segments_of_message in messages or (message(),):
        segments += segments_of_message
    if unz != "":
        segments.append(unz or f"UNZ+{len(messages) or 1}+{control}")
    return (una + separator.join(s + "'" for s in segments)).encode("latin-1")


def rejection(data: bytes) -> InterchangeRejected:
    with pytest.raises(InterchangeRejected) as caught:
        parse_edifact(data)
    return caught.value


def codes(issues: object) -> set[IssueCode]:
    return {issue.code for issue in issues}  # type: ignore[attr-defined]


class TestTokenizer:
    def test_segments_on_one_line_and_one_per_line_are_the_same(self) -> None:
        one_line = tokenize(interchange(separator=""))
        per_line = tokenize(interchange(separator="\r\n"))
        assert one_line.segments == per_line.segments
        assert one_line.segments[1].elements == (("1",), ("ORDERS", "D", "96A", "UN", "EAN008"))

    def test_line_breaks_inside_a_segment_are_ignored(self) -> None:
        data = interchange().replace(b"DTM+137:20250301", b"DTM+137:202503\n01")
        order = parse_edifact(data).orders[0]
        assert order.document_date == date(2025, 3, 1)

    def test_custom_service_string_advice_and_15_column_wrapping(self) -> None:
        tokens = tokenize(fixture("edifact/invoic_custom_una_wrapped15.edi"))
        assert tokens.chars == ServiceChars(
            component="=", element="*", decimal=".", release="?", terminator="~"
        )
        unb = tokens.segments[0]
        assert unb.tag == "UNB" and unb.elements[0] == ("UNOA", "3")
        nad = next(s for s in tokens.segments if s.tag == "NAD")
        assert nad.value(4) == "ATELIER DU LIVRE ANCIEN DE LYON"

    def test_released_separators_are_data(self) -> None:
        body = ["BGM+220+PO?+1?:A??B?'C+9", *ORDER_BODY[1:]]
        order = parse_edifact(interchange(message(body=body), una="UNA:+.? '")).orders[0]
        assert order.po_number == "PO+1:A?B'C"

    def test_invalid_release_sequence_is_rejected_where_it_is(self) -> None:
        body = [*ORDER_BODY[:5], "LIN+1++4006381333931:EN", "IMD+F++:::Milk ?*Marke?*", "QTY+21:5", "UNS+S"]
        caught = rejection(interchange(message(body=body)))
        issue = next(i for i in caught.issues if i.code is IssueCode.INVALID_RELEASE)
        assert issue.loc == "segment 9 (IMD) element 3 component 4 in message 1"
        assert issue.where.segment_position == 8
        assert caught.interchange is not None
        assert caught.interchange.orders[0].lines[0].description == "Milk *Marke*"

    def test_unreleased_component_separator_is_too_many_constituents(self) -> None:
        body = [*ORDER_BODY[:6], "IMD+F++:::Soup 1:10 und So 1:6:x", "QTY+21:5", "UNS+S"]
        caught = rejection(interchange(message(body=body), una="UNA:+.? '"))
        assert codes(caught.issues) == {IssueCode.TOO_MANY_CONSTITUENTS}
        assert caught.issues[0].where.component == 7

    def test_a_later_interchange_may_bring_its_own_service_string_advice(self) -> None:
        first = interchange(control="1")
        second = (
            interchange(control="2", una="UNA|*,# !")
            .replace(b"+", b"*")
            .replace(b":", b"|")
            .replace(b"'", b"!")
        )
        parsed = parse_edifact(first + b"\n" + second)
        assert [e.control_ref for e in parsed.envelopes] == ["1", "2"]
        assert [o.po_number for o in parsed.orders] == ["PO-1", "PO-1"]

    def test_unusable_service_string_advice_is_rejected(self) -> None:
        caught = rejection(interchange(una="UNA+++? '"))
        assert codes(caught.issues) == {IssueCode.INVALID_SEPARATORS}
        assert caught.issues[0].loc == "segment 0 (UNA)"

    def test_data_that_is_not_edifact_is_rejected(self) -> None:
        caught = rejection(b"HELLO+WORLD'")
        assert codes(caught.issues) == {IssueCode.UNKNOWN_FORMAT}

    def test_writer_releases_service_characters(self) -> None:
        segment = format_segment("FTX", ["AAI", "", "", ("It's 5+3", "a:b?")], DEFAULT_CHARS)
        assert segment == "FTX+AAI+++It?'s 5?+3:a?:b??'"
        parsed = tokenize(f"UNB+UNOA:3+A+B+250101:0000+1'{segment}".encode())
        assert parsed.segments[1].elements[3] == ("It's 5+3", "a:b?")


class TestHardWrapped:
    def test_a_file_wrapped_at_80_columns_is_read_with_a_warning(self) -> None:
        parsed = parse_edifact(fixture("edifact/orders_wrapped_80col.edi"))
        assert [len(order.lines) for order in parsed.orders] == [3, 1]
        assert codes(parsed.warnings) == {IssueCode.HARD_WRAPPED}

    def test_one_segment_per_line_is_no_wrapping(self) -> None:
        assert parse_edifact(interchange(separator="\r\n")).warnings == ()

    def test_a_wrapped_file_whose_terminator_is_a_line_break_is_rejected(self) -> None:
        terminated_by_line_breaks = interchange(separator="").replace(b"'", b"\n")
        assert parse_edifact(b"UNA:+.? \n" + terminated_by_line_breaks).orders  # readable as it is
        wrapped = b"\n".join(
            line[i : i + 30]
            for line in terminated_by_line_breaks.split(b"\n")
            for i in range(0, len(line) or 1, 30)
        )
        caught = rejection(b"UNA:+.? \n" + wrapped)
        assert IssueCode.HARD_WRAPPED in codes(caught.issues)


class TestCharacterSets:
    def test_undeclared_byte_in_unoa_is_rejected_at_its_segment(self) -> None:
        body = [*ORDER_BODY[:3], "NAD+BY+5412345000013::9++Caf\xe9", *ORDER_BODY[4:]]
        caught = rejection(interchange(message(body=body), syntax="UNOA:3"))
        issue = next(i for i in caught.issues if i.code is IssueCode.INVALID_CHARACTER)
        assert issue.where.segment_index == 6 and issue.where.segment_tag == "NAD"
        assert issue.where.message_ref == "1"

    def test_unoc_latin1_bytes_are_decoded_as_latin1(self) -> None:
        body = [*ORDER_BODY[:3], "NAD+BY+5412345000013::9++Caf\xe9", *ORDER_BODY[4:]]
        parsed = parse_edifact(interchange(message(body=body)))
        assert parsed.orders[0].parties[0].name == "Café"
        assert parsed.warnings == ()

    def test_unoc_label_on_utf8_bytes_is_read_as_utf8_with_a_warning(self) -> None:
        data = fixture("edifact/orders_unoc_utf8_pia_items.edi")
        parsed = parse_edifact(data)
        assert parsed.orders[0].party("SU").name == "Diffusion Carnet Librairie Générale"  # type: ignore[union-attr]
        assert codes(parsed.warnings) == {IssueCode.CHARSET_MISMATCH}
        assert parsed.charset == "UNOC"
        assert tokenize(data).encoding == "utf-8"

    def test_invalid_utf8_under_unoy_is_rejected(self) -> None:
        data = interchange(syntax="UNOY:4").replace(b"PO-1", b"PO-\xff")
        assert codes(rejection(data).issues) == {IssueCode.INVALID_CHARACTER}

    def test_unknown_syntax_identifier_is_rejected(self) -> None:
        caught = rejection(interchange(syntax="ABCD:1"))
        assert codes(caught.issues) == {IssueCode.UNSUPPORTED_SYNTAX}
        assert caught.issues[0].loc == "segment 1 (UNB) element 1 component 1"


class TestEnvelopeRules:
    def test_unt_count_mismatch_is_rejected_with_the_lenient_orders(self) -> None:
        caught = rejection(interchange(message(unt_count=99)))
        issue = caught.issues[0]
        assert issue.code is IssueCode.CONTROL_COUNT_MISMATCH
        assert issue.loc == "segment 11 (UNT) element 1 in message 1"
        assert issue.where.segment_position == 10
        assert caught.interchange is not None and caught.interchange.orders[0].po_number == "PO-1"

    def test_unt_reference_mismatch_is_rejected(self) -> None:
        caught = rejection(interchange(message(unt_ref="2")))
        assert codes(caught.issues) == {IssueCode.CONTROL_REFERENCE_MISMATCH}
        assert caught.issues[0].where.element == 2

    def test_unz_count_mismatch_is_rejected(self) -> None:
        caught = rejection(interchange(unz="UNZ+3+42"))
        assert codes(caught.issues) == {IssueCode.CONTROL_COUNT_MISMATCH}
        assert caught.issues[0].loc == "segment 12 (UNZ) element 1"

    def test_unz_reference_mismatch_with_right_count_is_a_warning(self) -> None:
        parsed = parse_edifact(interchange(unz="UNZ+1+43"))
        assert codes(parsed.warnings) == {IssueCode.CONTROL_REFERENCE_MISMATCH}

    def test_missing_unz_after_complete_messages_is_a_warning(self) -> None:
        parsed = parse_edifact(interchange(unz=""))
        assert codes(parsed.warnings) == {IssueCode.MISSING_TRAILER}
        assert len(parsed.orders) == 1

    def test_message_cut_before_unt_is_rejected_as_truncated(self) -> None:
        data = interchange()
        caught = rejection(data[: data.index(b"UNS")])
        assert IssueCode.TRUNCATED in codes(caught.issues)
        assert caught.interchange is not None

    def test_file_cut_inside_a_segment_is_rejected(self) -> None:
        data = interchange(unz="")
        caught = rejection(data[:-4])
        assert IssueCode.TRUNCATED in codes(caught.issues)

    def test_new_unh_before_unt_is_rejected(self) -> None:
        first = message()[:-1]
        caught = rejection(interchange(first, message("2"), unz="UNZ+2+42"))
        assert IssueCode.TRUNCATED in codes(caught.issues)

    def test_functional_group_is_checked_and_recorded(self) -> None:
        group = ["UNG+ORDERS+SENDER+RECEIVER+250301:1200+G1+UN+D:96A", *message(), "UNE+1+G1"]
        parsed = parse_edifact(interchange(group))
        (envelope,) = parsed.envelopes
        assert envelope.messages == ()
        assert envelope.groups[0].control_ref == "G1"
        assert [m.reference for m in envelope.groups[0].messages] == ["1"]
        assert parsed.orders[0].message.group_ref == "G1"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("une", "code"),
        [("UNE+2+G1", IssueCode.CONTROL_COUNT_MISMATCH), ("UNE+1+G2", IssueCode.CONTROL_REFERENCE_MISMATCH)],
    )
    def test_une_must_match_its_group(self, une: str, code: IssueCode) -> None:
        group = ["UNG+ORDERS+SENDER+RECEIVER+250301:1200+G1+UN+D:96A", *message(), une]
        assert codes(rejection(interchange(group)).issues) == {code}

    def test_segment_outside_a_message_is_rejected(self) -> None:
        caught = rejection(interchange([*message(), "LIN+2++4006381333931:EN"]))
        assert codes(caught.issues) == {IssueCode.UNEXPECTED_SEGMENT}
        assert caught.issues[0].loc == "segment 12 (LIN)"

    def test_interchange_without_message_is_rejected(self) -> None:
        data = b"UNB+UNOC:3+SENDER:14+RECEIVER:14+250301:1200+42'UNZ+0+42'"
        assert codes(rejection(data).issues) == {IssueCode.MISSING_SEGMENT}

    def test_non_order_messages_are_listed_as_skipped(self) -> None:
        invoice = message("9", ["BGM+380+INV-1+9"], kind="INVOIC:D:96A:UN:EAN008")
        parsed = parse_edifact(interchange(message(), invoice, unz="UNZ+2+42"))
        assert [o.po_number for o in parsed.orders] == ["PO-1"]
        assert [(m.type, m.reference) for m in parsed.skipped] == [("INVOIC", "9")]

    def test_duplicate_message_reference_is_a_warning(self) -> None:
        parsed = parse_edifact(interchange(message(), message(), unz="UNZ+2+42"))
        assert codes(parsed.warnings) == {IssueCode.DUPLICATE_CONTROL_REFERENCE}
        assert len(parsed.orders) == 2


class TestOrdersMessage:
    def test_amazon_style_retail_order(self) -> None:
        parsed = parse_edifact(fixture("edifact/orders_d96a_books.edi"))
        assert parsed.format is DocumentFormat.EDIFACT
        assert (parsed.sender_id, parsed.receiver_id, parsed.control_ref) == (
            "3020000000005",
            "3010000000006",
            "7310",
        )
        assert parsed.test is False and parsed.charset == "UNOA"  # UNB 0031 is set, 0035 is not
        assert parsed.prepared_at == datetime(2026, 11, 16, 9, 15)
        assert parsed.envelopes[0].acknowledgment_requested is True
        order = parsed.orders[0]
        header = order.message
        assert header is not None
        assert (
            header.reference,
            header.type,
            header.version,
            header.release,
            header.agency,
            header.association_code,
        ) == ("1", "ORDERS", "D", "96A", "UN", "EAN008")
        assert header.segment_count == 24
        assert (order.po_number, order.document_type, order.currency) == ("LQ-26-0042", "220", "EUR")
        assert order.document_date == date(2026, 11, 16)
        assert order.requested_delivery_date == date(2026, 11, 23)  # DTM 64 (earliest) before 63 (latest)
        assert order.buyer_id == "3020000000005" and order.delivery_party_id == "3020000000012"
        invoicee = order.party("IV")
        assert invoicee is not None and invoicee.name == "LIBRAIRIE DES QUAIS SARL"
        assert invoicee.address is not None and invoicee.address.city == "LYON"
        assert invoicee.address.country_code == "FR"
        line = order.lines[0]
        assert (line.line_number, line.item, line.quantity, line.unit_price) == (
            "1",
            "9782843300004",
            Decimal(5),
            Decimal("18.5"),
        )
        assert line.identifiers[0].kind is ItemIdKind.ISBN
        assert [(r.qualifier, r.value) for r in order.references][:1] == [("CR", "QUAIS-CADRE-7")]

    def test_items_from_pia_when_lin_has_none(self) -> None:
        order = parse_edifact(fixture("edifact/orders_unoc_utf8_pia_items.edi")).orders[0]
        line = order.lines[0]
        assert [(i.kind, i.value) for i in line.identifiers] == [
            (ItemIdKind.SELLER, "1276"),
            (ItemIdKind.BUYER, "31136"),
            (ItemIdKind.OTHER, "00"),
        ]
        assert (line.quantity, line.unit, line.unit_price, line.description) == (
            Decimal(12),
            "PCE",
            Decimal("5.225"),
            "Carnet à spirale",
        )
        assert order.document_date == date(2026, 11, 16)

    def test_comma_decimal_mark(self) -> None:
        body = [*ORDER_BODY[:6], "QTY+21:2,5", "PRI+AAA:1,25", "UNS+S"]
        line = parse_edifact(interchange(message(body=body), una="UNA:+,? '")).orders[0].lines[0]
        assert (line.quantity, line.unit_price) == (Decimal("2.5"), Decimal("1.25"))

    def test_ordered_quantity_wins_over_discrete_quantity(self) -> None:
        body = [*ORDER_BODY[:6], "QTY+1:7", "QTY+59:12", "QTY+21:3", "UNS+S"]
        assert parse_edifact(interchange(message(body=body))).orders[0].lines[0].quantity == 3

    def test_discrete_quantity_is_used_when_no_ordered_quantity(self) -> None:
        body = [*ORDER_BODY[:6], "QTY+1:1000", "UNS+S"]
        assert parse_edifact(interchange(message(body=body))).orders[0].lines[0].quantity == 1000

    def test_line_numbers_are_kept_as_given(self) -> None:
        body = [
            *ORDER_BODY[:5],
            "LIN+15++4006381333931:EN",
            "QTY+21:1",
            "LIN+++4006381333932:EN",
            "QTY+21:2",
            "LIN+2++4006381333931:EN",
            "QTY+21:3",
            "UNS+S",
        ]
        lines = parse_edifact(interchange(message(body=body))).orders[0].lines
        assert [(line.position, line.line_number) for line in lines] == [(1, "15"), (2, None), (3, "2")]

    def test_line_without_quantity_is_rejected_at_its_lin(self) -> None:
        body = [*ORDER_BODY[:6], "UNS+S"]
        caught = rejection(interchange(message(body=body)))
        assert codes(caught.issues) == {IssueCode.MISSING_SEGMENT}
        assert caught.issues[0].loc == "segment 8 (LIN) in message 1"

    def test_unreadable_quantity_is_rejected(self) -> None:
        body = [*ORDER_BODY[:6], "QTY+21:5x", "UNS+S"]
        caught = rejection(interchange(message(body=body)))
        assert caught.issues[0].loc == "segment 9 (QTY) element 1 component 2 in message 1"

    def test_missing_bgm_or_order_number_is_rejected(self) -> None:
        assert codes(rejection(interchange(message(body=ORDER_BODY[1:]))).issues) == {
            IssueCode.MISSING_SEGMENT
        }
        no_number = ["BGM+220++9", *ORDER_BODY[1:]]
        assert codes(rejection(interchange(message(body=no_number))).issues) == {IssueCode.MISSING_VALUE}

    def test_unreadable_date_is_a_warning(self) -> None:
        body = ["BGM+220+PO-1+9", "DTM+137:20251340:102", *ORDER_BODY[2:]]
        parsed = parse_edifact(interchange(message(body=body)))
        assert parsed.orders[0].document_date is None
        assert codes(parsed.warnings) == {IssueCode.INVALID_DATE}

    def test_line_count_control_total_mismatch_is_a_warning_and_declared_on_the_order(self) -> None:
        parsed = parse_edifact(interchange(message(body=[*ORDER_BODY, "CNT+2:4"])))
        assert codes(parsed.warnings) == {IssueCode.CONTROL_TOTAL_MISMATCH}
        assert parsed.orders[0].declared_line_count == 4


class TestSamples:
    def test_generated_interchange_is_valid_and_complete(self) -> None:
        data = eancom_orders_interchange(
            3,
            4,
            buyer_gln="5412345000013",
            delivery_gln="5412345000020",
            gtins=["4006381333931", "9783898307529"],
            sender="5412345000013",
            receiver="5499999000009",
            control_ref="77",
        )
        parsed = parse_edifact(data)
        assert isinstance(parsed, Interchange) and parsed.warnings == ()
        assert [o.po_number for o in parsed.orders] == ["77-1", "77-2", "77-3"]
        order = parsed.orders[1]
        assert (order.buyer_id, order.delivery_party_id, order.supplier_id) == (
            "5412345000013",
            "5412345000020",
            "5499999000009",
        )
        assert [line.item for line in order.lines] == ["4006381333931", "9783898307529"] * 2
        assert parsed.orders[0].message.association_code == "EAN008"  # type: ignore[union-attr]

    def test_generator_refuses_an_empty_interchange(self) -> None:
        with pytest.raises(ValueError):
            eancom_orders_interchange(
                0, 1, buyer_gln="1", delivery_gln="2", gtins=["3"], sender="4", receiver="5", control_ref="6"
            )
