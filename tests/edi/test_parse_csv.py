"""CSV orders: built-in profiles, custom profiles, grouping and located errors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.edi.csv_orders import (
    FLAT_ORDERS_PROFILE,
    FRENCH_HEADER_PROFILE,
    CsvField,
    CsvProfile,
    normalize_header,
    parse_csv_orders,
)
from app.edi.documents import DocumentFormat, ItemIdKind
from app.edi.issues import InterchangeRejected, IssueCode
from app.edi.parse import ReadingProfile, parse_interchange
from tests.edi.conformance import csv_profile
from tests.edi.corpus import FIXTURES, fixture

FRENCH = (
    "Commande;Client;Livrer à;Article;Quantité;Prix unitaire;Date livraison\r\n"
    "PO-1;C001;D-1;4006381333931;2,5;10,50;03/02/2025\r\n"
    "PO-2;C002;;5000112637922;4;;\r\n"
    "PO-1;C001;D-1;W-42;1;;\r\n"
)


def rejection(data: bytes, profile: CsvProfile | None = None) -> InterchangeRejected:
    with pytest.raises(InterchangeRejected) as caught:
        parse_csv_orders(data, profile)
    return caught.value


def test_header_names_compare_without_case_accents_or_punctuation() -> None:
    assert normalize_header(" Livrer à ") == "livrer_a"
    assert normalize_header("QUANTITÉ") == "quantite"
    assert normalize_header("N° commande") == "n_commande"


class TestFlatProfile:
    def test_flat_export_is_recognised_and_grouped(self) -> None:
        parsed = parse_csv_orders(fixture("csv/flat_orders.csv"))
        assert parsed.format is DocumentFormat.CSV and parsed.charset == "iso-8859-1"
        assert (parsed.sender_id, parsed.receiver_id, parsed.test) == ("LIBQUAIS", "DIFCARNET", True)
        order = parsed.orders[0]
        assert (order.po_number, order.buyer_id, order.delivery_party_id) == (
            "LQ-F-1",
            "LIBQUAIS",
            "3020000000012",
        )
        assert order.document_date == date(2026, 11, 16) and order.requested_delivery_date is not None
        assert order.lines[3].description == "Le fleuve été"
        assert [(line.line_number, line.quantity) for line in order.lines] == [
            (str(n), Decimal(1)) for n in range(1, 5)
        ]
        assert order.lines[0].identifiers[0].kind is ItemIdKind.GTIN

    def test_short_row_is_rejected_with_its_line(self) -> None:
        data = fixture("csv/flat_orders.csv") + b'"ORDERS","LIBQUAIS"\r\n'
        caught = rejection(data, FLAT_ORDERS_PROFILE)
        assert [i.code for i in caught.issues] == [IssueCode.CSV_LAYOUT]
        assert caught.issues[0].where.line == 7


class TestFrenchHeaderProfile:
    def test_header_row_is_recognised_and_rows_grouped_by_buyer_and_order(self) -> None:
        parsed = parse_csv_orders(FRENCH.encode())
        assert [(o.po_number, o.buyer_id, len(o.lines)) for o in parsed.orders] == [
            ("PO-1", "C001", 2),
            ("PO-2", "C002", 1),
        ]
        first = parsed.orders[0]
        assert first.delivery_party_id == "D-1" and first.requested_delivery_date == date(2025, 2, 3)
        assert [(line.position, line.item, line.quantity, line.unit_price) for line in first.lines] == [
            (1, "4006381333931", Decimal("2.5"), Decimal("10.50")),
            (2, "W-42", Decimal(1), None),
        ]
        assert [i.kind for line in first.lines for i in line.identifiers] == [
            ItemIdKind.GTIN,
            ItemIdKind.OTHER,
        ]

    def test_windows_1252_export_is_read_with_a_warning(self) -> None:
        parsed = parse_csv_orders(FRENCH.encode("cp1252"))
        assert parsed.charset == "utf-8"
        assert [w.code for w in parsed.warnings] == [IssueCode.CHARSET_MISMATCH]

    def test_thousands_like_number_is_refused_rather_than_guessed(self) -> None:
        data = FRENCH.replace("2,5", "1.000").encode()
        caught = rejection(data)
        assert [i.code for i in caught.issues] == [IssueCode.INVALID_VALUE]
        assert caught.issues[0].loc == "line 2 column 5 (Quantité)"

    def test_empty_item_and_quantity_are_rejected_where_they_are(self) -> None:
        data = FRENCH.replace("W-42;1", ";").encode()
        caught = rejection(data)
        assert [(i.code, i.where.line, i.where.column) for i in caught.issues] == [
            (IssueCode.MISSING_VALUE, 4, 4),
            (IssueCode.MISSING_VALUE, 4, 5),
        ]

    def test_header_without_required_column_is_rejected(self) -> None:
        caught = rejection(b"commande;client;article\nPO-1;C1;X\n", FRENCH_HEADER_PROFILE)
        assert "quantity" in caught.issues[0].detail

    def test_unreadable_date_is_a_warning(self) -> None:
        parsed = parse_csv_orders(FRENCH.replace("03/02/2025", "tomorrow").encode())
        assert [w.code for w in parsed.warnings] == [IssueCode.INVALID_DATE]


class TestCustomProfile:
    def test_partner_specific_layout(self) -> None:
        profile = CsvProfile(
            name="acme",
            delimiter="\t",
            has_header=False,
            columns={CsvField.PO_NUMBER: 0, CsvField.ITEM: 1, CsvField.QUANTITY: 2, CsvField.BUYER: 3},
        )
        parsed = parse_csv_orders(b"A-1\tSKU-1\t3\tACME\nA-1\tSKU-2\t1.5\tACME\n", profile)
        assert [(line.item, line.quantity) for line in parsed.orders[0].lines] == [
            ("SKU-1", Decimal(3)),
            ("SKU-2", Decimal("1.5")),
        ]

    def test_malformed_quoting_is_rejected_with_its_line(self) -> None:
        profile = CsvProfile(
            name="q", columns={CsvField.PO_NUMBER: 0, CsvField.ITEM: 1, CsvField.QUANTITY: 2}
        )
        caught = rejection(b'A,B,1\n"A"x,B,1\n', profile)
        assert caught.issues[0].code is IssueCode.CSV_LAYOUT and caught.issues[0].where.line == 2

    def test_unknown_layout_without_profile_is_rejected(self) -> None:
        assert [i.code for i in rejection(b"a,b,c\n1,2,3\n").issues] == [IssueCode.CSV_LAYOUT]


class TestSpreadsheetExports:
    """A French Excel "CSV (séparateur: point-virgule)": Windows-1252, a `€` in the header."""

    DATA = fixture("csv/french_excel_cp1252.csv")

    def profile(self) -> CsvProfile:
        profile = csv_profile(FIXTURES / "csv/french_excel_cp1252.csv")
        assert profile is not None
        return profile

    def test_it_is_read_with_the_partners_profile_and_the_charset_chosen_is_said(self) -> None:
        parsed = parse_interchange(self.DATA, csv_profile=self.profile())
        assert parsed.format is DocumentFormat.CSV and parsed.encoding == "windows-1252"
        [warning] = parsed.warnings
        assert warning.code is IssueCode.CHARSET_MISMATCH and "windows-1252" in warning.detail
        first, second = parsed.orders
        assert [(line.item, line.quantity, line.unit_price) for line in first.lines] == [
            ("9782843300004", Decimal(12), Decimal("6.50")),
            ("9782843300011", Decimal(3), Decimal("12.00")),
            ("9782843300028", Decimal(1), Decimal("18.90")),
        ]
        assert first.lines[1].description == "Poèmes d'été" and first.declared_line_count == 3
        assert (second.po_number, second.buyer_id) == ("LQ-XL-0102", "3020000000005")

    def test_a_charset_the_partner_declares_is_taken_without_a_guess(self) -> None:
        parsed = parse_interchange(
            self.DATA, profile=ReadingProfile(charset="windows-1252", csv=self.profile())
        )
        assert parsed.encoding == "windows-1252" and parsed.warnings == ()

    def test_the_same_sheet_saved_as_utf8_needs_no_guess(self) -> None:
        data = self.DATA.decode("cp1252").encode("utf-8-sig")
        parsed = parse_interchange(data, csv_profile=self.profile())
        assert parsed.encoding == "utf-8" and parsed.warnings == ()
        assert parsed.orders[0].lines[1].description == "Poèmes d'été"

    def test_a_declared_charset_the_bytes_do_not_fit_is_refused_where_it_fails(self) -> None:
        with pytest.raises(InterchangeRejected) as caught:
            parse_interchange(self.DATA, profile=ReadingProfile(charset="utf-8", csv=self.profile()))
        [issue] = caught.value.issues
        assert issue.code is IssueCode.INVALID_CHARACTER and issue.where.line == 1

    def test_without_a_profile_it_is_still_seen_as_csv_not_an_unknown_format(self) -> None:
        with pytest.raises(InterchangeRejected) as caught:
            parse_interchange(self.DATA)
        assert [i.code for i in caught.value.issues] == [IssueCode.CSV_LAYOUT]
