"""Stock levels import: `code;stock`, nothing else touched."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.importing import ImportResult, import_file
from app.catalog.models import Product
from tests.builders import SNAPSHOT_AT, make_product

AS_OF = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)


def run_import(session: Session, tmp_path: Path, content: str, *, name: str = "stock.csv") -> ImportResult:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return import_file(session, kind="stock", path=path, as_of=AS_OF)


def product(session: Session, code: str) -> Product:
    session.expire_all()
    return session.execute(select(Product).where(Product.code == code)).scalar_one()


class TestStockImport:
    def test_updates_stock_and_its_date_and_nothing_else(self, session: Session, tmp_path: Path) -> None:
        existing = make_product(session, code="ST1", price="12.00", stock="100")
        existing.reserved_quantity = Decimal(4)
        make_product(session, code="ST2", stock="5")
        session.flush()

        result = run_import(session, tmp_path, "code;stock\nST1;42,5\n")

        assert (result.rows_accepted, result.updated, result.rows_rejected) == (1, 1, 0)
        updated, untouched = product(session, "ST1"), product(session, "ST2")
        assert (updated.stock_on_hand, updated.stock_as_of) == (Decimal("42.5"), AS_OF)
        assert (updated.unit_price, updated.reserved_quantity, updated.snapshot_at) == (
            Decimal("12.00"),
            Decimal(4),
            SNAPSHOT_AT,
        )
        assert (untouched.stock_on_hand, untouched.stock_as_of) == (Decimal(5), SNAPSHOT_AT)

    def test_unknown_products_bad_quantities_and_repeated_codes_are_rejected(
        self, session: Session, tmp_path: Path
    ) -> None:
        make_product(session, code="ST3", stock="1")
        make_product(session, code="ST5", stock="1")
        make_product(session, code="ST6", stock="1")

        result = run_import(session, tmp_path, "Référence;Quantité\nST3;0\nGHOST;3\nST5;x\nST3;2\nST6;-2\n")

        assert result.report_lines == [
            "stock.csv:2: Référence: code ST3 is also on line 5 of the file",
            "stock.csv:3: Référence: no product GHOST",
            'stock.csv:4: Quantité: not a number (got "x")',
            "stock.csv:5: Référence: code ST3 is also on line 2 of the file",
        ]
        assert (product(session, "ST3").stock_on_hand, product(session, "ST5").stock_on_hand) == (1, 1)
        assert product(session, "ST6").stock_on_hand == -2  # the ERP may be short: stock can be negative

    def test_json_stock_levels(self, session: Session, tmp_path: Path) -> None:
        make_product(session, code="ST4", stock="1")

        result = run_import(session, tmp_path, '[{"code": "ST4", "stock_on_hand": "7"}]', name="stock.json")

        assert result.rows_accepted == 1
        assert product(session, "ST4").stock_on_hand == Decimal(7)
