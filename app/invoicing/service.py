"""Deferred invoices and credit notes.

Every delivery note gets one deferred invoice, every return one deferred credit note, in the same
transaction as the goods movement (app/fulfilment issues them). Amounts come from app/pricing.py and
are frozen at issue: a deferred invoice copies its delivery note's priced lines (the order line's unit
price, discounts and VAT, applied to the shipped quantity); a credit note against delivered goods
reuses the delivery note line's prices, so the same goods are credited exactly as they were invoiced.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import Actor
from app.catalog.models import Customer, Product
from app.config import get_settings
from app.delivery.models import DeliveryNote, DeliveryNoteLine, GoodsReturn
from app.errors import InvalidInput, NotFound
from app.invoicing import repository
from app.invoicing.models import DeferredDocument, DeferredDocumentLine, DocumentKind, DocumentStatus
from app.invoicing.schemas import (
    DeferredDocumentLineRead,
    DeferredDocumentPage,
    DeferredDocumentRead,
    DocumentTotals,
    KindTotals,
)
from app.money import MAX_AMOUNT, ZERO
from app.numbering import business_moment, take_number
from app.orders.models import SaleOrder
from app.orders.schemas import totals_read
from app.pagination import next_cursor
from app.pricing import PricedLine, breakdown_json, compute_totals, price_line, stored_totals

FINANCE_ROLES = (Role.FINANCE,)


def issue_deferred_invoice(session: Session, *, note: DeliveryNote) -> DeferredDocument:
    lines = [
        _document_line(
            line_no=line.line_no,
            priced=PricedLine(
                quantity=line.quantity,
                unit_price=line.unit_price,
                price_includes_vat=line.price_includes_vat,
                vat_rate=line.vat_rate,
                line_amount=line.line_amount,
            ),
            product_id=line.product_id,
            product_code=line.product_code,
            gtin=line.gtin,
            description=line.description,
            discount_percent=line.discount_percent,
            customer_discount_percent=note.customer_discount_percent,
            delivery_note_line_id=line.id,
        )
        for line in note.lines
    ]
    return _new_document(
        session,
        kind=DocumentKind.INVOICE,
        prefix=get_settings().deferred_invoice_prefix,
        lines=lines,
        customer=note.customer,
        order=note.order,
        delivery_note=note,
        # Dated like its note, even a note issued a tick before midnight on New Year's Eve.
        issued_at=note.issued_at,
    )


def issue_deferred_credit_note(session: Session, *, goods_return: GoodsReturn) -> DeferredDocument:
    """Credit returned goods: at the prices of the delivery note line they go back against, or, for
    goods Carnet never delivered, at the current snapshot price with the customer's current discount.
    The credit note corrects the invoices of the delivery notes its lines went back against, and for
    goods Carnet never delivered the ERP invoice the return names (none: a person keys it by hand).

    Goods that come back in several returns are credited on what has come back so far: each credit is
    the amount of everything returned against that delivered line, less what earlier returns were
    credited. Rounding each return on its own would credit 3 x 0.34 for an invoiced 1.01."""
    already_returned = repository.returned_quantities(
        session,
        delivery_note_line_ids={
            line.delivery_note_line_id for line in goods_return.lines if line.delivery_note_line_id
        },
        excluding_return_id=goods_return.id,
    )
    lines = []
    for line in goods_return.lines:
        delivered = line.delivery_note_line
        if delivered is not None:
            before = already_returned.get(delivered.id, ZERO)
            already_returned[delivered.id] = before + line.quantity

            def amount(quantity: Decimal, delivered: DeliveryNoteLine = delivered) -> Decimal:
                return price_line(
                    quantity=quantity,
                    unit_price=delivered.unit_price,
                    price_includes_vat=delivered.price_includes_vat,
                    vat_rate=delivered.vat_rate,
                    line_discount_percent=delivered.discount_percent,
                    customer_discount_percent=delivered.note.customer_discount_percent,
                ).line_amount

            priced = PricedLine(
                quantity=line.quantity,
                unit_price=delivered.unit_price,
                price_includes_vat=delivered.price_includes_vat,
                vat_rate=delivered.vat_rate,
                line_amount=amount(before + line.quantity) - amount(before),
            )
            discount, customer_discount = delivered.discount_percent, delivered.note.customer_discount_percent
        else:
            product = session.get(Product, line.product_id)
            assert product is not None
            customer_discount = goods_return.customer.discount_percent
            discount = ZERO
            priced = price_line(
                quantity=line.quantity,
                unit_price=product.unit_price,
                price_includes_vat=product.price_includes_vat,
                vat_rate=product.vat_rate,
                customer_discount_percent=customer_discount,
            )
        lines.append(
            _document_line(
                line_no=line.line_no,
                priced=priced,
                product_id=line.product_id,
                product_code=line.product_code,
                gtin=line.gtin,
                description=line.description,
                discount_percent=discount,
                customer_discount_percent=customer_discount,
                delivery_note_line_id=delivered.id if delivered is not None else None,
                goods_return_line_id=line.id,
            )
        )
    # Goods Carnet never delivered are credited at the snapshot price for any quantity: amounts a
    # money column cannot hold are refused (the request rolls back), not left to fail the insert.
    priced_lines = [priced for _, priced in lines]
    if (
        any(p.line_amount > MAX_AMOUNT for p in priced_lines)
        or compute_totals(priced_lines).gross > MAX_AMOUNT
    ):
        raise InvalidInput(f"the credit note's amounts would exceed {MAX_AMOUNT}", loc=("body", "lines"))
    # Bound to what the goods went back against, whatever the return's header said: the invoice of
    # the note of its first delivered line (the others follow from the lines), and for goods Carnet
    # did not deliver the ERP invoice the return names.
    first_note = next(
        (line.delivery_note_line.note for line in goods_return.lines if line.delivery_note_line), None
    )
    undelivered = any(line.delivery_note_line is None for line in goods_return.lines)
    return _new_document(
        session,
        kind=DocumentKind.CREDIT_NOTE,
        prefix=get_settings().deferred_credit_note_prefix,
        lines=lines,
        customer=goods_return.customer,
        order=session.get(SaleOrder, first_note.order_id) if first_note is not None else None,
        delivery_note=first_note,
        goods_return=goods_return,
        invoice=repository.invoice_of_note(session, first_note.id) if first_note is not None else None,
        corrected_erp_invoice=goods_return.invoice_reference if undelivered else None,
    )


def _document_line(
    *,
    line_no: int,
    priced: PricedLine,
    product_id: int,
    product_code: str,
    gtin: str | None,
    description: str,
    discount_percent: Decimal,
    customer_discount_percent: Decimal,
    delivery_note_line_id: int | None = None,
    goods_return_line_id: int | None = None,
) -> tuple[DeferredDocumentLine, PricedLine]:
    line = DeferredDocumentLine(
        line_no=line_no,
        product_id=product_id,
        product_code=product_code,
        gtin=gtin,
        description=description,
        quantity=priced.quantity,
        unit_price=priced.unit_price,
        price_includes_vat=priced.price_includes_vat,
        discount_percent=discount_percent,
        customer_discount_percent=customer_discount_percent,
        vat_rate=priced.vat_rate,
        line_amount=priced.line_amount,
        net_amount=priced.net_amount,
        delivery_note_line_id=delivery_note_line_id,
        goods_return_line_id=goods_return_line_id,
    )
    return line, priced


def _new_document(
    session: Session,
    *,
    kind: DocumentKind,
    prefix: str,
    lines: list[tuple[DeferredDocumentLine, PricedLine]],
    customer: Customer,
    order: SaleOrder | None = None,
    delivery_note: DeliveryNote | None = None,
    goods_return: GoodsReturn | None = None,
    invoice: DeferredDocument | None = None,
    corrected_erp_invoice: str | None = None,
    issued_at: datetime | None = None,
) -> DeferredDocument:
    totals = compute_totals(priced for _, priced in lines)
    moment = business_moment(issued_at)
    document = DeferredDocument(
        kind=kind,
        reference=take_number(session, prefix, moment),
        status=DocumentStatus.PENDING,
        idempotency_key=uuid.uuid4(),
        customer=customer,
        order=order,
        delivery_note=delivery_note,
        goods_return=goods_return,
        invoice=invoice,
        corrected_erp_invoice=corrected_erp_invoice,
        issue_date=moment.day,
        issued_at=moment.at,
        net_total=totals.net,
        vat_total=totals.vat,
        gross_total=totals.gross,
        vat_breakdown=breakdown_json(totals),
        lines=[line for line, _ in lines],
    )
    session.add(document)
    session.flush()
    return document


def get_deferred_document(session: Session, *, key: str, actor: Actor) -> DeferredDocument:
    """A document by its id or its reference (`DI-2026-000001`)."""
    actor.require(*FINANCE_ROLES)
    # Only ASCII digits that fit a 64-bit id are an id: `str.isdigit` also accepts `²`, which `int`
    # refuses, and a longer number would overflow the driver; anything else is a reference.
    is_id = key.isascii() and key.isdigit() and len(key) <= 18
    document = (
        repository.get_document(session, id=int(key))
        if is_id
        else repository.get_document(session, reference=key)
    )
    if document is None or not actor.may_see_customer(document.customer_id):
        raise NotFound(f"no deferred document {key!r}")
    return document


def list_deferred_documents(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    status: str | None = None,
    customer_code: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> DeferredDocumentPage:
    actor.require(*FINANCE_ROLES)
    customer_ids = actor.customer_ids
    rows = repository.list_documents(
        session,
        kind=kind,
        status=status,
        customer_code=customer_code,
        customer_ids=customer_ids,
        before_id=before_id,
        limit=limit,
    )
    sums = repository.totals_by_kind(
        session, kind=kind, status=status, customer_code=customer_code, customer_ids=customer_ids
    )
    by_kind = [
        KindTotals(kind=k, count=count, net=net or ZERO, vat=vat or ZERO, gross=gross or ZERO)
        for k, count, net, vat, gross in sums
    ]

    def balance(field: str) -> Decimal:
        return sum(
            (getattr(t, field) * (-1 if t.kind == DocumentKind.CREDIT_NOTE else 1) for t in by_kind), ZERO
        )

    return DeferredDocumentPage(
        items=[deferred_document_read(document) for document in rows],
        next_cursor=next_cursor(rows, limit),
        totals=DocumentTotals(
            count=sum(t.count for t in by_kind),
            net=balance("net"),
            vat=balance("vat"),
            gross=balance("gross"),
            by_kind=by_kind,
        ),
    )


def deferred_document_read(document: DeferredDocument) -> DeferredDocumentRead:
    totals = stored_totals(
        document.net_total, document.vat_total, document.gross_total, document.vat_breakdown
    )
    return DeferredDocumentRead(
        id=document.id,
        kind=document.kind,
        reference=document.reference,
        status=document.status,
        final_number=document.final_number,
        idempotency_key=document.idempotency_key,
        customer_code=document.customer.code,
        customer_name=document.customer.name,
        order_number=document.order.number if document.order else None,
        delivery_note_number=document.delivery_note.number if document.delivery_note else None,
        return_number=document.goods_return.number if document.goods_return else None,
        invoice_reference=document.invoice.reference if document.invoice else None,
        corrected_erp_invoice=document.corrected_erp_invoice,
        issue_date=document.issue_date,
        issued_at=document.issued_at,
        voided_at=document.voided_at,
        void_reason=document.void_reason,
        lines=[DeferredDocumentLineRead.model_validate(line) for line in document.lines],
        totals=totals_read(totals),
    )
