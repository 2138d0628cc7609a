"""Queries on orders. The capture path uses Core statements: it is the hot path of the product."""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Row, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from app.catalog.models import Customer, Product, ShippingAddress
from app.orders.models import OrderStatus, SaleOrder, SaleOrderLine, UnresolvedOrderLine

customer_table = cast(Table, Customer.__table__)
product_table = cast(Table, Product.__table__)
order_table = cast(Table, SaleOrder.__table__)
line_table = cast(Table, SaleOrderLine.__table__)
unresolved_table = cast(Table, UnresolvedOrderLine.__table__)

# The capture path runs these for every order: built once, executed on the session's connection.
_c, _p, _o = customer_table.c, product_table.c, order_table.c
_CUSTOMER = select(_c.id, _c.code, _c.name, _c.blocked, _c.discount_percent).where(
    _c.code == bindparam("code")
)
_PRODUCTS = select(
    _p.id,
    _p.code,
    _p.gtin,
    _p.name,
    _p.unit_price,
    _p.price_includes_vat,
    _p.price_locked,
    _p.vat_rate,
    _p.allows_decimal_quantity,
    _p.stock_on_hand,
    _p.reserved_quantity,
).where(or_(_p.code.in_(bindparam("codes", expanding=True)), _p.gtin.in_(bindparam("gtins", expanding=True))))
_ADD_RESERVED = (
    update(product_table)
    .where(_p.id == bindparam("pid"))
    .values(reserved_quantity=_p.reserved_quantity + bindparam("quantity", type_=_p.reserved_quantity.type))
)
_LOOK_ALIKES = (
    select(_o.number, _o.channel, _o.customer_reference, _o.content_fingerprint)
    .where(
        _o.customer_id == bindparam("customer_id"),
        _o.status != OrderStatus.CANCELLED,
        or_(
            _o.customer_reference == bindparam("reference"),
            (_o.content_fingerprint == bindparam("fingerprint")) & (_o.created_at >= bindparam("since")),
        ),
    )
    .order_by(_o.id)
    .limit(5)
)
_INSERT_ORDER = insert(order_table).returning(_o.id)
_INSERT_LINES = insert(line_table)
_INSERT_ORDER_ROWS = insert(order_table)
_INSERT_UNRESOLVED = insert(unresolved_table)


def customer_for_capture(session: Session, code: str) -> Row[*tuple[Any, ...]] | None:
    return session.connection().execute(_CUSTOMER, {"code": code}).one_or_none()


def shipping_address_by_code(session: Session, customer_id: int, code: str) -> ShippingAddress | None:
    query = select(ShippingAddress).where(
        ShippingAddress.customer_id == customer_id, ShippingAddress.code == code
    )
    return session.execute(query).scalar_one_or_none()


class CaptureProduct(NamedTuple):
    """A product as capture reads it (`_PRODUCTS`), as a plain tuple: planning an interchange reads its
    fields a few hundred thousand times, and a Row's attribute costs ten times a tuple's."""

    id: int
    code: str
    gtin: str | None
    name: str
    unit_price: Decimal
    price_includes_vat: bool
    price_locked: bool
    vat_rate: Decimal
    allows_decimal_quantity: bool
    stock_on_hand: Decimal
    reserved_quantity: Decimal


def products_for_capture(session: Session, *, codes: set[str], gtins: set[str]) -> list[CaptureProduct]:
    rows = session.connection().execute(_PRODUCTS, {"codes": list(codes), "gtins": list(gtins)})
    return list(map(CaptureProduct._make, rows))


def add_reserved_quantities(session: Session, quantities: dict[int, Decimal]) -> None:
    """Add to (or, with negative quantities, take from) what open orders reserve. Rows are updated in
    id order so that concurrent transactions on PostgreSQL lock them in the same order."""
    if not quantities:
        return
    session.connection().execute(
        _ADD_RESERVED, [{"pid": pid, "quantity": quantities[pid]} for pid in sorted(quantities)]
    )


