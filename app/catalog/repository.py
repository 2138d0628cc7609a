"""Queries on master data."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, selectinload

from app.catalog.models import Customer, Product, ShippingAddress, SnapshotImport


def get_customer_by_code(session: Session, code: str, *, with_addresses: bool = False) -> Customer | None:
    query = select(Customer).where(Customer.code == code)
    if with_addresses:
        query = query.options(selectinload(Customer.shipping_addresses))
    return session.execute(query).scalar_one_or_none()


def shipping_addresses_of(session: Session, customer_id: int) -> Sequence[ShippingAddress]:
    query = select(ShippingAddress).where(ShippingAddress.customer_id == customer_id)
    return session.execute(query.order_by(ShippingAddress.id)).scalars().all()


def list_customers(
    session: Session, *, q: str | None, after_id: int | None, limit: int, customer_ids: frozenset[int] | None
) -> Sequence[Customer]:
    query = (
        select(Customer).options(selectinload(Customer.shipping_addresses)).order_by(Customer.id).limit(limit)
    )
    if after_id is not None:
        query = query.where(Customer.id > after_id)
    if customer_ids is not None:
        query = query.where(Customer.id.in_(customer_ids))
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Customer.name).contains(needle, autoescape=True),
                func.lower(Customer.code).contains(needle, autoescape=True),
                Customer.gln == q,
            )
        )
    return session.execute(query).scalars().all()


def get_product_by_code(session: Session, code: str) -> Product | None:
    return session.execute(select(Product).where(Product.code == code)).scalar_one_or_none()


def list_products(
    session: Session, *, q: str | None, after_id: int | None, limit: int, supplier_code: str | None = None
) -> Sequence[Product]:
    """`supplier_code`: only that supplier's titles."""
    query = select(Product).order_by(Product.id).limit(limit)
    if supplier_code is not None:
        query = query.where(Product.supplier_code == supplier_code)
    if after_id is not None:
        query = query.where(Product.id > after_id)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                func.lower(Product.name).contains(needle, autoescape=True),
                func.lower(Product.code).contains(needle, autoescape=True),
                Product.gtin == q,
            )
        )
    return session.execute(query).scalars().all()


def products_by_codes_or_gtins(
    session: Session, *, codes: Iterable[str], gtins: Iterable[str]
) -> tuple[dict[str, Product], dict[str, Product]]:
    """One query for all the products an order names, indexed by code and by GTIN."""
    codes, gtins = set(codes), set(gtins)
    clauses = []
    if codes:
        clauses.append(Product.code.in_(codes))
    if gtins:
        clauses.append(Product.gtin.in_(gtins))
    if not clauses:
        return {}, {}
    products = session.execute(select(Product).where(or_(*clauses))).scalars().all()
    return {p.code: p for p in products}, {p.gtin: p for p in products if p.gtin}


def latest_snapshot(session: Session) -> SnapshotImport | None:
    return session.execute(select(SnapshotImport).order_by(SnapshotImport.as_of.desc()).limit(1)).scalar()


GTIN_LENGTHS = (8, 12, 13, 14)


def _words_in(session: Session, column: Any, text: str) -> list[Any]:
    """`column` holds every word, whatever the case. On SQLite, plain LIKE (already case-insensitive
    for ASCII letters, not for accented ones) can be answered from an index on the column alone,
    about eight times faster than `lower(column)` over the table: a title search that matches
    nothing reads 100,000 titles in ~10 ms. PostgreSQL has ILIKE."""
    words = text.split()
    if session.get_bind().dialect.name == "sqlite":
        return [column.contains(word, autoescape=True) for word in words]
    return [column.icontains(word, autoescape=True) for word in words]


