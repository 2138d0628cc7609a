"""Reading an export without a database: headers, encodings, dates, unique values."""

from datetime import UTC, datetime, timedelta

import pytest

from app.catalog.importing import unique_conflicts
from app.catalog.reading import ImportRefused, decode_text, normalize_header, parse_as_of, read_table
from app.config import get_settings


class TestHeaders:
    @pytest.mark.parametrize(
        ("written", "normalized"),
        [
            ("Prix unitaire (€)", "prix_unitaire"),
            ("Bloqué", "bloque"),
            ("N° TVA", "n_tva"),
            ("  E-mail ", "e_mail"),
            ("CODE_POSTAL", "code_postal"),
            ("Quantité décimale", "quantite_decimale"),
        ],
    )
    def test_case_accents_and_punctuation_do_not_matter(self, written: str, normalized: str) -> None:
        assert normalize_header(written) == normalized

    def test_the_separator_is_recognised_on_the_header_line(self) -> None:
        semicolons = read_table(
            b'code;nom;prix;tva\nA;"B, C";1,5;20\n', name="f.csv", fmt="csv", kind="products"
        )
        commas = read_table(
            b'code,nom,prix,tva\nA,"B; C","1,5",20\n', name="f.csv", fmt="csv", kind="products"
        )
        tabs = read_table(b"code\tnom\tprix\ttva\nA\tB\t1,5\t20\n", name="f.csv", fmt="csv", kind="products")

        assert semicolons.rows[0].values == {
            "code": "A",
            "name": "B, C",
            "unit_price": "1,5",
            "vat_rate": "20",
        }
        assert commas.rows[0].values["name"] == "B; C"
        assert tabs.rows[0].values["unit_price"] == "1,5"

    def test_a_column_without_a_name_is_refused(self) -> None:
        with pytest.raises(ImportRefused, match="column 2 has no name"):
            read_table(b"code;;prix;tva\nA;B;1;20\n", name="f.csv", fmt="csv", kind="products")


class TestEncodings:
    def test_utf8_is_read_without_a_note(self) -> None:
        assert decode_text("Bloqué".encode(), "f.csv") == ("Bloqué", [])

    def test_utf8_bom_is_dropped(self) -> None:
        assert decode_text(b"\xef\xbb\xbfcode", "f.csv") == ("code", [])

    def test_utf16_with_bom_is_read(self) -> None:
        assert decode_text("code\tnom\n".encode("utf-16"), "f.csv") == ("code\tnom\n", [])

    def test_windows_1252_is_read_and_noted(self) -> None:
        text, notes = decode_text("nom\nŒuvres complètes – 10 €".encode("cp1252"), "f.csv")

        assert text == "nom\nŒuvres complètes – 10 €"
        assert notes == ["f.csv: not valid UTF-8 (byte 0x8c on line 2), read as Windows-1252 (Latin-1)"]


class TestAsOf:
    def test_an_offset_is_kept(self) -> None:
        assert parse_as_of("2026-11-20T06:00+01:00") == datetime(2026, 11, 20, 5, 0, tzinfo=UTC)

    def test_a_date_without_offset_is_on_the_business_clock_not_the_machines(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Paris is UTC+1 in November and UTC+2 in July, whatever the server's own zone.
        assert parse_as_of("20/11/2026 06h30") == datetime(2026, 11, 20, 5, 30, tzinfo=UTC)
        assert parse_as_of("2026-07-01T08:00") == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
        monkeypatch.setenv("CARNET_BUSINESS_TIMEZONE", "America/Martinique")
        get_settings.cache_clear()
        try:
            assert parse_as_of("20/11/2026 06h30") == datetime(2026, 11, 20, 10, 30, tzinfo=UTC)
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()

    def test_the_answer_is_always_in_utc(self) -> None:
        assert parse_as_of("2026-11-20T06:00:00-05:00").tzinfo == UTC
        assert parse_as_of("2026-11-20").utcoffset() == timedelta(0)

    def test_nonsense_is_a_value_error(self) -> None:
        with pytest.raises(ValueError):
            parse_as_of("tomorrow")


class TestUniqueValues:
    def test_a_value_taken_by_a_record_not_in_the_file_is_a_conflict(self) -> None:
        assert unique_conflicts({"NEW": "111"}, {"OLD": "111"}) == {"NEW": "OLD"}

    def test_a_value_freed_in_the_same_file_may_be_taken(self) -> None:
        assert unique_conflicts({"A": "222", "B": "111"}, {"A": "111", "B": "222"}) == {}

    def test_a_rejected_change_keeps_its_value_taken(self) -> None:
        # B may not take C's value, so B keeps 222, which A then cannot take.
        proposed = {"A": "222", "B": "333"}
        current = {"A": "111", "B": "222", "C": "333"}

        assert unique_conflicts(proposed, current) == {"B": "C", "A": "B"}
