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
from app.invoicing.models import DeferredDocument, DocumentStatus
from app.orders.models import OrderStatus, SaleOrder
from app.replay import repository
from app.replay.checks import buyers_without_siren
from app.replay.models import SETTLED, ItemScope, ItemStatus, ReplayItem, ReplayRecapMember
from app.replay.schemas import (
    Amounts,
    CustomerFigures,
    ErpCheck,
    ExcludedDocument,
    KeyedDocument,
    KindFigures,
    OpenDocument,
    ReconciliationReport,
    WaitingFigures,
)
from app.replay.values import Tally, Value, captured_values, document_values, order_values, payload_value
from app.replay.wording import Reason, ReportLang, status_label

KIND_ORDER = {"order": 0, "invoice": 1, "credit_note": 2}
WAITING_ALL = None  # the key of a kind's own waiting figures, beside its customers'


def reconciliation(
    session: Session,
    *,
    incident: Incident | None,
    settings: Settings,
    now: datetime,
    run_id: int | None = None,
    dry_run: bool = False,
    lang: ReportLang = "fr",
) -> ReconciliationReport:
    items = _items(session, incident)
    captured = captured_values(session, items)
    sums: dict[tuple[str, int | None], dict[str, Tally]] = defaultdict(lambda: {"c": Tally(), "a": Tally()})
    waiting: dict[tuple[str, int | None], Tally] = defaultdict(Tally)
    outstanding: list[tuple[int, OpenDocument]] = []
    excluded: list[tuple[str, int, str, Value | None, Reason]] = []
    keyed: list[Any] = []

    def count(kind: str, customer_id: int, side: str, value: Value) -> None:
        sums[(kind, None)][side].add(value)
        sums[(kind, customer_id)][side].add(value)

    def wait(kind: str, customer_id: int, value: Value | None) -> Amounts | None:
        if value is None:
            return None
        waiting[(kind, WAITING_ALL)].add(value)
        waiting[(kind, customer_id)].add(value)
        return _amounts(value)

    waiting_on = repository.dependencies_of(session, [i.id for i in items if i.status == ItemStatus.PENDING])
    for item in items:
        value = captured.get(item.id)
        if item.status == ItemStatus.CANCELLED:
            reason = Reason(
                "cancelled_by_person", {"who": item.resolved_by or "?", "why": item.resolution_note or ""}
            )
            excluded.append((item.kind, item.customer_id, item.reference, value, reason))
            continue
        if value is not None:
            count(item.kind, item.customer_id, "c", value)
        if item.status == ItemStatus.ACKNOWLEDGED:
            # Keyed by hand, never sent: the ERP holds what Carnet captured, a person says so.
            held = payload_value(item.payload) if item.payload is not None else value
            if held is not None:
                count(item.kind, item.customer_id, "a", held)
            if item.resolved_by is not None:
                keyed.append(item)
            continue
        document = _open_item(item, waiting_on.get(item.id, []), lang)
        document.amounts = wait(item.kind, item.customer_id, value)
        outstanding.append((item.customer_id, document))

    missing, held_orders, left_out = _documents_outside_outbox(session, incident)
    for kind, customer_id, reference, value in missing:
        count(kind, customer_id, "c", value)
        amounts = wait(kind, customer_id, value)
        outstanding.append(
            (customer_id, _open(kind, reference, "not_in_outbox", Reason("not_in_outbox"), lang, amounts))
        )
    for customer_id, reference, value in held_orders:
        # Held for review is captured all the same: the totals and what waits count it alike.
        count("order", customer_id, "c", value)
        amounts = wait("order", customer_id, value)
        outstanding.append(
            (
                customer_id,
                _open("order", reference, "held_for_review", Reason("held_for_review"), lang, amounts),
            )
        )
    excluded += left_out

    customer_ids = (
        {cid for _, cid in sums if cid is not None}
        | {cid for cid, _ in outstanding}
        | {cid for _, cid, _, _, _ in excluded}
        | {item.customer_id for item in keyed}
    )
    names = _customer_names(session, customer_ids)
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
        lang=lang,
        timezone=settings.business_timezone,
        incident=incident_read(incident) if incident is not None else None,
        run_id=run_id,
        dry_run=dry_run,
        invoice_numbering=settings.invoice_numbering,
        invoice_grouping=settings.invoice_grouping,
        balanced=no_difference
        and not outstanding
        and not check.missing_erp_reference
        and not check.duplicate_erp_references,
        kinds=[_kind_figures(kind, sums[(kind, None)]) for kind in KIND_ORDER],
        customers=per_customer,
        waiting=_waiting(waiting, names),
        outstanding=sorted(
            (d for _, d in outstanding), key=lambda d: (KIND_ORDER.get(d.kind, 9), d.reference)
        ),
        excluded=[
            ExcludedDocument(
                kind=kind,
                reference=reference,
                customer_code=names[cid][0],
                amounts=_amounts(value) if value is not None else None,
                reason_code=reason.code,
                reason=reason.say(lang),
            )
            for kind, cid, reference, value, reason in excluded
        ],
        keyed_by_hand=[
            KeyedDocument(
                kind=item.kind,
                reference=item.reference,
                customer_code=names[item.customer_id][0],
                erp_reference=item.erp_reference,
                resolved_by=item.resolved_by,
                resolved_at=item.resolved_at,
                note=item.resolution_note,
                amounts=_amounts(captured[item.id]) if item.id in captured else None,
            )
            for item in keyed
        ],
        erp_check=check,
    )


