"""Demo data: valid identifiers, deterministic, and `carnet demo-data --if-empty` (in development only)."""

import random
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, selectinload
from stdnum import ean, isbn
from stdnum.fr import siren, tva

from app.auth.models import User
from app.auth.service import check_sign_in
from app.catalog.models import Customer, Product
from app.cli import main
from app.config import get_settings
from app.demo import DEMO_LOGINS, demo_customers, demo_products, french_vat_number, generate_demo_data
from app.orders.models import SaleOrder


def count(engine: Engine, model: type[Customer | Product | SaleOrder | User]) -> int:
    with Session(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


class TestGeneratedData:
    def test_identifiers_prices_and_orders_are_valid(self, session: Session) -> None:
        summary = generate_demo_data(session, customers=80, products=500, orders=12, seed=11)

        customers = session.execute(
            select(Customer).options(selectinload(Customer.shipping_addresses))
        ).scalars()
        customers = list(customers)
        products = list(session.execute(select(Product)).scalars())
        assert (summary.customers, len(customers), summary.products, len(products)) == (80, 80, 500, 500)
        vat_numbers = [c.vat_number for c in customers if c.vat_number]
        assert len(vat_numbers) > 60 and all(tva.is_valid(v) and v.startswith("FR") for v in vat_numbers)
        assert all(siren.is_valid(v[4:]) for v in vat_numbers)
        glns = [c.gln for c in customers if c.gln] + [
            a.gln for c in customers for a in c.shipping_addresses if a.gln
        ]
        assert len(glns) > 20 and all(len(g) == 13 and ean.is_valid(g) for g in glns)
        assert any(len(c.shipping_addresses) > 1 for c in customers)
        assert 1 <= sum(c.blocked for c in customers) <= 4
        assert all(Decimal(0) <= c.discount_percent <= Decimal(40) for c in customers)

        books = [p for p in products if p.code.startswith("L")]
        electronics = [p for p in products if p.code.startswith("E")]
        assert len(books) > 250 and len(electronics) > 100
        assert all(p.gtin and len(p.gtin) == 13 and ean.is_valid(p.gtin) for p in products)
        assert all(p.gtin.startswith("9782") and isbn.is_valid(p.gtin) for p in books)  # type: ignore[union-attr]
        assert all(
            (p.price_includes_vat, p.price_locked, p.vat_rate) == (True, True, Decimal("5.5")) for p in books
        )
        assert all((p.price_includes_vat, p.vat_rate) == (False, Decimal(20)) for p in electronics)
        assert any(p.allows_decimal_quantity for p in electronics)
        assert any(p.stock_on_hand == 0 for p in products)

        orders = list(session.execute(select(SaleOrder)).scalars())
        rep = session.execute(select(User).where(User.username == "rep")).scalar_one()
        assert len(orders) == 12 and {o.captured_by for o in orders} == {f"user:{rep.id}"}

    def test_demo_users_sign_in_with_the_printed_passwords(self, session: Session) -> None:
        generate_demo_data(session, customers=3, products=10, orders=0)

        for username, password in DEMO_LOGINS.items():
            attempt = check_sign_in(session, username=username, password=password, address="127.0.0.1")
            user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
            assert user is not None and user.role == username

    def test_the_french_vat_key_is_computed(self) -> None:
        assert french_vat_number("303265045") == "FR40303265045"


class TestDeterminism:
    def test_the_same_seed_gives_the_same_data(self) -> None:
        assert demo_customers(random.Random(3), 40) == demo_customers(random.Random(3), 40)
        assert demo_products(random.Random(3), 200) == demo_products(random.Random(3), 200)

    def test_another_seed_gives_other_data(self) -> None:
        assert demo_customers(random.Random(3), 40) != demo_customers(random.Random(4), 40)


class TestDemoDataCommand:
    def test_loads_the_data_and_prints_the_logins(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["demo-data", "--customers", "12", "--products", "60", "--orders", "4"]) == 0

        out, err = capsys.readouterr()
        assert "demo data: 12 customers, 60 products, 4 orders" in out
        assert all(f"{username:<10} {password}" in out for username, password in DEMO_LOGINS.items())
        assert "warning: the demo users' passwords are public" in err
        assert (count(cli_engine, Customer), count(cli_engine, Product), count(cli_engine, SaleOrder)) == (
            12,
            60,
            4,
        )

    def test_if_empty_does_nothing_on_a_database_with_customers(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        main(["demo-data", "--customers", "5", "--products", "20", "--orders", "2"])
        capsys.readouterr()

        assert main(["demo-data", "--if-empty"]) == 0

        out = capsys.readouterr().out
        assert "already has customers: no demo data loaded" in out
        assert "carnet-rep-2026" in out
        assert (count(cli_engine, Customer), count(cli_engine, Product), count(cli_engine, SaleOrder)) == (
            5,
            20,
            2,
        )
        assert count(cli_engine, User) == len(DEMO_LOGINS)  # one per role, not twice

    @pytest.mark.parametrize("environment", ["production", "test"])
    def test_refused_outside_development_and_nothing_is_written(
        self,
        environment: str,
        cli_engine: Engine,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("CARNET_ENVIRONMENT", environment)
        monkeypatch.setenv("CARNET_SECRET_KEY", "q7Vt2mXr9LpB4sWk8NzD3cHf6JyG1aRe")
        monkeypatch.setenv("CARNET_SELLER_LEGAL_ID", "552100554")
        monkeypatch.setenv("CARNET_SELLER_LEGAL_MENTIONS", "SAS au capital de 10 000 €, RCS Lyon 552 100 554")
        get_settings.cache_clear()

        assert main(["demo-data", "--if-empty"]) == 2

        out, err = capsys.readouterr()
        assert f"CARNET_ENVIRONMENT is {environment}" in err
        assert "for development only" in err
        assert not any(password in out + err for password in DEMO_LOGINS.values())
        assert (count(cli_engine, Customer), count(cli_engine, User)) == (0, 0)
