"""`carnet import` end to end: a real database, committed, and the exit status."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.catalog.models import Product, SnapshotImport
from app.cli import main
from tests.builders import gtin13


def products(engine: Engine) -> dict[str, Product]:
    with Session(engine) as session:
        return {p.code: p for p in session.execute(select(Product)).scalars()}


def snapshots(engine: Engine) -> list[SnapshotImport]:
    with Session(engine) as session:
        return list(session.execute(select(SnapshotImport)).scalars())


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("cp1252"))
    return str(path)


class TestImportCommand:
    def test_exit_0_when_every_row_is_imported(
        self, cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = write(
            tmp_path, "articles.csv", f"Code;Libellé;EAN;Prix;TVA\nA1;Câble;{gtin13(7, '379')};2,50;20\n"
        )

        assert main(["import", "products", file, "--as-of", "2026-11-20T06:00+01:00"]) == 0

        out = capsys.readouterr().out
        assert "products: 1 rows imported (1 created, 0 updated), 0 rejected" in out
        assert "read as Windows-1252" in out
        assert products(cli_engine)["A1"].unit_price == Decimal("2.50")
        [record] = snapshots(cli_engine)
        assert (record.kind, record.source, record.as_of) == (
            "products",
            file,
            datetime(2026, 11, 20, 5, 0, tzinfo=UTC),
        )

    def test_exit_1_when_rows_are_rejected_with_their_report(
        self, cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = write(tmp_path, "articles.csv", "code;nom;prix;tva\nA2;Bon;1;20\nA3;Mauvais;-1;20\n")

        assert main(["import", "products", file]) == 1

        out = capsys.readouterr().out
        assert 'articles.csv:3: prix: Input should be greater than or equal to 0 (got "-1")' in out
        assert set(products(cli_engine)) == {"A2"}
        [record] = snapshots(cli_engine)
        assert (record.rows_accepted, record.rows_rejected) == (1, 1)
        assert "articles.csv:3: prix" in record.report

    def test_exit_2_and_nothing_imported_when_the_file_is_refused(
        self, cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = write(tmp_path, "articles.csv", "code;nom;prix;tva;poids\nA4;Bon;1;20;3\n")

        assert main(["import", "products", file]) == 2

        assert "unknown column(s) 'poids'" in capsys.readouterr().err
        assert (products(cli_engine), snapshots(cli_engine)) == ({}, [])

    def test_a_bad_as_of_is_refused(
        self, cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        file = write(tmp_path, "articles.csv", "code;nom;prix;tva\nA5;Bon;1;20\n")

        assert main(["import", "products", file, "--as-of", "hier"]) == 2

        assert "--as-of 'hier'" in capsys.readouterr().err
        assert products(cli_engine) == {}

    def test_stock_after_products(self, cli_engine: Engine, tmp_path: Path) -> None:
        main(["import", "products", write(tmp_path, "p.csv", "code;nom;prix;tva;stock\nA6;Bon;1;20;10\n")])

        assert (
            main(["import", "stock", write(tmp_path, "s.json", '{"items": [{"code": "A6", "stock": 3}]}')])
            == 0
        )

        assert products(cli_engine)["A6"].stock_on_hand == Decimal(3)
        assert [s.kind for s in snapshots(cli_engine)] == ["products", "stock"]
