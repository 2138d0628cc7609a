"""Format detection and the parse_interchange entry point."""

from __future__ import annotations

import pytest

from app.edi.csv_orders import CsvField, CsvProfile
from app.edi.detect import detect_format
from app.edi.documents import DocumentFormat
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.parse import ReadingProfile, parse_interchange
from tests.edi.corpus import fixture


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("edifact/orders_d96a_books.edi", DocumentFormat.EDIFACT),
        ("edifact/orders_unt_count_wrong.edi", DocumentFormat.EDIFACT),
        ("edifact/invoic_custom_una_wrapped15.edi", DocumentFormat.EDIFACT),
        ("x12/850_bom_nbsp_isa.edi", DocumentFormat.X12),
        ("x12/850_bom_tab_indent.edi", DocumentFormat.X12),
        ("ubl/order_2.0_accounts.xml", DocumentFormat.UBL),
        ("orderx/comfort_bom_comment.xml", DocumentFormat.ORDERX),
        ("orderx/basic_fractional.xml", DocumentFormat.ORDERX),
        ("csv/flat_orders.csv", DocumentFormat.CSV),
    ],
)
def test_format_is_recognised_from_the_bytes(path: str, expected: DocumentFormat) -> None:
    assert detect_format(fixture(path)) is expected


def test_signature_wins_over_a_wrong_content_type_with_a_warning() -> None:
    data = fixture("edifact/orders_d96a_books.edi")
    parsed = parse_interchange(data, content_type="text/csv; charset=utf-8")
    assert parsed.format is DocumentFormat.EDIFACT
    assert parsed.warnings[0].code is IssueCode.CONTENT_TYPE_MISMATCH


def test_matching_content_type_adds_no_warning() -> None:
    data = fixture("ubl/order_2.1.xml")
    assert parse_interchange(data, content_type="application/xml").warnings == ()


def test_content_type_decides_for_data_without_signature() -> None:
    profile = CsvProfile(
        name="tsv", delimiter="\t", columns={CsvField.PO_NUMBER: 0, CsvField.ITEM: 1, CsvField.QUANTITY: 2}
    )
    parsed = parse_interchange(b"P1\tX\t2\n", content_type="text/csv", csv_profile=profile)
    assert parsed.orders[0].lines[0].item == "X"


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\x00\x01\x02\xff", b"%PDF-1.7\n"])
def test_unknown_or_empty_data_is_rejected(data: bytes) -> None:
    with pytest.raises(InterchangeRejected) as caught:
        parse_interchange(data)
    assert [i.code for i in caught.value.issues] == [IssueCode.UNKNOWN_FORMAT]
    assert caught.value.issues[0].loc == "byte 0"


def test_a_windows_1252_header_with_a_euro_sign_is_seen_as_csv() -> None:
    data = "Réf;Qté;Prix (€)\r\nA-1;2;3,50\r\n".encode("cp1252")
    assert detect_format(data) is DocumentFormat.CSV


class TestPartnerProfile:
    TSV = CsvProfile(
        name="tsv", delimiter="\t", columns={CsvField.PO_NUMBER: 0, CsvField.ITEM: 1, CsvField.QUANTITY: 2}
    )

    def test_the_profile_format_is_applied_before_sniffing(self) -> None:
        data = b"P1\tX\t2\n"  # no signature, and no comma or semicolon to look like CSV
        with pytest.raises(InterchangeRejected):
            parse_interchange(data)
        parsed = parse_interchange(data, profile=ReadingProfile(format=DocumentFormat.CSV, csv=self.TSV))
        assert parsed.orders[0].lines[0].item == "X" and parsed.warnings == ()

    def test_a_csv_layout_alone_makes_data_without_signature_the_partners_csv(self) -> None:
        parsed = parse_interchange(
            b"P1\tX\t2\n", content_type="application/octet-stream", csv_profile=self.TSV
        )
        assert parsed.format is DocumentFormat.CSV

    def test_a_signature_that_contradicts_the_profile_wins_with_a_warning(self) -> None:
        data = fixture("edifact/orders_d96a_books.edi")
        parsed = parse_interchange(data, profile=ReadingProfile(format=DocumentFormat.CSV))
        assert parsed.format is DocumentFormat.EDIFACT
        assert parsed.warnings[0].code is IssueCode.PROFILE_MISMATCH
