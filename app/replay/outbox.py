"""Filling the outbox: every replayable document gets its item when a run starts.

Capture writes nothing here (the order capture path stays as fast as it is; the documents themselves
are durable). `sync_outbox` is idempotent: one `INSERT ... SELECT ... WHERE NOT EXISTS` per kind,
then one for the kind's dependencies, so a run started twice, or after a crash, adds only what is
missing. Kinds are filled in dependency order (orders, invoices, credit notes): an invoice enters
only once its order is in, a credit note once its invoice is.

Not replayed, and listed by the reconciliation report instead: cancelled orders, orders waiting for
review (until resolved) and void documents. A credit note for goods Carnet never delivered corrects
the ERP invoice its return names; without one it enters the outbox `held`, and waits there until a
person keys it into the ERP or cancels it. Items for documents cancelled or voided before their first
send are removed again.

With `monthly_recap` grouping, deferred invoices join the recap of their customer, month and
incident while it has not been sent yet; once a recap was frozen for sending, later invoices of that
month start another one (`recap:<customer>:<month>:2`).
"""

import typing
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.db import UtcDateTime
from app.delivery.models import DeliveryNoteLine
from app.incidents.repository import incident_of
from app.invoicing.models import DeferredDocument, DeferredDocumentLine, DocumentKind, DocumentStatus
from app.orders.models import OrderStatus, SaleOrder
from app.replay.models import ItemStatus, ReplayDependency, ReplayItem, ReplayRecapMember

# Declarative `__table__` is typed as any FromClause; these models are declared with a Table.
ITEM = typing.cast(Table, ReplayItem.__table__)
DEPENDENCY = typing.cast(Table, ReplayDependency.__table__)
MEMBER = typing.cast(Table, ReplayRecapMember.__table__)
ORDER_KIND, INVOICE_KIND, CREDIT_NOTE_KIND = "order", "invoice", "credit_note"
KINDS = (ORDER_KIND, INVOICE_KIND, CREDIT_NOTE_KIND)
HELD_ORDER_STATUSES = (OrderStatus.CANCELLED, OrderStatus.NEEDS_REVIEW)
_ITEM_COLUMNS = (
    "kind",
    "idempotency_key",
    "reference",
    "order_id",
    "document_id",
    "customer_id",
    "incident_id",
    "issued_at",
    "status",
    "attempts",
    "created_at",
)


@dataclass
class SyncResult:
    added: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    removed: int = 0


def sync_outbox(session: Session, *, now: datetime, grouping: str) -> SyncResult:
    """Give every replayable document its outbox item; drop unsent items of cancelled or void ones."""
    session.flush()  # the statements below read the tables, not the session's pending changes
    result = SyncResult()
    result.removed = _remove_withdrawn(session)
    result.added[ORDER_KIND] = _add_orders(session, now)
    if grouping == "monthly_recap":
        result.added[INVOICE_KIND] = _add_recaps(session, now)
    else:
        result.added[INVOICE_KIND] = _add_invoices(session, now)
    result.added[CREDIT_NOTE_KIND] = _add_credit_notes(session, now)
    return result


