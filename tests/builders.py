"""Small typed builders for test data."""

import itertools
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from app.auth.models import User
from app.auth.service import hash_password, issue_token
from app.catalog.models import Customer, Product, ShippingAddress
from app.clock import utcnow

_sequence = itertools.count(1)
SNAPSHOT_AT = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def gtin13(seed: int, prefix: str = "376") -> str:
    """A valid EAN-13 built from a seed (check digit computed)."""
    body = f"{prefix}{seed:09d}"[:12]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def make_customer(
    session: Session,
    *,
    code: str | None = None,
    name: str | None = None,
    discount_percent: str = "0",
    blocked: bool = False,
    gln: str | None = None,
    addresses: int = 1,
) -> Customer:
    n = next(_sequence)
    customer = Customer(
        code=code or f"C{n:05d}",
        name=name or f"Librairie {n}",
        gln=gln,
        billing_street=f"{n} rue des Lilas",
        billing_postal_code="75011",
        billing_city="Paris",
        billing_country="FR",
        discount_percent=Decimal(discount_percent),
        blocked=blocked,
        show_prices_on_delivery_note=True,
        snapshot_at=SNAPSHOT_AT,
        shipping_addresses=[
            ShippingAddress(
                code=f"DP{i}",
                name=f"Dépôt {i}",
                street=f"{i} quai de la Gare",
                postal_code="69002",
                city="Lyon",
                country="FR",
            )
            for i in range(1, addresses + 1)
        ],
    )
    session.add(customer)
    session.flush()
    return customer


def make_product(
    session: Session,
    *,
    code: str | None = None,
    price: str = "10.00",
    vat_rate: str = "20",
    includes_vat: bool = False,
    price_locked: bool = False,
    stock: str = "100",
    decimals: bool = False,
    supplier: tuple[str, str] | None = None,
) -> Product:
    n = next(_sequence)
    product = Product(
        code=code or f"P{n:06d}",
        gtin=gtin13(n),
        name=f"Article {n}",
        unit_price=Decimal(price),
        price_includes_vat=includes_vat,
        price_locked=price_locked,
        vat_rate=Decimal(vat_rate),
        allows_decimal_quantity=decimals,
        stock_on_hand=Decimal(stock),
        stock_as_of=SNAPSHOT_AT,
        reserved_quantity=Decimal(0),
        snapshot_at=SNAPSHOT_AT,
        supplier_code=supplier[0] if supplier else None,
        supplier_name=supplier[1] if supplier else None,
    )
    session.add(product)
    session.flush()
    return product


@lru_cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def make_user(
    session: Session, *, role: str = "rep", username: str | None = None, supplier_code: str | None = None
) -> User:
    user = User(
        username=username or f"user{next(_sequence)}",
        password_hash=_password_hash(),
        role=role,
        active=True,
        created_at=utcnow(),
        supplier_code=supplier_code,
    )
    session.add(user)
    session.flush()
    return user


def auth_headers(session: Session, *, role: str = "rep", supplier_code: str | None = None) -> dict[str, str]:
    user = make_user(session, role=role, supplier_code=supplier_code)
    return {"Authorization": f"Bearer {issue_token(user)}"}