def look_alike_orders(
    session: Session, *, customer_id: int, reference: str | None, fingerprint: str, since: datetime
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Orders of the customer, not cancelled, with the same reference, or with the same products and
    quantities captured since `since` (a phone order and its EDI twin)."""
    parameters = {
        "customer_id": customer_id,
        "reference": reference,
        "fingerprint": fingerprint,
        "since": since,
    }
    return session.connection().execute(_LOOK_ALIKES, parameters).all()


def look_alike_orders_of(
    session: Session, *, customer_ids: set[int], references: set[str], fingerprints: set[str], since: datetime
) -> Sequence[Row[*tuple[Any, ...]]]:
    """`look_alike_orders` for a whole batch of orders (an EDI interchange), in one query."""
    query = (
        select(
            _o.number,
            _o.channel,
            _o.customer_reference,
            _o.content_fingerprint,
            _o.customer_id,
            _o.created_at,
        )
        .where(
            _o.customer_id.in_(customer_ids),
            _o.status != OrderStatus.CANCELLED,
            or_(
                _o.customer_reference.in_(references),
                (_o.content_fingerprint.in_(fingerprints)) & (_o.created_at >= since),
            ),
        )
        .order_by(_o.id)
    )
    return session.connection().execute(query).all()


def insert_order(session: Session, values: dict[str, Any], lines: list[dict[str, Any]]) -> int:
    connection = session.connection()
    order_id: int = connection.execute(_INSERT_ORDER, values).scalar_one()
    connection.execute(_INSERT_LINES, [{**line, "order_id": order_id} for line in lines])
    return order_id


def insert_orders(
    session: Session,
    orders: list[dict[str, Any]],
    lines: list[Sequence[Any]],
    unresolved: list[list[dict[str, Any]]],
) -> list[int]:
    """Many orders in a few statements (multi-row inserts); `lines[i]` are the lines of `orders[i]`
    (planned lines: objects with the attributes of `_NEW_LINE_VALUES`) and `unresolved[i]` its lines
    that are not order lines yet. Returns the orders' ids."""
    connection = session.connection()
    # One executemany, then the ids by number: RETURNING in parameter order is one statement per row
    # on SQLite.
    connection.execute(_INSERT_ORDER_ROWS, orders)
    numbers = [order["number"] for order in orders]
    found = dict(connection.execute(select(_o.number, _o.id).where(_o.number.in_(numbers))).all())
    ids = [found[number] for number in numbers]
    _insert_new_lines(connection, ids, lines)
    rows = [
        {**child, "order_id": order_id}
        for order_id, order_children in zip(ids, unresolved, strict=True)
        for child in order_children
    ]
    if rows:
        connection.execute(_INSERT_UNRESOLVED, rows)
    return ids


# The columns of a line just captured; it has shipped, backordered and closed nothing yet.
_NEW_LINE_COLUMNS = (
    "order_id",
    "line_no",
    "product_id",
    "product_code",
    "gtin",
    "description",
    "quantity",
    "unit_price",
    "price_includes_vat",
    "discount_percent",
    "vat_rate",
    "line_amount",
    "net_amount",
    "external_line_no",
)
_ZERO_COLUMNS = ("shipped_quantity", "backordered_quantity", "closed_quantity")


def _insert_new_lines(connection: Connection, order_ids: list[int], lines: list[Sequence[Any]]) -> None:
    """The lines of a batch of orders (an EDI interchange: ten thousand of them) in one executemany of
    plain tuples. SQLAlchemy's per-row parameter handling would cost more than the rest of the insert:
    here the values are gathered and converted column by column (each column's type's bind processor,
    the one SQLAlchemy would apply), and the zero quantities are literals of the statement."""
    flat = [line for order_lines in lines for line in order_lines]
    if not flat:
        return
    dialect = connection.dialect
    columns: list[list[Any]] = [
        [order_id for order_id, order_lines in zip(order_ids, lines, strict=True) for _ in order_lines]
    ]
    for name in _NEW_LINE_COLUMNS[1:]:
        column = list(map(attrgetter(name), flat))
        process = line_table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append(column if process is None else list(map(process, column)))
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    names = ", ".join((*_NEW_LINE_COLUMNS, *_ZERO_COLUMNS))
    markers = ", ".join([marker] * len(_NEW_LINE_COLUMNS) + ["0"] * len(_ZERO_COLUMNS))
    connection.exec_driver_sql(
        f"INSERT INTO {line_table.name} ({names}) VALUES ({markers})", list(zip(*columns, strict=True))
    )


def get_order(session: Session, number: str, *, lock: bool = False) -> SaleOrder | None:
    query = (
        select(SaleOrder)
        .where(SaleOrder.number == number)
        .options(
            selectinload(SaleOrder.lines),
            selectinload(SaleOrder.customer),
            selectinload(SaleOrder.unresolved_lines),
        )
    )
    if lock:
        query = query.with_for_update(of=SaleOrder)
    return session.execute(query).scalar_one_or_none()


def list_orders(
    session: Session,
    *,
    customer_code: str | None,
    status: str | None,
    channel: str | None,
    q: str | None,
    before_id: int | None,
    limit: int,
    customer_ids: frozenset[int] | None,
) -> Sequence[SaleOrder]:
    query = (
        select(SaleOrder)
        .join(SaleOrder.customer)
        .options(
            selectinload(SaleOrder.lines),
            selectinload(SaleOrder.customer),
            selectinload(SaleOrder.unresolved_lines),
        )
        .order_by(SaleOrder.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(SaleOrder.id < before_id)
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    if customer_code:
        query = query.where(Customer.code == customer_code)
    if status:
        query = query.where(SaleOrder.status == status)
    if channel:
        query = query.where(SaleOrder.channel == channel)
    if q:
        needle = q.lower()
        query = query.where(
            or_(
                SaleOrder.number == q.upper(),
                func.lower(SaleOrder.customer_reference).contains(needle, autoescape=True),
                func.lower(Customer.name).contains(needle, autoescape=True),
            )
        )
    return session.execute(query).scalars().all()
