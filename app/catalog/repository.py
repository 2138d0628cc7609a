"""Queries on master data."""

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.catalog.models import Customer, Product, SnapshotImport


def get_customer_by_code(session: Session, code: str, *, with_addresses: bool = False) -> Customer | None:
    query = select(Customer).where(Customer.code == code)
    if with_addresses:
        query = query.options(selectinload(Customer.shipping_addresses))
    return session.execute(query).scalar_one_or_none()


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


def list_products(session: Session, *, q: str | None, after_id: int | None, limit: int) -> Sequence[Product]:
    query = select(Product).order_by(Product.id).limit(limit)
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


def master_data_as_of(session: Session) -> dict[str, datetime | None]:
    """How old each kind of master data is: customers and products as of their latest import (else
    their oldest record), stock as of the oldest figure a product's stock on hand rests on."""
    latest = dict(
        session.execute(
            select(SnapshotImport.kind, func.max(SnapshotImport.as_of))
            .where(SnapshotImport.kind.in_(("customers", "products")))
            .group_by(SnapshotImport.kind)
        )
        .tuples()
        .all()
    )
    return {
        "customers": latest.get("customers")
        or session.execute(select(func.min(Customer.snapshot_at))).scalar(),
        "products": latest.get("products") or session.execute(select(func.min(Product.snapshot_at))).scalar(),
        "stock": session.execute(select(func.min(Product.stock_as_of))).scalar(),
    }
