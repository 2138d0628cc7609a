"""Bulk writes of master data with SQLAlchemy Core: products, stock levels, and customers with their
shipping addresses, inserted or updated by code with executemany in chunks of `CHUNK_SIZE` rows.

The writers trust what they are given: records valid for `ProductCreate` / `CustomerCreate`, codes,
GTINs and GLNs already unique and free (`app.catalog.importing` checks an export, `app.demo` builds
valid records). They write in the caller's transaction and never commit.

`present` is the set of columns a record states, named as the import's canonical columns: fields
outside it are left as they are on existing records. `upsert_products` and `upsert_customers` state
every field, as `save_product` and `save_customer` do.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from app.catalog.models import Customer, Product, ShippingAddress
from app.catalog.schemas import CustomerCreate, ProductCreate, ShippingAddressIn
from app.catalog.stock import StockFigure, bring_up_to_now
from app.clock import utcnow
from app.config import get_settings

CHUNK_SIZE = 5_000

Advance = Callable[[str, int], None]  # (stage, rows done): progress reporting

PRODUCT_FIELDS = tuple(ProductCreate.model_fields)
ADDRESS_PARTS = ("name", "street", "street2", "postal_code", "city", "country")
CUSTOMER_FIELDS = (
    "code",
    "name",
    "siren",
    "vat_number",
    "gln",
    "email",
    "phone",
    "discount_percent",
    "blocked",
    "show_prices_on_delivery_note",
)  # a customer's own columns, besides its billing_* and shipping_* ones

# Declarative `__table__` is typed as any FromClause; these models are declared with a Table.
_product_table = cast(Table, Product.__table__)
_customer_table = cast(Table, Customer.__table__)
_address_table = cast(Table, ShippingAddress.__table__)


def aware(moment: datetime) -> datetime:
    """A moment in UTC; a naive one (a file's date without an offset) is on the business's clock
    (`CARNET_BUSINESS_TIMEZONE`, Europe/Paris by default), not the machine's."""
    local = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(get_settings().business_timezone))
    return local.astimezone(UTC)


def _chunks(items: Sequence[Any], size: int = CHUNK_SIZE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _execute_many(session: Session, statement: Any, rows: Sequence[dict[str, Any]], advance: Advance) -> None:
    """Executemany in chunks, one statement per set of keys (an executemany needs the same keys).
    Updates go in id order (`b_id`), the order in which every writer locks rows: on PostgreSQL an
    import while reps capture and the warehouse ships never deadlocks with them."""
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda row: row.get("b_id", 0)):
        by_keys[tuple(row)].append(row)
    for group in by_keys.values():
        for chunk in _chunks(group):
            session.execute(statement, list(chunk))
            advance("writing", len(chunk))


# --- products --------------------------------------------------------------------------------------


def current_products(session: Session) -> dict[str, tuple[int, str | None]]:
    """Code -> (id, GTIN) of every product in the database."""
    t = _product_table
    return {code: (pid, gtin) for code, pid, gtin in session.execute(select(t.c.code, t.c.id, t.c.gtin))}


def write_products(
    session: Session,
    products: Sequence[tuple[ProductCreate, frozenset[str]]],
    *,
    current: dict[str, tuple[int, str | None]],
    as_of: datetime,
    advance: Advance | None = None,
    stock_kept: list[tuple[str, datetime]] | None = None,
) -> tuple[int, int]:
    """Insert new products and update existing ones (only the fields each row states), with Core
    executemany. `current`: code -> (id, gtin) of the products in the database. The reserved quantity
    is never written except as 0 on a new product. An existing product's stock is the file's figure
    brought up to now (app/catalog/stock.py); a figure older than the product's is not applied, and
    `stock_kept` receives (code, date of the product's figure) for each."""
    advance = advance or (lambda _stage, _n: None)
    t = _product_table
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    gtin_moves: list[dict[str, Any]] = []
    figures: list[StockFigure] = []
    for model, present in products:
        values = model.model_dump(exclude={"stock_as_of"})
        stock_as_of = aware(model.stock_as_of) if model.stock_as_of else as_of
        existing = current.get(model.code)
        if existing is None:
            new_rows.append(
                {**values, "stock_as_of": stock_as_of, "reserved_quantity": Decimal(0), "snapshot_at": as_of}
            )
            continue
        pid, old_gtin = existing
        change = {
            "b_id": pid,
            **{k: v for k, v in values.items() if k in present and k != "code"},
            "snapshot_at": as_of,
        }
        if "stock_on_hand" in present or "stock_as_of" in present:
            change["stock_as_of"] = stock_as_of
            figures.append(StockFigure(pid, model.stock_on_hand, stock_as_of))
        if "gtin" in present and old_gtin and model.gtin != old_gtin:
            gtin_moves.append({"b_id": pid, "gtin": None})
        changes.append(change)
    brought = bring_up_to_now(session, figures)
    change_of = {change["b_id"]: change for change in changes}
    for pid, quantity, _ in brought.applied:
        change_of[pid]["stock_on_hand"] = quantity
    codes = {pid: code for code, (pid, _) in current.items()}
    for pid, figure_as_of in brought.older:
        for field in ("stock_on_hand", "stock_as_of"):
            change_of[pid].pop(field, None)
        if stock_kept is not None:
            stock_kept.append((codes[pid], figure_as_of))
    by_id = update(t).where(t.c.id == bindparam("b_id"))
    # GTINs may move between products within one file: free them all before any is taken again.
    _execute_many(session, by_id, gtin_moves, lambda _stage, _n: None)
    _execute_many(session, by_id, changes, advance)
    _execute_many(session, insert(t), new_rows, advance)
    return len(new_rows), len(changes)