def _amounts(value: Value) -> Amounts:
    return Amounts(net=value.net, vat=value.vat, gross=value.gross)


def _waiting(
    waiting: dict[tuple[str, int | None], Tally], names: dict[int, tuple[str, str]]
) -> list[WaitingFigures]:
    rows = [
        WaitingFigures(
            kind=kind,
            customer_code=names[cid][0] if cid is not None else None,
            customer_name=names[cid][1] if cid is not None else None,
            figures=tally.figures(),
        )
        for (kind, cid), tally in waiting.items()
    ]
    return sorted(
        rows, key=lambda w: (w.customer_code is not None, w.customer_code or "", KIND_ORDER[w.kind])
    )


def incident_settled(session: Session, incident: Incident) -> bool:
    """Everything captured in the incident's window is in the ERP: no item open or given up, no order
    waiting for review, no replayable document still outside the outbox."""
    open_items = session.execute(
        select(func.count()).where(ReplayItem.incident_id == incident.id, ReplayItem.status.not_in(SETTLED))
    ).scalar_one()
    if open_items:
        return False
    missing, held, _ = _documents_outside_outbox(session, incident)
    return not missing and not held


OPEN = (ItemStatus.PENDING, ItemStatus.IN_FLIGHT, ItemStatus.HELD, ItemStatus.FAILED, ItemStatus.DEAD)
SCOPE_LISTED = 100  # references listed per part of the scope; the figures cover them all


def dry_run_plan(
    session: Session, *, incident: Incident | None, until: datetime | None, kinds: Sequence[str]
) -> dict[str, Any]:
    """What a run would send now, and the scope finance confirms before the first real run: the
    incident's window; what the run sweeps in (captured in the window, captured before it and still
    not in the ERP, or included by finance); what falls outside (captured after the window, to be
    included or left to a later run, or excluded by finance). Each part per kind, with its totals
    and references. `warnings`: what would go out flawed (app/replay/checks.py)."""
    rows = session.execute(
        select(
            ReplayItem.id,
            ReplayItem.kind,
            ReplayItem.status,
            ReplayItem.order_id,
            ReplayItem.document_id,
            ReplayItem.period,
            ReplayItem.reference,
            ReplayItem.incident_id,
            ReplayItem.issued_at,
            ReplayItem.scope,
            ReplayItem.customer_id,
        )
        .where(ReplayItem.kind.in_(kinds), ReplayItem.status.in_(OPEN))
        .order_by(ReplayItem.issued_at, ReplayItem.id)
    ).all()
    values = captured_values(session, rows)
    parts: dict[str, dict[str, Tally]] = defaultdict(lambda: defaultdict(Tally))
    listed: dict[str, list[str]] = defaultdict(list)
    would_send: dict[str, Tally] = {kind: Tally() for kind in KIND_ORDER if kind in kinds}
    given_up: dict[str, int] = defaultdict(int)
    swept_in = []
    for row in rows:
        part = _scope_part(row, incident, until)
        if row.id in values:
            parts[part][row.kind].add(values[row.id])
        if len(listed[part]) < SCOPE_LISTED:
            listed[part].append(row.reference)
        if part in ("in_window", "before_window", "included"):
            swept_in.append(row)
            if row.status in (ItemStatus.PENDING, ItemStatus.IN_FLIGHT) and row.id in values:
                would_send[row.kind].add(values[row.id])
            elif row.status not in (ItemStatus.PENDING, ItemStatus.IN_FLIGHT):
                given_up[row.kind] += 1
    return {
        "window": None
        if incident is None
        else {
            "incident_id": incident.id,
            "started_at": incident.started_at.isoformat(),
            "ended_at": incident.ended_at.isoformat() if incident.ended_at else None,
        },
        "scope": {
            part: {
                "figures": {
                    kind: tally.figures().model_dump(mode="json") for kind, tally in parts[part].items()
                },
                "count": sum(tally.count for tally in parts[part].values()),
                "references": listed[part],
            }
            for part in ("in_window", "before_window", "included", "after_window", "excluded")
        },
        "would_send": {kind: tally.figures().model_dump(mode="json") for kind, tally in would_send.items()},
        "would_send_count": sum(tally.count for tally in would_send.values()),
        "needing_a_human": dict(given_up),
        "warnings": buyers_without_siren(session, swept_in),
    }


