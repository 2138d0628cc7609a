"""Queries on deferred invoices and credit notes."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql import Select

from app.catalog.models import Customer
from app.delivery.models import DeliveryNote, DeliveryNoteStatus, GoodsReturn, GoodsReturnLine
from app.invoicing.models import DeferredDocument, DocumentKind, DocumentStatus


@dataclass(frozen=True)
class Uninvoiced:
    """Delivery notes whose invoice is not in the ERP yet: how many, since when, for how much."""

    count: int
    oldest: date | None
    gross: Decimal


def uninvoiced_deliveries(session: Session, *, issued_from: date | None = None) -> Uninvoiced:
    """Issued delivery notes (from `issued_from` on, when given) whose deferred invoice is neither
    replayed nor void."""
    query = (
        select(func.count(), func.min(DeliveryNote.issue_date), func.sum(DeferredDocument.gross_total))
        .select_from(DeliveryNote)
        .join(DeferredDocument, DeferredDocument.delivery_note_id == DeliveryNote.id)
        .where(
            DeliveryNote.status == DeliveryNoteStatus.ISSUED,
            DeferredDocument.kind == DocumentKind.INVOICE,
            DeferredDocument.status.not_in([DocumentStatus.REPLAYED, DocumentStatus.VOID]),
        )
    )
    if issued_from is not None:
        query = query.where(DeliveryNote.issue_date >= issued_from)
    count, oldest, gross = session.execute(query).one()
    return Uninvoiced(int(count), oldest, gross or Decimal(0))


def _documents() -> Select[DeferredDocument]:
    return select(DeferredDocument).options(
        selectinload(DeferredDocument.lines),
        selectinload(DeferredDocument.customer),
        selectinload(DeferredDocument.order),
        selectinload(DeferredDocument.delivery_note),
        selectinload(DeferredDocument.goods_return),
        selectinload(DeferredDocument.invoice),
    )


def get_document(
    session: Session, *, id: int | None = None, reference: str | None = None
) -> DeferredDocument | None:
    query = _documents()
    query = query.where(DeferredDocument.id == id) if id is not None else query
    query = query.where(DeferredDocument.reference == reference) if reference is not None else query
    return session.execute(query).scalar_one_or_none()


def invoice_of_note(session: Session, note_id: int, *, lock: bool = False) -> DeferredDocument | None:
    query = select(DeferredDocument).where(
        DeferredDocument.delivery_note_id == note_id, DeferredDocument.kind == DocumentKind.INVOICE
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def _filters(
    *,
    kind: str | None,
    status: str | None,
    customer_code: str | None,
    customer_ids: frozenset[int] | None,
) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if kind:
        clauses.append(DeferredDocument.kind == kind)
    if status:
        clauses.append(DeferredDocument.status == status)
    if customer_code:
        clauses.append(
            # As typed: a code keyed in lower case finds its customer, as at order entry.
            DeferredDocument.customer_id.in_(
                select(Customer.id).where(func.upper(Customer.code) == customer_code.upper())
            )
        )
    if customer_ids is not None:
        clauses.append(DeferredDocument.customer_id.in_(customer_ids))
    return clauses


def list_documents(
    session: Session,
    *,
    kind: str | None,
    status: str | None,
    customer_code: str | None,
    before_id: int | None,
    limit: int,
    customer_ids: frozenset[int] | None,
) -> Sequence[DeferredDocument]:
    clauses = _filters(kind=kind, status=status, customer_code=customer_code, customer_ids=customer_ids)
    if before_id is not None:
        clauses.append(DeferredDocument.id < before_id)
    query = _documents().where(*clauses).order_by(DeferredDocument.id.desc()).limit(limit)
    return session.execute(query).scalars().all()


def totals_by_kind(
    session: Session,
    *,
    kind: str | None,
    status: str | None,
    customer_code: str | None,
    customer_ids: frozenset[int] | None,
) -> list[tuple[str, int, Decimal, Decimal, Decimal]]:
    """Count and sums of every matching document, per kind, computed by the database."""
    clauses = _filters(kind=kind, status=status, customer_code=customer_code, customer_ids=customer_ids)
    query = (
        select(
            DeferredDocument.kind,
            func.count(),
            func.sum(DeferredDocument.net_total),
            func.sum(DeferredDocument.vat_total),
            func.sum(DeferredDocument.gross_total),
        )
        .where(*clauses)
        .group_by(DeferredDocument.kind)
        .order_by(DeferredDocument.kind.desc())
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def credit_note_of_return(session: Session, return_id: int, *, lock: bool = False) -> DeferredDocument | None:
    which = DeferredDocument.goods_return_id == return_id
    if lock:
        # Locked first, loaded after: an eager load under populate_existing would also reset the
        # return's own loaded lines.
        session.execute(select(DeferredDocument.id).where(which).with_for_update())
    return session.execute(_documents().where(which)).scalar_one_or_none()


def returned_quantities(
    session: Session, *, delivery_note_line_ids: set[int], excluding_return_id: int
) -> dict[int, Decimal]:
    """What earlier returns brought back against each of these delivered lines."""
    if not delivery_note_line_ids:
        return {}
    rows = session.execute(
        select(GoodsReturnLine.delivery_note_line_id, GoodsReturnLine.quantity).where(
            GoodsReturnLine.delivery_note_line_id.in_(delivery_note_line_ids),
            GoodsReturnLine.return_id != excluding_return_id,
            GoodsReturnLine.return_id.in_(select(GoodsReturn.id).where(GoodsReturn.cancelled_at.is_(None))),
        )
    )
    returned: dict[int, Decimal] = {}
    for line_id, quantity in rows:
        if line_id is not None:  # always: the query reads only these delivered lines
            returned[line_id] = returned.get(line_id, Decimal(0)) + quantity
    return returned
