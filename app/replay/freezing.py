"""Freezing claimed items: the ERP document is built once, on an item's first claim, and kept.

Built from the rows (see building.py) and stored as the exact bytes to send, so that a re-send after
a timeout, a crash or a restart carries the same body, which the ERP needs to recognise it. This is
also when a deferred document stops being voidable (`in_replay`), and, with Carnet numbering, when
an invoice or credit note takes its final number from the outage series: in claim order, which is
the order of issue, so the series is chronological as well as gapless.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Row
from sqlalchemy.orm import Session

from app.config import Settings
from app.numbering import format_number, next_numbers, yearly_series
from app.orders.models import OrderStatus
from app.replay import building, repository
from app.replay.documents import CorrectedInvoice, DocumentKind, ErpDocument, ErpParty
from app.replay.sources import DocumentSource, OrderSource, load_documents, load_orders

CARNET_NUMBERING = "carnet"


@dataclass(frozen=True, slots=True)
class ClaimedItem:
    """An item ready to send: its frozen document and the deferred documents it stands for."""

    id: int
    kind: str
    document: ErpDocument
    attempts: int
    document_ids: tuple[int, ...] = ()
    final_number: str | None = None


def freeze_claimed(session: Session, rows: Sequence[Row[Any]], *, settings: Settings) -> list[ClaimedItem]:
    """The claimed rows as items to send, building and storing the documents of those sent first.
    Items whose document was cancelled or voided before its first send leave the outbox."""
    fresh = [row for row in rows if row.payload is None]
    built = _build(session, fresh, settings=settings) if fresh else {}
    members = repository.recap_members(session, [row.id for row in rows if row.period is not None])
    claimed = []
    for row in rows:
        if row.payload is None:
            if row.id in built:
                claimed.append(built[row.id])
            continue
        document = ErpDocument.from_json(row.payload)
        ids = (
            tuple(members.get(row.id, ())) if row.period else ((row.document_id,) if row.document_id else ())
        )
        claimed.append(ClaimedItem(row.id, row.kind, document, row.attempts, ids, row.final_number))
    return claimed


def _build(session: Session, rows: Sequence[Row[Any]], *, settings: Settings) -> dict[int, ClaimedItem]:
    members = repository.recap_members(session, [row.id for row in rows if row.period is not None])
    wanted = [row.document_id for row in rows if row.document_id] + [
        d for ids in members.values() for d in ids
    ]
    frozen = repository.freeze_documents(session, wanted)
    gone_members = [d for ids in members.values() for d in ids if d not in frozen]
    repository.remove_members(session, gone_members)
    members = {item: [d for d in ids if d in frozen] for item, ids in members.items()}
    sources = _load(session, rows, frozen)
    needs = repository.dependencies_of(
        session, [row.id for row in rows if row.kind == DocumentKind.CREDIT_NOTE]
    )
    numbers = _final_numbers(session, rows, sources, members, settings=settings)
    seller = building.seller_party(settings)

    built: dict[int, ClaimedItem] = {}
    removed: list[int] = []
    for row in rows:
        document_ids: tuple[int, ...] = ()
        # Carnet's own number goes on the document; the ERP's comes back with the acknowledgment.
        carnet_numbering = settings.invoice_numbering == CARNET_NUMBERING
        number = numbers.get(row.id, row.final_number) if carnet_numbering else None
        if row.kind == DocumentKind.ORDER:
            order = sources.orders.get(row.order_id)
            if order is None or order.order.status == OrderStatus.CANCELLED:
                removed.append(row.id)
                continue
            document = building.order_document(order, seller=seller, settings=settings)
        elif row.period is not None:
            if not members.get(row.id):
                removed.append(row.id)
                continue
            document_ids = tuple(members[row.id])
            document = building.recap_document(
                key=row.idempotency_key,
                reference=row.reference,
                members=[sources.documents[d] for d in document_ids],
                invoice_number=number,
                seller=seller,
                settings=settings,
            )
        else:
            source = sources.documents.get(row.document_id)
            if source is None:
                removed.append(row.id)
                continue
            document_ids = (source.id,)
            document = _single(source, row, number, needs.get(row.id, []), seller=seller, settings=settings)
        final = number if carnet_numbering else row.final_number
        built[row.id] = ClaimedItem(row.id, row.kind, document, row.attempts, document_ids, final)
    repository.remove_items(session, removed)
    repository.write_payloads(
        session,
        [
            {"b_id": item.id, "b_payload": item.document.to_json(), "b_number": item.final_number}
            for item in built.values()
        ],
        [
            {"b_id": document_id, "b_number": item.final_number}
            for item in built.values()
            if item.final_number is not None
            for document_id in item.document_ids
        ],
    )
    return built


def _single(
    source: DocumentSource,
    row: Row[Any],
    number: str | None,
    needs: list[Row[Any]],
    *,
    seller: ErpParty,
    settings: Settings,
) -> ErpDocument:
    if row.kind == DocumentKind.INVOICE:
        return building.invoice_document(source, invoice_number=number, seller=seller, settings=settings)
    corrected = [
        CorrectedInvoice(
            reference=invoice.reference,
            erp_number=invoice.erp_reference,
            invoice_number=invoice.final_number,
            issue_date=_issue_date(invoice.payload),
        )
        for invoice in sorted(needs, key=lambda need: need.id)
        if invoice.kind == DocumentKind.INVOICE
    ]
    erp_invoice = source.document.corrected_erp_invoice
    if erp_invoice:
        # Billed by the ERP before the outage: known there by this number only.
        corrected.append(CorrectedInvoice(reference=erp_invoice, erp_number=erp_invoice))
    return building.credit_note_document(
        source, corrected=tuple(corrected), credit_note_number=number, seller=seller, settings=settings
    )


def _issue_date(payload: bytes | None) -> date | None:
    return date.fromisoformat(orjson.loads(payload)["issue_date"]) if payload else None


@dataclass
class _Sources:
    orders: dict[int, OrderSource]
    documents: dict[int, DocumentSource]


def _load(session: Session, rows: Sequence[Row[Any]], document_ids: set[int]) -> _Sources:
    return _Sources(
        orders=load_orders(session, [row.order_id for row in rows if row.order_id]),
        documents=load_documents(session, document_ids),
    )


def _final_numbers(
    session: Session,
    rows: Sequence[Row[Any]],
    sources: _Sources,
    members: dict[int, list[int]],
    *,
    settings: Settings,
) -> dict[int, str]:
    """With Carnet numbering, the next numbers of the outage series, in claim order."""
    if settings.invoice_numbering != CARNET_NUMBERING:
        return {}
    wanted: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        if row.kind == DocumentKind.ORDER or row.final_number is not None:
            continue
        ids = members.get(row.id, []) if row.period is not None else [row.document_id]
        dates = [sources.documents[d].issue_date for d in ids if d in sources.documents]
        if not dates:
            continue
        prefix = (
            settings.outage_credit_note_prefix
            if row.kind == DocumentKind.CREDIT_NOTE
            else settings.outage_invoice_prefix
        )
        year = max(dates).year
        wanted[f"{prefix}|{year}"].append((row.id, year))
    numbers: dict[int, str] = {}
    for series_key, items in wanted.items():
        prefix = series_key.split("|", 1)[0]
        values = next_numbers(session, yearly_series(prefix, items[0][1]), len(items))
        for (item_id, year), value in zip(items, values, strict=True):
            numbers[item_id] = format_number(prefix, year, value)
    return numbers
