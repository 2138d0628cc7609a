"""Stock levels import: `code;stock`, nothing else touched."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.importing import ImportResult, import_file
from app.catalog.models import Product
from app.catalog.stock import Movement, record_movements
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


def moved(session: Session, code: str, quantity: str, at: datetime, kind: str = "shipment") -> None:
    pid = product(session, code).id
    record_movements(session, [Movement(pid, Decimal(quantity), kind, f"{kind}-{at:%H%M}", "test", at)])


class TestStockTheSnapshotCannotRewind:
    def test_carnets_movements_after_the_figures_date_are_applied_on_top(
        self, session: Session, tmp_path: Path
    ) -> None:
        make_product(session, code="SN1", stock="100")
        moved(session, "SN1", "-5", AS_OF - timedelta(hours=1))  # the ERP's figure already counts it
        moved(session, "SN1", "-7", AS_OF + timedelta(hours=1))
        moved(session, "SN1", "12", AS_OF + timedelta(hours=2), kind="receipt")
        moved(session, "SN1", "2", AS_OF + timedelta(hours=3), kind="return")

        result = run_import(session, tmp_path, "code;stock\nSN1;50\n")

        assert (result.rows_accepted, result.rows_rejected) == (1, 0)
        imported = product(session, "SN1")
        assert (imported.stock_on_hand, imported.stock_as_of) == (Decimal(50 - 7 + 12 + 2), AS_OF)

    def test_an_older_figure_is_applied_only_where_it_is_newer_and_the_report_says_which(
        self, session: Session, tmp_path: Path
    ) -> None:
        counted = make_product(session, code="SN2", stock="30")
        counted.stock_as_of = AS_OF + timedelta(hours=5)  # counted by the warehouse since
        make_product(session, code="SN3", stock="8")
        session.flush()

        result = run_import(session, tmp_path, "code;stock\nSN2;99\nSN3;4\n")

        assert (result.rows_accepted, result.rows_rejected) == (1, 1)
        [line] = result.report_lines
        assert line.startswith(
            "stock.csv:2: stock: older than the stock Carnet has for SN2 (as of 26/11/2026 10:00 CET"
        )
        assert line.endswith("not applied")
        assert (product(session, "SN2").stock_on_hand, product(session, "SN3").stock_on_hand) == (30, 4)

    def test_a_products_file_with_stock_follows_the_same_rule(self, session: Session, tmp_path: Path) -> None:
        counted = make_product(session, code="SN4", stock="30", price="5.00")
        counted.stock_as_of = AS_OF + timedelta(hours=5)
        make_product(session, code="SN5", stock="8", price="5.00")
        session.flush()
        moved(session, "SN5", "-3", AS_OF + timedelta(hours=1))
        path = tmp_path / "products.csv"
        path.write_text(
            "code;nom;prix;tva;stock\nSN4;Livre;6,00;5,5;99\nSN5;Livre;6,00;5,5;10\n", encoding="utf-8"
        )

        result = import_file(session, kind="products", path=path, as_of=AS_OF)

        assert result.rows_accepted == 2
        sn4, sn5 = product(session, "SN4"), product(session, "SN5")
        assert (sn4.unit_price, sn4.stock_on_hand) == (Decimal("6.00"), 30)
        assert sn5.stock_on_hand == 10 - 3
        assert any(
            "line 2: stock_on_hand: older than the stock Carnet has for SN4" in n for n in result.notes
        )
