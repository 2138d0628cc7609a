"""Products snapshot import: formats, rejected rows, refused files, upserts."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.importing import ImportRefused, ImportResult, import_file
from app.catalog.models import Product, SnapshotImport
from tests.builders import SNAPSHOT_AT, gtin13, make_product

AS_OF = datetime(2026, 11, 25, 5, 30, tzinfo=UTC)
PETIT_PRINCE = "9782070408504"
ETRANGER = "9782070360024"
CABLE = gtin13(1, "379")
CHARGER = gtin13(2, "379")


def run_import(
    session: Session,
    tmp_path: Path,
    content: str | bytes,
    *,
    name: str = "products.csv",
    encoding: str = "utf-8",
) -> ImportResult:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return import_file(session, kind="products", path=path, as_of=AS_OF)


def product(session: Session, code: str) -> Product | None:
    return session.execute(select(Product).where(Product.code == code)).scalar_one_or_none()


def codes(session: Session) -> set[str]:
    return set(session.execute(select(Product.code)).scalars())


class TestCsvAsErpsWriteIt:
    def test_latin1_semicolons_and_decimal_commas_are_read(self, session: Session, tmp_path: Path) -> None:
        content = (
            "Code;Libellé;EAN;Prix;TTC;TVA;Stock;Prix imposé;Quantité décimale\r\n"
            f"L1;Le Petit Prince;978-2-07-040850-4;7,50;oui;5,5;12;oui;non\r\n"
            f"E1;Câble coaxial, au mètre;{CABLE};0,85 €;non;20 %;1 234,5;non;oui\r\n"
        )
        result = run_import(session, tmp_path, content, encoding="cp1252")

        assert (result.rows_accepted, result.rows_rejected, result.created) == (2, 0, 2)
        assert result.notes == [
            "products.csv: not valid UTF-8 (byte 0xe9 on line 1), read as Windows-1252 (Latin-1)"
        ]
        book, cable = product(session, "L1"), product(session, "E1")
        assert book is not None and cable is not None
        assert (book.name, book.gtin, book.unit_price, book.vat_rate) == (
            "Le Petit Prince",
            PETIT_PRINCE,
            Decimal("7.50"),
            Decimal("5.5"),
        )
        assert (book.price_includes_vat, book.price_locked, book.allows_decimal_quantity) == (
            True,
            True,
            False,
        )
        assert (cable.name, cable.unit_price, cable.stock_on_hand) == (
            "Câble coaxial, au mètre",
            Decimal("0.85"),
            Decimal("1234.5"),
        )
        assert (cable.price_includes_vat, cable.allows_decimal_quantity, cable.reserved_quantity) == (
            False,
            True,
            Decimal(0),
        )
        assert book.stock_as_of == AS_OF and book.snapshot_at == AS_OF

    def test_utf8_with_bom_commas_and_quoted_decimal_commas(self, session: Session, tmp_path: Path) -> None:
        content = (
            "code,name,gtin,unit_price,price_includes_vat,vat_rate\n"
            f'L2,"L\'Étranger, Folio",{ETRANGER},"8,30",true,"5,5"\n'
        )
        result = run_import(session, tmp_path, b"\xef\xbb\xbf" + content.encode())

        assert (result.rows_accepted, result.notes) == (1, [])
        imported = product(session, "L2")
        assert imported is not None
        assert (imported.name, imported.unit_price, imported.vat_rate) == (
            "L'Étranger, Folio",
            Decimal("8.30"),
            Decimal("5.5"),
        )

    def test_headers_match_whatever_case_accents_and_language(self, session: Session, tmp_path: Path) -> None:
        content = (
            "CODE ARTICLE;Désignation;Gencod;PRIX UNITAIRE;Taux TVA;TTC\nE2;Chargeur;"
            + CHARGER
            + ";19.9;20;N\n"
        )

        assert run_import(session, tmp_path, content).rows_accepted == 1
        charger = product(session, "E2")
        assert charger is not None and (charger.gtin, charger.unit_price) == (CHARGER, Decimal("19.90"))

    def test_blank_lines_and_trailing_separators_are_ignored(self, session: Session, tmp_path: Path) -> None:
        content = "code;name;prix;tva;;\n\nE3;Souris;12;20;;\n\n"

        result = run_import(session, tmp_path, content)

        assert (result.rows_accepted, result.rows_rejected) == (1, 0)


class TestJson:
    def test_list_of_objects_with_french_keys(self, session: Session, tmp_path: Path) -> None:
        content = (
            '[{"code": "L3", "nom": "Le Petit Prince", "isbn": "2070408507", "prix": 7.5, "tva": "5,5", '
            '"ttc": "oui", "stock": 4}]'
        )

        result = run_import(session, tmp_path, content, name="products.json")

        assert result.rows_accepted == 1
        imported = product(session, "L3")
        assert imported is not None
        assert (imported.gtin, imported.unit_price, imported.price_includes_vat, imported.stock_on_hand) == (
            PETIT_PRINCE,
            Decimal("7.50"),
            True,
            Decimal(4),
        )

    def test_items_object_in_api_shape(self, session: Session, tmp_path: Path) -> None:
        content = (
            '{"items": [{"code": "E4", "gtin": "' + CABLE + '", "name": "Câble", "unit_price": "0.1234", '
            '"vat_rate": "20", "allows_decimal_quantity": true}]}'
        )

        assert run_import(session, tmp_path, content, name="export.JSON").rows_accepted == 1
        imported = product(session, "E4")
        assert imported is not None and imported.unit_price == Decimal("0.1234")

    def test_rejected_items_are_reported_by_position(self, session: Session, tmp_path: Path) -> None:
        content = (
            '[{"code": "E5", "name": "A", "unit_price": 1, "vat_rate": 20}, '
            '{"code": "E6", "name": "B", "unit_price": -1, "vat_rate": 20}, 42]'
        )

        result = run_import(session, tmp_path, content, name="products.json")

        assert result.report_lines == [
            'products.json:item 2: unit_price: Input should be greater than or equal to 0 (got "-1")',
            "products.json:item 3: not an object",
        ]
        assert codes(session) == {"E5"}


class TestRejectedRows:
    def test_each_bad_row_is_reported_with_line_and_column_and_the_rest_imported(
        self, session: Session, tmp_path: Path
    ) -> None:
        content = (
            "code;nom;ean;prix;tva;ttc\n"
            f"OK1;Bon;{CABLE};10;20;non\n"
            "BAD1;Mauvais GTIN;9782070360025;10;20;non\n"
            "BAD2;;;10;20;non\n"
            "BAD3;Prix négatif;;-5,00;20;non\n"
            "DUP;Premier;;1;20;non\n"
            "BAD4;Booléen;;1;20;peut-être\n"
            "DUP;Second;;2;20;non\n"
            f"OK2;Bon aussi;{CHARGER};3;20;oui\n"
        )

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [
            "products.csv:3: ean: not a valid GTIN/ISBN (The number's checksum or check digit is invalid.) "
            '(got "9782070360025")',
            "products.csv:4: nom: a value is required",
            'products.csv:5: prix: Input should be greater than or equal to 0 (got "-5,00")',
            "products.csv:6: code: code DUP is also on line 8 of the file",
            'products.csv:7: ttc: expected oui/non, 1/0 or true/false (got "peut-être")',
            "products.csv:8: code: code DUP is also on line 6 of the file",
        ]
        assert (result.rows_accepted, result.rows_rejected) == (2, 6)
        assert codes(session) == {"OK1", "OK2"}

    def test_a_row_with_too_many_values_is_rejected(self, session: Session, tmp_path: Path) -> None:
        result = run_import(session, tmp_path, "code;nom;prix;tva\nE7;A;1;20;surplus\nE8;B;1;20\n")

        assert result.report_lines == ["products.csv:2: 5 values for 4 columns"]
        assert codes(session) == {"E8"}

    def test_a_gtin_twice_in_the_file_rejects_both_rows(self, session: Session, tmp_path: Path) -> None:
        content = f"code;nom;ean;prix;tva\nA;A;{CABLE};1;20\nB;B;{CABLE};1;20\nC;C;{CHARGER};1;20\n"

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [
            f"products.csv:2: ean: {CABLE} is also on line 3 of the file",
            f"products.csv:3: ean: {CABLE} is also on line 2 of the file",
        ]
        assert codes(session) == {"C"}

    def test_a_gtin_of_another_product_is_rejected(self, session: Session, tmp_path: Path) -> None:
        existing = make_product(session, code="OLD")
        content = f"code;nom;ean;prix;tva\nNEW;Nouveau;{existing.gtin};1;20\n"

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [f"products.csv:2: ean: GTIN {existing.gtin} belongs to product OLD"]
        assert product(session, "NEW") is None

    def test_products_may_swap_gtins_in_one_file(self, session: Session, tmp_path: Path) -> None:
        first, second = make_product(session, code="SW1"), make_product(session, code="SW2")
        gtin1, gtin2 = first.gtin, second.gtin
        content = f"code;nom;ean;prix;tva\nSW1;Un;{gtin2};1;20\nSW2;Deux;{gtin1};1;20\n"

        assert run_import(session, tmp_path, content).rows_rejected == 0
        session.expire_all()
        assert (product(session, "SW1").gtin, product(session, "SW2").gtin) == (gtin2, gtin1)  # type: ignore[union-attr]


class TestRefusedFiles:
    @pytest.mark.parametrize(
        ("name", "content", "message"),
        [
            (
                "products.csv",
                b"code;nom;prix;tva;couleur\nA;A;1;20;bleu\n",
                "products.csv: unknown column(s) 'couleur' for products",
            ),
            (
                "products.csv",
                b"code;nom;tva\nA;A;20\n",
                "products.csv: missing required column(s) unit_price",
            ),
            ("products.csv", b"code;nom;ean;gtin;prix;tva\n", "columns 'ean' and 'gtin' both give gtin"),
            (
                "products.csv",
                b"code;nom;prix;tva\nA;Caf\x81;1;20\n",
                "products.csv: unknown encoding (byte 0x81 on line 2)",
            ),
            ("products.csv", b"code;nom;prix;tva\nA;B\x00;1;20\n", "NUL characters: not a text file"),
            ("products.csv", b"code;nom;prix;tva\r\n", "products.csv: no data rows"),
            ("products.csv", b"", "products.csv: empty file"),
            ("products.json", b'[{"code": "A",', "products.json: not valid JSON (line 1, column 15"),
            ("products.json", b'{"products": []}', 'expected a list of objects or {"items": [...]}'),
            (
                "products.xlsx",
                b"PK\x03\x04",
                "products.xlsx: unknown file type '.xlsx': export as CSV or JSON",
            ),
        ],
    )
    def test_nothing_is_imported_and_the_error_says_why(
        self, session: Session, tmp_path: Path, name: str, content: bytes, message: str
    ) -> None:
        with pytest.raises(ImportRefused) as refused:
            run_import(session, tmp_path, content, name=name)

        assert message in refused.value.detail
        assert codes(session) == set()
        assert session.execute(select(func.count()).select_from(SnapshotImport)).scalar() == 0

    def test_a_missing_file_is_refused(self, session: Session, tmp_path: Path) -> None:
        with pytest.raises(ImportRefused, match="cannot read the file"):
            import_file(session, kind="products", path=tmp_path / "absent.csv")


class TestReimport:
    def test_updates_by_code_and_keeps_the_reserved_quantity(self, session: Session, tmp_path: Path) -> None:
        existing = make_product(session, code="RE1", price="10.00", stock="100")
        existing.reserved_quantity = Decimal(7)
        session.flush()
        content = f"code;nom;ean;prix;tva;stock\nRE1;Nouveau nom;{existing.gtin};12,40;20;80\n"

        result = run_import(session, tmp_path, content)

        assert (result.created, result.updated) == (0, 1)
        session.expire_all()
        updated = product(session, "RE1")
        assert updated is not None
        assert (updated.name, updated.unit_price, updated.stock_on_hand, updated.reserved_quantity) == (
            "Nouveau nom",
            Decimal("12.40"),
            Decimal(80),
            Decimal(7),
        )
        assert (updated.stock_as_of, updated.snapshot_at) == (AS_OF, AS_OF)

    def test_columns_absent_from_the_file_are_left_alone(self, session: Session, tmp_path: Path) -> None:
        existing = make_product(session, code="RE2", stock="55", includes_vat=True, price_locked=True)
        gtin = existing.gtin

        run_import(session, tmp_path, "code;nom;prix;tva\nRE2;Renommé;9;5,5\n")

        session.expire_all()
        kept = product(session, "RE2")
        assert kept is not None
        assert (kept.name, kept.gtin, kept.stock_on_hand, kept.stock_as_of) == (
            "Renommé",
            gtin,
            Decimal(55),
            SNAPSHOT_AT,
        )
        assert (kept.price_includes_vat, kept.price_locked) == (True, True)

    def test_an_empty_cell_clears_an_optional_value(self, session: Session, tmp_path: Path) -> None:
        make_product(session, code="RE3")

        run_import(session, tmp_path, "code;nom;ean;prix;tva\nRE3;Sans code-barres;;9;20\n")

        session.expire_all()
        assert product(session, "RE3").gtin is None  # type: ignore[union-attr]


class TestSnapshotRecord:
    def test_the_import_is_recorded_with_its_report(self, session: Session, tmp_path: Path) -> None:
        result = run_import(session, tmp_path, "code;nom;prix;tva\nS1;A;1;20\nS2;;1;20\n")

        record = session.get(SnapshotImport, result.snapshot_id)
        assert record is not None
        assert (record.kind, record.as_of, record.rows_accepted, record.rows_rejected) == (
            "products",
            AS_OF,
            1,
            1,
        )
        assert record.source == str(tmp_path / "products.csv")
        assert record.report == "products.csv:3: nom: a value is required"
