"""A product's supplier (publisher, brand): imported like the other product columns, in the API and desk."""

from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.importing import import_file
from app.catalog.models import Product
from tests.builders import auth_headers, make_product
from tests.web.test_desk_pages import sign_in

AS_OF = datetime(2026, 11, 25, 5, 30, tzinfo=UTC)


def import_products(session: Session, tmp_path: Path, content: str) -> None:
    path = tmp_path / "articles.csv"
    path.write_text(content, encoding="utf-8")
    result = import_file(session, kind="products", path=path, as_of=AS_OF)
    assert result.rows_rejected == 0, result.report()


def suppliers(session: Session) -> dict[str, tuple[str | None, str | None]]:
    rows = session.execute(select(Product.code, Product.supplier_code, Product.supplier_name))
    return {code: (supplier_code, name) for code, supplier_code, name in rows}


class TestImport:
    def test_french_columns_give_the_supplier_code_and_name(self, session: Session, tmp_path: Path) -> None:
        import_products(
            session,
            tmp_path,
            "Code;Libellé;Prix;TVA;Code éditeur;Éditeur\r\n"
            "L1;Le Petit Prince;7,50;5,5;GALL;Gallimard\r\n"
            "L2;Sans éditeur;9,00;5,5;;\r\n",
        )
        assert suppliers(session) == {"L1": ("GALL", "Gallimard"), "L2": (None, None)}

    def test_a_publisher_named_without_a_code_gets_a_code_made_from_its_name(
        self, session: Session, tmp_path: Path
    ) -> None:
        import_products(
            session,
            tmp_path,
            "code;nom;prix;tva;fournisseur\r\nL1;Les Misérables;12;5,5;Éditions du Seuil\r\n",
        )
        assert suppliers(session) == {"L1": ("EDITIONS-DU-SEUIL", "Éditions du Seuil")}

    def test_a_file_without_supplier_columns_keeps_the_supplier(
        self, session: Session, tmp_path: Path
    ) -> None:
        make_product(session, code="L1", supplier=("GALL", "Gallimard"))
        import_products(session, tmp_path, "code;nom;prix;tva\r\nL1;Le Petit Prince;8;5,5\r\n")
        assert suppliers(session) == {"L1": ("GALL", "Gallimard")}

    def test_a_brand_column_changes_the_supplier_of_an_existing_product(
        self, session: Session, tmp_path: Path
    ) -> None:
        make_product(session, code="E1", supplier=("OLD", "Ancienne marque"))
        import_products(session, tmp_path, "code;nom;prix;tva;marque\r\nE1;Câble;1;20;Legrand\r\n")
        assert suppliers(session) == {"E1": ("LEGRAND", "Legrand")}


class TestApiAndDesk:
    def test_a_product_is_saved_and_read_with_its_supplier(
        self, client: TestClient, session: Session
    ) -> None:
        body = {
            "code": "BK1",
            "name": "Vendredi",
            "unit_price": "9.10",
            "vat_rate": "5.5",
            "supplier_code": "GALL",
            "supplier_name": "Gallimard",
        }
        saved = client.post("/api/v1/products", json=body, headers=auth_headers(session, role="admin"))
        assert saved.status_code == 201, saved.text
        read = client.get("/api/v1/products/BK1", headers=auth_headers(session)).json()
        assert (read["supplier_code"], read["supplier_name"]) == ("GALL", "Gallimard")

    def test_the_desks_product_suggestions_show_the_publisher(
        self, client: TestClient, session: Session
    ) -> None:
        product = make_product(session, supplier=("GALL", "Gallimard"))
        sign_in(client, session, "rep")
        page = client.get("/orders/new/products", params={"item": product.code}).text
        assert "Gallimard" in page