def upsert_products(
    session: Session,
    products: Sequence[ProductCreate],
    *,
    as_of: datetime | None = None,
) -> tuple[int, int]:
    """Every field of each product, as `save_product` does, in bulk; returns (created, updated)."""
    every = frozenset(PRODUCT_FIELDS)
    return write_products(
        session, [(p, every) for p in products], current=current_products(session), as_of=as_of or utcnow()
    )


def write_stock(
    session: Session,
    levels: Sequence[tuple[int, Decimal, datetime]],
    *,
    advance: Advance,
) -> None:
    """Set the stock on hand of existing products, `(product id, quantity, as of)`."""
    t = _product_table
    changes = [
        {"b_id": pid, "stock_on_hand": quantity, "stock_as_of": as_of} for pid, quantity, as_of in levels
    ]
    _execute_many(session, update(t).where(t.c.id == bindparam("b_id")), changes, advance)


# --- customers -------------------------------------------------------------------------------------


def current_customers(session: Session) -> dict[str, tuple[int, str | None]]:
    """Code -> (id, GLN) of every customer in the database."""
    t = _customer_table
    return {code: (cid, gln) for code, cid, gln in session.execute(select(t.c.code, t.c.id, t.c.gln))}


def _customer_values(model: CustomerCreate) -> dict[str, Any]:
    billing = model.billing_address
    return {
        "code": model.code,
        "name": model.name,
        "siren": model.siren,
        "vat_number": model.vat_number,
        "gln": model.gln,
        "email": model.email.lower() if model.email else None,
        "phone": model.phone,
        **{f"billing_{part}": getattr(billing, part) for part in ADDRESS_PARTS},
        "discount_percent": model.discount_percent,
        "blocked": model.blocked,
        "show_prices_on_delivery_note": model.show_prices_on_delivery_note,
    }


def write_customers(
    session: Session,
    customers: Sequence[tuple[CustomerCreate, frozenset[str]]],
    *,
    current: dict[str, tuple[int, str | None]],
    as_of: datetime,
    advance: Advance | None = None,
) -> tuple[int, int]:
    """Insert new customers and update existing ones (only the fields each row states). When a row
    states shipping addresses, the customer's addresses become exactly those."""
    advance = advance or (lambda _stage, _n: None)
    t = _customer_table
    new_rows, changes, gln_moves = [], [], []
    for model, present in customers:
        values = _customer_values(model)
        existing = current.get(model.code)
        if existing is None:
            new_rows.append({**values, "snapshot_at": as_of})
            continue
        cid, old_gln = existing
        changes.append(
            {
                "b_id": cid,
                **{k: v for k, v in values.items() if k in present and k != "code"},
                "snapshot_at": as_of,
            }
        )
        if "gln" in present and old_gln and model.gln != old_gln:
            gln_moves.append({"b_id": cid, "gln": None})
    by_id = update(t).where(t.c.id == bindparam("b_id"))
    _execute_many(session, by_id, gln_moves, lambda _stage, _n: None)
    _execute_many(session, by_id, changes, advance)
    ids = {code: cid for code, (cid, _) in current.items()}
    for chunk in _chunks(new_rows):
        returning = insert(t).returning(t.c.code, t.c.id, sort_by_parameter_order=True)
        inserted = session.execute(returning, list(chunk))
        ids.update({code: cid for code, cid in inserted})
        advance("writing", len(chunk))
    shipping = {
        ids[model.code]: model.shipping_addresses
        for model, present in customers
        if any(column.startswith("shipping_") for column in present)
    }
    _replace_addresses(session, shipping)
    return len(new_rows), len(changes)


def _replace_addresses(session: Session, addresses: Mapping[int, Sequence[ShippingAddressIn]]) -> None:
    a = _address_table
    existing: dict[tuple[int, str], int] = {}
    for chunk in _chunks(list(addresses)):
        query = select(a.c.customer_id, a.c.code, a.c.id).where(a.c.customer_id.in_(chunk))
        existing.update({(cid, code): aid for cid, code, aid in session.execute(query)})
    new_rows, changes = [], []
    for customer_id, incoming in addresses.items():
        for address in incoming:
            values = address.model_dump()
            aid = existing.pop((customer_id, address.code), None)
            if aid is None:
                new_rows.append({"customer_id": customer_id, **values})
            else:
                changes.append({"b_id": aid, **values})
    gone = [{"b_id": aid} for aid in existing.values()]
    skip: Advance = lambda _stage, _n: None  # noqa: E731
    _execute_many(session, delete(a).where(a.c.id == bindparam("b_id")), gone, skip)
    _execute_many(session, update(a).where(a.c.id == bindparam("b_id")), changes, skip)
    _execute_many(session, insert(a), new_rows, skip)


def upsert_customers(
    session: Session,
    customers: Sequence[CustomerCreate],
    *,
    as_of: datetime | None = None,
) -> tuple[int, int]:
    """Every field of each customer, shipping addresses included, as `save_customer` does, in bulk."""
    every = frozenset([*CUSTOMER_FIELDS, *(f"billing_{p}" for p in ADDRESS_PARTS), "shipping_code"])
    return write_customers(
        session, [(c, every) for c in customers], current=current_customers(session), as_of=as_of or utcnow()
    )
