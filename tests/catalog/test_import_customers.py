"""Customers snapshot import: shipping addresses over several rows, identifiers, upserts."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import ean

from app.catalog.importing import ImportResult, import_file
from app.catalog.models import Customer
from app.catalog.repository import get_customer_by_code
from tests.builders import make_customer

AS_OF = datetime(2026, 11, 25, 5, 30, tzinfo=UTC)
VAT = "FR40303265045"
HEADER = (
    "Code client;Raison sociale;TVA intra;GLN;E-mail;Adresse;CP;Ville;Pays;Remise;Bloqué;"
    "Code livraison;Nom livraison;Adresse livraison;CP livraison;Ville livraison;GLN livraison\n"
)


def gln(n: int) -> str:
    body = f"301500000{n:03d}"
    return body + ean.calc_check_digit(body)


def run_import(session: Session, tmp_path: Path, content: str, *, name: str = "clients.csv") -> ImportResult:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return import_file(session, kind="customers", path=path, as_of=AS_OF)


def customer(session: Session, code: str) -> Customer | None:
    session.expire_all()
    return get_customer_by_code(session, code, with_addresses=True)


def codes(session: Session) -> set[str]:
    return set(session.execute(select(Customer.code)).scalars())


class TestCustomerRows:
    def test_rows_with_one_code_give_one_customer_with_several_addresses(
        self, session: Session, tmp_path: Path
    ) -> None:
        content = HEADER + (
            f"LIB1;Librairie Le Failler;{VAT};{gln(1)};Commandes@Failler.example;8 rue Saint-Georges;35000;"
            f"Rennes;;33,5;non;MAG;Magasin;14 rue Nationale;35000;Rennes;{gln(2)}\n"
            f"LIB1;;;;;;;;;;;ENT;Entrepôt;ZI Nord;35510;Cesson;\n"
            f"LIB2;Électro Brest;;;;1 quai;29200;Brest;fr;0;oui;;;;;;\n"
        )

        result = run_import(session, tmp_path, content)

        assert (result.rows_accepted, result.rows_rejected, result.created) == (3, 0, 2)
        failler, brest = customer(session, "LIB1"), customer(session, "LIB2")
        assert failler is not None and brest is not None
        assert (failler.name, failler.vat_number, failler.gln, failler.email) == (
            "Librairie Le Failler",
            VAT,
            gln(1),
            "commandes@failler.example",
        )
        assert (failler.billing_street, failler.billing_country, failler.discount_percent) == (
            "8 rue Saint-Georges",
            "FR",
            Decimal("33.5"),
        )
        assert [(a.code, a.city, a.gln) for a in failler.shipping_addresses] == [
            ("MAG", "Rennes", gln(2)),
            ("ENT", "Cesson", None),
        ]
        assert (brest.blocked, brest.billing_country, brest.shipping_addresses) == (True, "FR", [])
        assert failler.snapshot_at == AS_OF

    def test_the_default_shipping_address_is_a_column_and_a_customer_has_at_most_one(
        self, session: Session, tmp_path: Path
    ) -> None:
        header = HEADER.replace("GLN livraison\n", "GLN livraison;Livraison par défaut\n")
        content = header + (
            "DEF1;Librairie Défaut;;;;1 rue;75001;Paris;;;;MAG;Magasin;2 rue;75002;Paris;;non\n"
            "DEF1;;;;;;;;;;;ENT;Entrepôt;ZI Nord;93200;Saint-Denis;;oui\n"
            "DEF2;Deux défauts;;;;1 rue;75001;Paris;;;;A;A;2 rue;75002;Paris;;oui\n"
            "DEF2;;;;;;;;;;;B;B;3 rue;75003;Paris;;oui\n"
        )

        result = run_import(session, tmp_path, content)

        imported = customer(session, "DEF1")
        assert imported is not None
        assert [(a.code, a.is_default) for a in imported.shipping_addresses] == [
            ("MAG", False),
            ("ENT", True),
        ]
        assert customer(session, "DEF2") is None and result.rows_rejected == 2
        assert "at most one shipping address may be the default" in result.report

    def test_the_siren_is_imported_checked_and_a_siret_gives_its_siren(
        self, session: Session, tmp_path: Path
    ) -> None:
        content = (
            "Code client;Raison sociale;Adresse;CP;Ville;SIREN\n"
            "SR1;Librairie A;1 rue;75001;Paris;552 100 554\n"
            "SR2;Librairie B;1 rue;75001;Paris;55210055400013\n"
            "SR3;Librairie C;1 rue;75001;Paris;552100555\n"
        )

        result = run_import(session, tmp_path, content)

        sirens = [getattr(customer(session, code), "siren", None) for code in ("SR1", "SR2", "SR3")]
        assert sirens == ["552100554", "552100554", None]
        assert result.rows_rejected == 1 and "clients.csv:4: SIREN: not a valid SIREN" in result.report

    def test_invalid_identifiers_are_reported_on_their_line(self, session: Session, tmp_path: Path) -> None:
        content = HEADER + (
            "BAD;Librairie;FR00000000000;3012345000018;;1 rue;75001;Paris;;;;;;;;;\n"
            "OK;Librairie;;;pas-un-email;1 rue;75001;Paris;;;;;;;;;\n"
            "OK2;Librairie;;;;1 rue;75001;Paris;;;;;;;;;\n"
        )

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [
            "clients.csv:2: TVA intra: not a valid EU VAT number (The number's checksum or check digit is "
            'invalid.) (got "FR00000000000"); GLN: not a valid GLN (The number\'s checksum or check digit is '
            'invalid.) (got "3012345000018")',
            'clients.csv:3: E-mail: not an e-mail address (got "pas-un-email")',
        ]
        assert codes(session) == {"OK2"}

    def test_a_bad_address_row_rejects_the_whole_customer(self, session: Session, tmp_path: Path) -> None:
        content = HEADER + (
            "LIB3;Librairie;;;;1 rue;75001;Paris;;;;MAG;;2 rue;75001;Paris;\n"
            "LIB3;;;;;;;;;;;DEP;;ZI;69000;Lyon;1234\n"
            "LIB4;Librairie;;;;1 rue;75001;Paris;;;;;;;;;\n"
        )

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [
            "clients.csv:2: Code client: rejected with line 3 (same customer)",
            'clients.csv:3: GLN livraison: a GLN has 13 digits (got "1234")',
        ]
        assert (result.rows_accepted, result.rows_rejected) == (1, 2)
        assert codes(session) == {"LIB4"}

    def test_a_repeated_code_must_only_add_an_address(self, session: Session, tmp_path: Path) -> None:
        content = HEADER + (
            "LIB5;Librairie;;;;1 rue;75001;Paris;;;;;;;;;\n"
            "LIB5;Autre nom;;;;;;;;;;MAG;;2 rue;75001;Paris;\n"
            "LIB6;Librairie;;;;1 rue;75001;Paris;;;;;;;;;\n"
            "LIB6;;;;;;;;;;;;;;;;\n"
        )

        result = run_import(session, tmp_path, content)

        assert result.report_lines == [
            "clients.csv:2: Code client: rejected with line 3 (same customer)",
            "clients.csv:3: Raison sociale: differs from line 2 (customer LIB5)",
            "clients.csv:4: Code client: rejected with line 5 (same customer)",
            "clients.csv:5: Code client: code LIB6 is also on line 4 of the file",
        ]
        assert codes(session) == set()

    def test_a_gln_of_another_customer_is_rejected(self, session: Session, tmp_path: Path) -> None:
        make_customer(session, code="OWNER", gln=gln(3))

        result = run_import(
            session, tmp_path, HEADER + f"NEW;Librairie;;{gln(3)};;1 rue;75001;Paris;;;;;;;;;\n"
        )

        assert result.report_lines == [f"clients.csv:2: GLN: GLN {gln(3)} belongs to customer OWNER"]
        assert codes(session) == {"OWNER"}


class TestCustomerReimport:
    def test_shipping_columns_replace_the_addresses(self, session: Session, tmp_path: Path) -> None:
        existing = make_customer(session, code="RE1", addresses=2)
        kept_id = existing.shipping_addresses[0].id
        content = HEADER + (
            "RE1;Nouveau nom;;;;1 rue;75001;Paris;;10;;DP1;Dépôt;99 quai de la Gare;69002;Lyon;\n"
            "RE1;;;;;;;;;;;NEW;Nouveau dépôt;ZI;38000;Grenoble;\n"
        )

        result = run_import(session, tmp_path, content)

        assert (result.created, result.updated) == (0, 1)
        updated = customer(session, "RE1")
        assert updated is not None
        assert (updated.name, updated.discount_percent) == ("Nouveau nom", Decimal(10))
        assert [(a.id == kept_id, a.code, a.street) for a in updated.shipping_addresses] == [
            (True, "DP1", "99 quai de la Gare"),
            (False, "NEW", "ZI"),
        ]

    def test_without_shipping_columns_addresses_and_other_columns_are_kept(
        self, session: Session, tmp_path: Path
    ) -> None:
        make_customer(session, code="RE2", addresses=2, discount_percent="30", blocked=True)

        run_import(session, tmp_path, "code;nom;adresse;cp;ville\nRE2;Renommée;2 rue;13001;Marseille\n")

        updated = customer(session, "RE2")
        assert updated is not None
        assert (updated.name, updated.billing_city, updated.discount_percent, updated.blocked) == (
            "Renommée",
            "Marseille",
            Decimal(30),
            True,
        )
        assert [a.code for a in updated.shipping_addresses] == ["DP1", "DP2"]


class TestCustomerJson:
    def test_api_shaped_objects_are_imported(self, session: Session, tmp_path: Path) -> None:
        billing = {"street": "1 rue", "postal_code": "75001", "city": "Paris"}
        shop = {"code": "MAG", "street": "2 rue", "postal_code": "75002", "city": "Paris"}
        items = [
            {
                "code": "J1",
                "name": "Librairie",
                "vat_number": VAT,
                "billing_address": billing,
                "shipping_addresses": [shop],
                "discount_percent": "12.5",
                "blocked": False,
            },
            {
                "code": "J2",
                "name": "Autre",
                "billing_address": billing,
                "shipping_addresses": [{**shop, "gln": "123"}],
            },
        ]
        content = json.dumps({"items": items})

        result = run_import(session, tmp_path, content, name="clients.json")

        assert result.report_lines == [
            'clients.json:item 2: shipping_addresses[0].gln: a GLN has 13 digits (got "123")'
        ]
        imported = customer(session, "J1")
        assert imported is not None
        assert (imported.vat_number, imported.discount_percent) == (VAT, Decimal("12.5"))
        assert [a.code for a in imported.shipping_addresses] == ["MAG"]