def _scope_part(row: Row[*tuple[Any, ...]], incident: Incident | None, until: datetime | None) -> str:
    """Where an open item stands in a run's scope (the rule of `repository.in_scope`, told apart)."""
    if row.scope == ItemScope.EXCLUDED:
        return "excluded"
    if until is not None and row.issued_at > until:
        return "included" if row.scope == ItemScope.INCLUDED else "after_window"
    if incident is not None and row.incident_id != incident.id:
        return "before_window"
    return "in_window"


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
        ReplayItem.resolved_by,
        ReplayItem.resolved_at,
        ReplayItem.resolution_note,
        ReplayItem.scope,
    ).order_by(ReplayItem.id)
    if incident is not None:
        query = query.where(ReplayItem.incident_id == incident.id)
    return session.execute(query).all()


def _open_item(
    item: Row[*tuple[Any, ...]], needs: list[Row[*tuple[Any, ...]]], lang: ReportLang
) -> OpenDocument:
    blocking = [need for need in needs if need.status != ItemStatus.ACKNOWLEDGED]
    error = item.last_error or ""
    if item.scope == ItemScope.EXCLUDED:
        reason = Reason("excluded_by_finance")
    elif item.status == ItemStatus.HELD:
        reason = Reason("no_invoice_to_correct")
    elif item.status == ItemStatus.FAILED:
        reason = Reason("refused", {"error": error})
    elif item.status == ItemStatus.DEAD:
        reason = Reason("gave_up", {"attempts": str(item.attempts), "error": _last_answer(error)})
    elif blocking:
        documents = ", ".join(f"{need.reference} ({status_label(need.status, lang)})" for need in blocking)
        reason = Reason("waiting_for", {"documents": documents})
    else:
        reason = Reason("retrying", {"error": error}) if error else Reason("not_sent_yet")
    document = _open(item.kind, item.reference, item.status, reason, lang, None)
    document.attempts, document.item_id = item.attempts, item.id
    return document


def _open(
    kind: str, reference: str, status: str, reason: Reason, lang: ReportLang, amounts: Amounts | None
) -> OpenDocument:
    return OpenDocument(
        kind=kind,
        reference=reference,
        status=status,
        amounts=amounts,
        reason_code=reason.code,
        reason=reason.say(lang),
    )


def _last_answer(error: str) -> str:
    """A dead item's error is `gave up after N attempts: <the ERP's last answer>`."""
    return error.split(": ", 1)[1] if error.startswith("gave up after ") and ": " in error else error


def _documents_outside_outbox(
    session: Session, incident: Incident | None
) -> tuple[
    list[tuple[str, int, str, Value]],
    list[tuple[int, str, Value]],
    list[tuple[str, int, str, Value | None, Reason]],
]:
    """Documents of the window without an item: replayable ones not synced yet, orders held for
    review, and those a person left out (orders cancelled, documents voided), each with its value."""
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
            document.void_reason,
        ).where(document_window, no_document_item)
    ).all()
    order_vals = order_values(session, [o.id for o in orders])
    document_vals = document_values(session, [d.id for d in documents])
    missing = [
        ("order", o.customer_id, o.number, order_vals[o.id])
        for o in orders
        if o.status not in (OrderStatus.CANCELLED, OrderStatus.NEEDS_REVIEW)
    ] + [
        (d.kind, d.customer_id, d.reference, document_vals[d.id])
        for d in documents
        if d.status != DocumentStatus.VOID
    ]
    held = [
        (o.customer_id, o.number, order_vals[o.id]) for o in orders if o.status == OrderStatus.NEEDS_REVIEW
    ]
    excluded: list[tuple[str, int, str, Value | None, Reason]] = [
        ("order", o.customer_id, o.number, order_vals[o.id], Reason("order_cancelled"))
        for o in orders
        if o.status == OrderStatus.CANCELLED
    ]
    for d in documents:
        if d.status == DocumentStatus.VOID:
            why = Reason("voided", {"why": d.void_reason}) if d.void_reason else Reason("delivery_note_void")
            excluded.append((d.kind, d.customer_id, d.reference, document_vals[d.id], why))
    excluded += _cancelled_after_replay(session, incident)
    return missing, held, excluded


def _cancelled_after_replay(
    session: Session, incident: Incident | None
) -> list[tuple[str, int, str, Value | None, Reason]]:
    query = (
        select(SaleOrder.id, SaleOrder.customer_id, SaleOrder.number, ReplayItem.erp_reference)
        .join(ReplayItem, ReplayItem.order_id == SaleOrder.id)
        .where(SaleOrder.status == OrderStatus.CANCELLED)
    )
    if incident is not None:
        query = query.where(ReplayItem.incident_id == incident.id)
    rows = session.execute(query).all()
    values = order_values(session, [row.id for row in rows])
    return [
        (
            "order",
            customer_id,
            number,
            values.get(order_id),
            Reason("cancelled_after_sent", {"erp": erp or "—"}),
        )
        for order_id, customer_id, number, erp in rows
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
