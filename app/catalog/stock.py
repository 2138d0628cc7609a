"""Stock on hand that a snapshot cannot rewind.

Every goods movement Carnet records (a shipment, a void, a receipt, a return, a warehouse count) is
written to the `stock_movement` ledger with its moment. A stock figure from the ERP is a count as of
its date: imported, it becomes the stock on hand with Carnet's own movements after that date applied
on top. A figure older than the one a product has (a later import, or a count by the warehouse) does
not replace it: the import says which products it was not applied to.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from app.catalog.models import Product, StockMovement
from app.money import ZERO

CHUNK = 2_000
_movement = cast(Table, StockMovement.__table__)


@dataclass(frozen=True, slots=True)
class Movement:
    product_id: int
    quantity: Decimal  # signed: what left is negative
    kind: str  # shipment, void, receipt, return, return_cancelled, count
    reference: str | None
    recorded_by: str
    moved_at: datetime
    reason: str | None = None


def record_movements(session: Session, movements: Iterable[Movement]) -> None:
    """Write movements to the ledger in the caller's transaction (one statement)."""
    rows = [
        {
            "product_id": m.product_id,
            "quantity": m.quantity,
            "kind": m.kind,
            "reference": m.reference,
            "recorded_by": m.recorded_by,
            "moved_at": m.moved_at,
            "reason": m.reason,
        }
        for m in movements
        if m.quantity
    ]
    if rows:
        session.execute(insert(_movement), rows)


@dataclass(frozen=True, slots=True)
class StockFigure:
    """A product's stock as the ERP counted it at `as_of`."""

    product_id: int
    quantity: Decimal
    as_of: datetime


@dataclass
class Brought:
    """Figures brought up to now (product id, stock on hand, as of), and those older than what the
    product has (product id, the date of its current figure)."""

    applied: list[tuple[int, Decimal, datetime]]
    older: list[tuple[int, datetime]]


def bring_up_to_now(session: Session, figures: Sequence[StockFigure]) -> Brought:
    """The stock on hand each figure gives once Carnet's movements after its date are applied."""
    brought = Brought([], [])
    for start in range(0, len(figures), CHUNK):
        chunk = figures[start : start + CHUNK]
        ids = [figure.product_id for figure in chunk]
        query = select(Product.id, Product.stock_as_of).where(Product.id.in_(ids))
        current = {pid: as_of for pid, as_of in session.execute(query)}
        newer = []
        for figure in chunk:
            if current[figure.product_id] <= figure.as_of:
                newer.append(figure)
            else:
                brought.older.append((figure.product_id, current[figure.product_id]))
        since = _moved_since(session, newer)
        brought.applied += [
            (f.product_id, f.quantity + since.get(f.product_id, ZERO), f.as_of) for f in newer
        ]
    return brought


def _moved_since(session: Session, figures: Sequence[StockFigure]) -> dict[int, Decimal]:
    """Per product, the sum of its movements after its figure's date (one query per distinct date)."""
    moved: dict[int, Decimal] = {}
    by_date: dict[datetime, list[int]] = {}
    for figure in figures:
        by_date.setdefault(figure.as_of, []).append(figure.product_id)
    for as_of, ids in by_date.items():
        query = (
            select(_movement.c.product_id, func.sum(_movement.c.quantity))
            .where(_movement.c.product_id.in_(ids), _movement.c.moved_at > as_of)
            .group_by(_movement.c.product_id)
        )
        moved.update({pid: total for pid, total in session.execute(query)})
    return moved