def uuid_text(column: Any, dialect: str) -> ColumnElement[str]:
    """A UUID column as its canonical text (`8-4-4-4-12`): SQLite stores 32 hex digits."""
    if dialect != "sqlite":
        return cast(column, String)
    parts = [
        func.substr(column, start, length) for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    joined: ColumnElement[str] = parts[0]
    for part in parts[1:]:
        joined = joined + "-" + part
    return func.lower(joined)


def _pending(now: datetime) -> list[Any]:
    return [literal(ItemStatus.PENDING.value), literal(0), literal(now, UtcDateTime())]


def _add_orders(session: Session, now: datetime) -> int:
    order = SaleOrder.__table__
    rows = select(
        literal(ORDER_KIND),
        literal("order:") + order.c.number,
        order.c.number,
        order.c.id,
        literal(None),
        order.c.customer_id,
        incident_of(order.c.created_at),
        order.c.created_at,
        *_pending(now),
    ).where(
        order.c.status.not_in([s.value for s in HELD_ORDER_STATUSES]),
        ~exists().where(ITEM.c.order_id == order.c.id),
    )
    return _insert(session, rows)


def _add_invoices(session: Session, now: datetime) -> int:
    document = DeferredDocument.__table__
    rows = select(
        literal(INVOICE_KIND),
        uuid_text(document.c.idempotency_key, _dialect(session)),
        document.c.reference,
        literal(None),
        document.c.id,
        document.c.customer_id,
        incident_of(document.c.issued_at),
        document.c.issued_at,
        *_pending(now),
    ).where(
        document.c.kind == DocumentKind.INVOICE,
        document.c.status != DocumentStatus.VOID,
        ~exists().where(ITEM.c.document_id == document.c.id),
        ~exists().where(MEMBER.c.document_id == document.c.id),
        exists().where(ITEM.c.order_id == document.c.order_id),
    )
    added = _insert(session, rows)
    needed = ITEM.alias("needed")
    dependencies = (
        select(ITEM.c.id, needed.c.id)
        .join(document, document.c.id == ITEM.c.document_id)
        .join(needed, needed.c.order_id == document.c.order_id)
        .where(ITEM.c.kind == INVOICE_KIND, ~exists().where(DEPENDENCY.c.item_id == ITEM.c.id))
    )
    session.execute(insert(DEPENDENCY).from_select(["item_id", "needs_id"], dependencies))
    return added


def _add_credit_notes(session: Session, now: datetime) -> int:
    """Credit notes enter once every Carnet invoice they correct is in the outbox (they depend on the
    items that carry those invoices, single or recap). One for goods Carnet did not deliver, without
    the ERP invoice it corrects, enters `held`: only a person can put it into the ERP."""
    document = DeferredDocument.__table__
    corrected = document.alias("corrected")
    line = DeferredDocumentLine.__table__
    delivered = DeliveryNoteLine.__table__

    def corrected_invoices(*columns: Any) -> Any:
        """The invoices of the delivery notes a credit note's lines went back against."""
        return (
            select(*columns)
            .select_from(line)
            .join(delivered, delivered.c.id == line.c.delivery_note_line_id)
            .join(
                corrected,
                and_(
                    corrected.c.delivery_note_id == delivered.c.delivery_note_id,
                    corrected.c.kind == DocumentKind.INVOICE,
                ),
            )
        )

    covering = ITEM.alias("covering")
    single = select(covering.c.id).where(covering.c.document_id == corrected.c.id).scalar_subquery()
    recap = select(MEMBER.c.item_id).where(MEMBER.c.document_id == corrected.c.id).scalar_subquery()
    covering_item = func.coalesce(single, recap)
    uncovered = exists(
        corrected_invoices(corrected.c.id).where(line.c.document_id == document.c.id, covering_item.is_(None))
    )
    undelivered = exists().where(line.c.document_id == document.c.id, line.c.delivery_note_line_id.is_(None))
    status = case(
        (and_(undelivered, document.c.corrected_erp_invoice.is_(None)), literal(ItemStatus.HELD.value)),
        else_=literal(ItemStatus.PENDING.value),
    )
    rows = select(
        literal(CREDIT_NOTE_KIND),
        uuid_text(document.c.idempotency_key, _dialect(session)),
        document.c.reference,
        literal(None),
        document.c.id,
        document.c.customer_id,
        incident_of(document.c.issued_at),
        document.c.issued_at,
        status,
        literal(0),
        literal(now, UtcDateTime()),
    ).where(
        document.c.kind == DocumentKind.CREDIT_NOTE,
        document.c.status != DocumentStatus.VOID,
        ~exists().where(ITEM.c.document_id == document.c.id),
        ~uncovered,
    )
    added = _insert(session, rows)
    dependencies = (
        corrected_invoices(ITEM.c.id, covering_item)
        .distinct()
        .join(ITEM, ITEM.c.document_id == line.c.document_id)
        .where(ITEM.c.kind == CREDIT_NOTE_KIND, ~exists().where(DEPENDENCY.c.item_id == ITEM.c.id))
    )
    session.execute(insert(DEPENDENCY).from_select(["item_id", "needs_id"], dependencies))
    return added


def _add_recaps(session: Session, now: datetime) -> int:
    """Group the deferred invoices not yet in the outbox by customer, month and incident."""
    document = DeferredDocument.__table__
    incident = incident_of(document.c.issued_at).label("incident_id")
    rows = session.execute(
        select(document.c.id, document.c.customer_id, document.c.issue_date, document.c.issued_at, incident)
        .where(
            document.c.kind == DocumentKind.INVOICE,
            document.c.status != DocumentStatus.VOID,
            ~exists().where(ITEM.c.document_id == document.c.id),
            ~exists().where(MEMBER.c.document_id == document.c.id),
            exists().where(ITEM.c.order_id == document.c.order_id),
        )
        .order_by(document.c.issued_at, document.c.id)
    ).all()
    groups: dict[tuple[int, str, int | None], list[Any]] = defaultdict(list)
    for row in rows:
        groups[(row.customer_id, f"{row.issue_date:%Y-%m}", row.incident_id)].append(row)
    created = 0
    for (customer_id, period, incident_id), members in groups.items():
        latest = max(member.issued_at for member in members)
        item_id = _open_recap(session, customer_id, period, incident_id)
        if item_id is None:
            item_id = _new_recap(session, customer_id, period, incident_id, latest, now)
            created += 1
        else:
            session.execute(
                update(ITEM).where(ITEM.c.id == item_id, ITEM.c.issued_at < latest).values(issued_at=latest)
            )
        session.execute(insert(MEMBER), [{"item_id": item_id, "document_id": m.id} for m in members])
    needed = ITEM.alias("needed")
    dependencies = (
        select(MEMBER.c.item_id, needed.c.id)
        .distinct()
        .join(document, document.c.id == MEMBER.c.document_id)
        .join(needed, needed.c.order_id == document.c.order_id)
        .where(
            ~exists().where(
                and_(DEPENDENCY.c.item_id == MEMBER.c.item_id, DEPENDENCY.c.needs_id == needed.c.id)
            )
        )
    )
    session.execute(insert(DEPENDENCY).from_select(["item_id", "needs_id"], dependencies))
    return created


def _open_recap(session: Session, customer_id: int, period: str, incident_id: int | None) -> int | None:
    """The customer's recap of that month and incident that may still take invoices (never sent)."""
    same_incident = ITEM.c.incident_id.is_(None) if incident_id is None else ITEM.c.incident_id == incident_id
    return session.execute(
        select(ITEM.c.id)
        .where(
            ITEM.c.kind == INVOICE_KIND,
            ITEM.c.customer_id == customer_id,
            ITEM.c.period == period,
            same_incident,
            ITEM.c.payload.is_(None),
            ITEM.c.status == ItemStatus.PENDING,
        )
        .order_by(ITEM.c.id.desc())
        .limit(1)
    ).scalar()


def _new_recap(
    session: Session,
    customer_id: int,
    period: str,
    incident_id: int | None,
    issued_at: datetime,
    now: datetime,
) -> int:
    code = session.execute(select(Customer.code).where(Customer.id == customer_id)).scalar_one()
    taken = set(
        session.execute(
            select(ITEM.c.idempotency_key).where(
                ITEM.c.kind == INVOICE_KIND, ITEM.c.customer_id == customer_id, ITEM.c.period == period
            )
        ).scalars()
    )
    # Counting is not enough: a withdrawn recap leaves a hole below recaps of other incidents.
    sequence = len(taken) + 1
    while f"recap:{code}:{period}:{sequence}" in taken:
        sequence += 1
    suffix = f"-{sequence}" if sequence > 1 else ""
    item_id: int = session.execute(
        insert(ITEM)
        .values(
            kind=INVOICE_KIND,
            idempotency_key=f"recap:{code}:{period}:{sequence}",
            reference=f"REC-{period}-{code}{suffix}",
            customer_id=customer_id,
            incident_id=incident_id,
            issued_at=issued_at,
            period=period,
            status=ItemStatus.PENDING,
            attempts=0,
            created_at=now,
        )
        .returning(ITEM.c.id)
    ).scalar_one()
    return item_id


def _remove_withdrawn(session: Session) -> int:
    """Unsent items whose document was cancelled or voided since it entered the outbox."""
    unsent = and_(ITEM.c.payload.is_(None), ITEM.c.status.in_([ItemStatus.PENDING, ItemStatus.HELD]))
    cancelled = select(SaleOrder.id).where(SaleOrder.status == OrderStatus.CANCELLED)
    void = select(DeferredDocument.id).where(DeferredDocument.status == DocumentStatus.VOID)
    # Session.execute is typed as returning a Result; for a DELETE it is a CursorResult (rowcount).
    removed = typing.cast(
        CursorResult[Any],
        session.execute(
            delete(ITEM).where(unsent, ITEM.c.order_id.in_(cancelled) | ITEM.c.document_id.in_(void))
        ),
    ).rowcount
    unsent_ids = select(ITEM.c.id).where(unsent)
    session.execute(delete(MEMBER).where(MEMBER.c.document_id.in_(void), MEMBER.c.item_id.in_(unsent_ids)))
    empty_recaps = typing.cast(
        CursorResult[Any],
        session.execute(
            delete(ITEM).where(
                unsent,
                ITEM.c.period.is_not(None),
                ~exists().where(MEMBER.c.item_id == ITEM.c.id),
            )
        ),
    ).rowcount
    return int(removed or 0) + int(empty_recaps or 0)


def _insert(session: Session, rows: Any) -> int:
    inserted = session.execute(insert(ITEM).from_select(list(_ITEM_COLUMNS), rows).returning(ITEM.c.id))
    return len(inserted.all())


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