def _code_prefix(column: Any, text: str) -> Any:
    """`code starts with text`, written as a range so that the unique index on codes serves it on both
    engines (LIKE would not use it: case-insensitive on SQLite, collation-bound on PostgreSQL)."""
    prefix = text.upper()
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def find_products(session: Session, text: str, *, limit: int) -> list[Product]:
    """The desk's item lookup: an exact code or GTIN first (a scanner types the GTIN), then codes that
    start with the text, then titles holding every word typed."""
    text = text.strip()
    if not text:
        return []
    exact = (
        session.execute(
            select(Product).where(
                or_(Product.code == text, Product.code == text.upper(), Product.gtin == text)
            )
        )
        .scalars()
        .all()
    )
    found: dict[int, Product] = {p.id: p for p in exact}
    if len(found) < limit:
        by_code = select(Product).where(_code_prefix(Product.code, text)).order_by(Product.code).limit(limit)
        found.update((p.id, p) for p in session.execute(by_code).scalars() if p.id not in found)
    if len(found) < limit and not (text.isdigit() and len(text) in GTIN_LENGTHS):  # a scanned GTIN: no title
        found.update((p.id, p) for p in _titles_holding(session, text, limit) if p.id not in found)
    return list(found.values())[:limit]


def _titles_holding(session: Session, text: str, limit: int) -> Sequence[Product]:
    """Products whose title holds every word. Words of three letters or more are looked up in the
    trigram index (migration 0010); shorter ones scan the titles, stopping at the first matches."""
    words = text.split()
    if session.get_bind().dialect.name == "sqlite" and all(len(word) >= 3 for word in words):
        phrase = " AND ".join('"' + word.replace('"', '""') + '"' for word in words)
        ids = (
            session.execute(
                sql_text("SELECT rowid FROM product_search WHERE product_search MATCH :phrase LIMIT :limit"),
                {"phrase": phrase, "limit": limit},
            )
            .scalars()
            .all()
        )
        return session.execute(select(Product).where(Product.id.in_(ids))).scalars().all() if ids else []
    # No ORDER BY: the scan stops at the first `limit` titles that match, instead of reading them all.
    return (
        session.execute(select(Product).where(*_words_in(session, Product.name, text)).limit(limit))
        .scalars()
        .all()
    )


def find_customers(
    session: Session, text: str, *, limit: int, customer_ids: frozenset[int] | None
) -> list[Customer]:
    """The desk's customer lookup: by code, name, city or postal code (every word typed must match one
    of them); an exact code comes first."""
    text = text.strip()
    if not text:
        return []
    query = select(Customer).options(selectinload(Customer.shipping_addresses))
    if customer_ids is not None:
        query = query.where(Customer.id.in_(customer_ids))
    exact = session.execute(query.where(Customer.code == text.upper())).scalars().all()
    found: dict[int, Customer] = {c.id: c for c in exact}
    matches_every_word = [
        or_(
            func.lower(Customer.name).contains(word, autoescape=True),
            func.lower(Customer.billing_city).contains(word, autoescape=True),
            Customer.billing_postal_code.startswith(word, autoescape=True),
            _code_prefix(Customer.code, word),
        )
        for word in text.lower().split()
    ]
    rest = session.execute(query.where(*matches_every_word).order_by(Customer.name).limit(limit)).scalars()
    found.update((c.id, c) for c in rest if c.id not in found)
    return list(found.values())[:limit]


def master_data_as_of(session: Session) -> dict[str, datetime | None]:
    """How old each kind of master data is: customers and products as of their latest import (else
    their oldest record), stock as of the oldest figure a product's stock on hand rests on."""
    latest: dict[str, datetime] = {
        kind: as_of
        for kind, as_of in session.execute(
            select(SnapshotImport.kind, func.max(SnapshotImport.as_of))
            .where(SnapshotImport.kind.in_(("customers", "products")))
            .group_by(SnapshotImport.kind)
        )
    }
    return {
        "customers": latest.get("customers")
        or session.execute(select(func.min(Customer.snapshot_at))).scalar(),
        "products": latest.get("products") or session.execute(select(func.min(Product.snapshot_at))).scalar(),
        "stock": session.execute(select(func.min(Product.stock_as_of))).scalar(),
    }
