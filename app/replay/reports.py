"""The reconciliation report: what Carnet captured against what the ERP acknowledged.

Scope: the documents captured in one incident's window (or everything, without an incident). Per kind
and per customer: counts and totals (net, VAT by rate, gross) captured, acknowledged, and their
difference. Captured figures come from Carnet's rows, acknowledged ones from the bodies the ERP
acknowledged, so a document altered or lost on the way shows as a difference. Every document not
acknowledged is listed with its reason; documents that are not replayed on purpose (cancelled orders,
void documents, credit notes with no Carnet invoice to correct) are listed apart. Finally every
acknowledged item must carry the ERP's reference, and no reference may be given twice.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, func, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.config import Settings
from app.incidents.models import Incident
from app.incidents.repository import in_window
from app.incidents.service import incident_read
from app.invoicing.models import DeferredDocument, DocumentKind, DocumentStatus
from app.orders.models import OrderStatus, SaleOrder
from app.replay import repository
from app.replay.models import ItemStatus, ReplayItem, ReplayRecapMember
from app.replay.schemas import (
    CustomerFigures,
    ErpCheck,
    ExcludedDocument,
    KindFigures,
    OpenDocument,
    ReconciliationReport,
)
from app.replay.values import Tally, Value, captured_values, document_values, order_values, payload_value

KIND_ORDER = {"order": 0, "invoice": 1, "credit_note": 2}


def reconciliation(
    session: Session,
    *,
    incident: Incident | None,
    settings: Settings,
    now: datetime,
    run_id: int | None = None,
) -> ReconciliationReport:
    items = _items(session, incident)
    captured = captured_values(session, items)
    sums: dict[tuple[str, int | None], dict[str, Tally]] = defaultdict(lambda: {"c": Tally(), "a": Tally()})
    outstanding: list[tuple[int, OpenDocument]] = []

    def count(kind: str, customer_id: int, side: str, value: Value) -> None:
        sums[(kind, None)][side].add(value)
        sums[(kind, customer_id)][side].add(value)

    waiting = repository.dependencies_of(session, [i.id for i in items if i.status == ItemStatus.PENDING])
    for item in items:
        if item.id in captured:
            count(item.kind, item.customer_id, "c", captured[item.id])
        if item.status == ItemStatus.ACKNOWLEDGED and item.payload is not None:
            count(item.kind, item.customer_id, "a", payload_value(item.payload))
        elif item.status != ItemStatus.ACKNOWLEDGED:
            outstanding.append((item.customer_id, _open_item(item, waiting.get(item.id, []))))

    missing, held, excluded = _documents_outside_outbox(session, incident)
    for kind, customer_id, reference, value in missing:
        count(kind, customer_id, "c", value)
        reason = "not in the outbox yet: it enters when a replay run starts"
        outstanding.append(
            (customer_id, OpenDocument(kind=kind, reference=reference, status="not_in_outbox", reason=reason))
        )
    for kind, customer_id, reference, status, reason in held:
        outstanding.append(
            (customer_id, OpenDocument(kind=kind, reference=reference, status=status, reason=reason))
        )

    customer_ids = {cid for _, cid in sums if cid is not None} | {cid for cid, _ in outstanding}
    names = _customer_names(session, customer_ids | {cid for _, cid, _, _ in excluded})
    for customer_id, document in outstanding:
        document.customer_code = names[customer_id][0]
    per_customer = [
        CustomerFigures(
            **_kind_figures(kind, tallies).model_dump(),
            customer_code=names[cid][0],
            customer_name=names[cid][1],
        )
        for (kind, cid), tallies in sums.items()
        if cid is not None
    ]
    per_customer.sort(key=lambda f: (f.customer_code, KIND_ORDER[f.kind]))
    check = _erp_check(items)
    no_difference = all(sums[(kind, None)]["c"].minus(sums[(kind, None)]["a"]).is_zero for kind in KIND_ORDER)
    return ReconciliationReport(
        generated_at=now,
        incident=incident_read(incident) if incident is not None else None,
        run_id=run_id,
        invoice_numbering=settings.invoice_numbering,
        invoice_grouping=settings.invoice_grouping,
        balanced=no_difference
        and not outstanding
        and not check.missing_erp_reference
        and not check.duplicate_erp_references,
        kinds=[_kind_figures(kind, sums[(kind, None)]) for kind in KIND_ORDER],
        customers=per_customer,
        outstanding=sorted(
            (d for _, d in outstanding), key=lambda d: (KIND_ORDER.get(d.kind, 9), d.reference)
        ),
        excluded=[
            ExcludedDocument(kind=kind, reference=reference, customer_code=names[cid][0], reason=reason)
            for kind, cid, reference, reason in excluded
        ],
        erp_check=check,
    )


def incident_settled(session: Session, incident: Incident) -> bool:
    """Everything captured in the incident's window is in the ERP: no item open or given up, no order
    waiting for review, no replayable document still outside the outbox."""
    open_items = session.execute(
        select(func.count()).where(
            ReplayItem.incident_id == incident.id, ReplayItem.status != ItemStatus.ACKNOWLEDGED
        )
    ).scalar_one()
    if open_items:
        return False
    missing, held, _ = _documents_outside_outbox(session, incident)
    return not missing and not held


def dry_run_plan(session: Session, *, until: datetime | None, kinds: Sequence[str]) -> dict[str, Any]:
    """What a run would send now: the open items of its scope and kinds, with their totals."""
    rows = session.execute(
        select(
            ReplayItem.id,
            ReplayItem.kind,
            ReplayItem.status,
            ReplayItem.order_id,
            ReplayItem.document_id,
            ReplayItem.period,
        ).where(
            ReplayItem.kind.in_(kinds),
            repository.in_scope(until),
            ReplayItem.status.in_([ItemStatus.PENDING, ItemStatus.IN_FLIGHT]),
        )
    ).all()
    values = captured_values(session, rows)
    tallies: dict[str, Tally] = {kind: Tally() for kind in KIND_ORDER if kind in kinds}
    for row in rows:
        if row.id in values:
            tallies[row.kind].add(values[row.id])
    given_up = session.execute(
        select(ReplayItem.kind, func.count())
        .where(
            ReplayItem.kind.in_(kinds),
            repository.in_scope(until),
            ReplayItem.status.in_([ItemStatus.FAILED, ItemStatus.DEAD]),
        )
        .group_by(ReplayItem.kind)
    ).all()
    return {
        "would_send": {kind: tally.figures().model_dump(mode="json") for kind, tally in tallies.items()},
        "would_send_count": sum(tally.count for tally in tallies.values()),
        "needing_a_human": {kind: number for kind, number in given_up},
    }


def _items(session: Session, incident: Incident | None) -> Sequence[Row[*tuple[Any, ...]]]:
    query = select(
        ReplayItem.id,
        ReplayItem.kind,
        ReplayItem.reference,
        ReplayItem.customer_id,
        ReplayItem.order_id,
        ReplayItem.document_id,
        ReplayItem.period,
        ReplayItem.status,
        ReplayItem.attempts,
        ReplayItem.last_error,
        ReplayItem.erp_reference,
        ReplayItem.payload,
    ).order_by(ReplayItem.id)
    if incident is not None:
        query = query.where(ReplayItem.incident_id == incident.id)
    return session.execute(query).all()


def _open_item(item: Row[*tuple[Any, ...]], needs: list[Row[*tuple[Any, ...]]]) -> OpenDocument:
    blocking = [need for need in needs if need.status != ItemStatus.ACKNOWLEDGED]
    if item.status in (ItemStatus.FAILED, ItemStatus.DEAD):
        reason = item.last_error or item.status
    elif blocking:
        reason = "waiting for " + ", ".join(f"{need.reference} ({need.status})" for need in blocking)
    else:
        reason = item.last_error or "not sent yet"
    return OpenDocument(
        kind=item.kind,
        reference=item.reference,
        status=item.status,
        attempts=item.attempts,
        reason=reason,
    )


def _documents_outside_outbox(
    session: Session, incident: Incident | None
) -> tuple[
    list[tuple[str, int, str, Value]],
    list[tuple[str, int, str, str, str]],
    list[tuple[str, int, str, str]],
]:
    """Documents of the window without an item: replayable ones not synced yet (with their value),
    held ones (orders waiting for review), and those excluded from replay on purpose."""
    order = SaleOrder
    document = DeferredDocument
    order_window = (
        in_window(incident, order.created_at.expression) if incident is not None else order.id.is_not(None)
    )
    document_window = (
        in_window(incident, document.issued_at.expression)
        if incident is not None
        else document.id.is_not(None)
    )
    no_order_item = ~exists().where(ReplayItem.order_id == order.id)
    no_document_item = ~exists().where(ReplayItem.document_id == document.id) & ~exists().where(
        ReplayRecapMember.document_id == document.id
    )

    orders = session.execute(
        select(order.id, order.customer_id, order.number, order.status).where(order_window, no_order_item)
    ).all()
    documents = session.execute(
        select(
            document.id,
            document.kind,
            document.customer_id,
            document.reference,
            document.status,
            document.invoice_id,
        ).where(document_window, no_document_item)
    ).all()
    missing_orders = [o for o in orders if o.status not in (OrderStatus.CANCELLED, OrderStatus.NEEDS_REVIEW)]
    replayable = [
        d
        for d in documents
        if d.status != DocumentStatus.VOID and (d.kind == DocumentKind.INVOICE or d.invoice_id is not None)
    ]
    order_vals = order_values(session, [o.id for o in missing_orders])
    document_vals = document_values(session, [d.id for d in replayable])
    missing = [("order", o.customer_id, o.number, order_vals[o.id]) for o in missing_orders] + [
        (d.kind, d.customer_id, d.reference, document_vals[d.id]) for d in replayable
    ]
    held = [
        ("order", o.customer_id, o.number, "held", "waiting for review: replayed once a rep resolves it")
        for o in orders
        if o.status == OrderStatus.NEEDS_REVIEW
    ]
    excluded = [
        ("order", o.customer_id, o.number, "cancelled") for o in orders if o.status == OrderStatus.CANCELLED
    ]
    for d in documents:
        if d.status == DocumentStatus.VOID:
            excluded.append((d.kind, d.customer_id, d.reference, "void"))
        elif d.kind == DocumentKind.CREDIT_NOTE and d.invoice_id is None:
            excluded.append(
                (
                    d.kind,
                    d.customer_id,
                    d.reference,
                    "goods Carnet did not deliver: no Carnet invoice to correct, enter it in the ERP "
                    "against the ERP's own invoice",
                )
            )
    excluded += _cancelled_after_replay(session, incident)
    return missing, held, excluded


def _cancelled_after_replay(session: Session, incident: Incident | None) -> list[tuple[str, int, str, str]]:
    query = (
        select(SaleOrder.customer_id, SaleOrder.number, ReplayItem.erp_reference)
        .join(ReplayItem, ReplayItem.order_id == SaleOrder.id)
        .where(SaleOrder.status == OrderStatus.CANCELLED)
    )
    if incident is not None:
        query = query.where(ReplayItem.incident_id == incident.id)
    return [
        (
            "order",
            customer_id,
            number,
            f"cancelled after it was sent to the ERP ({erp or 'no answer yet'}): cancel it there",
        )
        for customer_id, number, erp in session.execute(query)
    ]


def _customer_names(session: Session, customer_ids: set[int]) -> dict[int, tuple[str, str]]:
    ids = sorted(customer_ids)
    names = {}
    for start in range(0, len(ids), 2_000):
        query = select(Customer.id, Customer.code, Customer.name).where(
            Customer.id.in_(ids[start : start + 2_000])
        )
        names.update({cid: (code, name) for cid, code, name in session.execute(query)})
    return names


def _kind_figures(kind: str, tallies: dict[str, Tally]) -> KindFigures:
    captured, acknowledged = tallies["c"], tallies["a"]
    return KindFigures(
        kind=kind,
        captured=captured.figures(),
        acknowledged=acknowledged.figures(),
        difference=captured.minus(acknowledged).figures(),
    )


def _erp_check(items: Sequence[Row[*tuple[Any, ...]]]) -> ErpCheck:
    acknowledged = [item for item in items if item.status == ItemStatus.ACKNOWLEDGED]
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for item in acknowledged:
        if item.erp_reference:
            seen[(item.kind, item.erp_reference)] += 1
    return ErpCheck(
        acknowledged=len(acknowledged),
        with_erp_reference=sum(1 for item in acknowledged if item.erp_reference),
        missing_erp_reference=[item.reference for item in acknowledged if not item.erp_reference],
        duplicate_erp_references=sorted(
            f"{kind} {reference}" for (kind, reference), n in seen.items() if n > 1
        ),
    )
