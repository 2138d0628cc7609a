"""Format detection and the parse_interchange entry point."""

from __future__ import annotations

import pytest

from app.edi.csv_orders import CsvField, CsvProfile
from app.edi.detect import detect_format
from app.edi.documents import DocumentFormat
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.parse import parse_interchange
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
