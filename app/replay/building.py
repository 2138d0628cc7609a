"""Carnet's rows as the ERP documents replay sends: orders, deferred invoices (one per delivery note or
one recap per customer and month) and credit notes.

Figures are the frozen ones: an order's and a deferred document's stored totals, lines as priced at
capture or issue. A recap invoice's lines are its deferred invoices' lines; its totals are computed
again over those lines by app/pricing.py (per VAT rate on the sum of the lines), never by adding the
invoices' rounded totals. The seller is the company of the settings, as on delivery notes.

Dates: an invoice is dated when it was issued (its deferred document's date); the goods were delivered
on its delivery note's date (BT-72), or for a recap over notes of several days, over the period from
the first to the last of them (BG-14). The delivery address goes on the document only when it differs
from the buyer's billing address, as the 2026 mentions ask.
"""

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.config import Settings
from app.money import HUNDRED
from app.pricing import PricedLine, Totals, compute_totals, stored_totals
from app.replay.documents import (
    CorrectedInvoice,
    DocumentKind,
    DocumentNote,
    DocumentReferences,
    ErpDocument,
    ErpLine,
    ErpParty,
    NoteSubject,
    Period,
    PostalAddress,
)
from app.replay.sources import CustomerRow, DocumentSource, LineRow, OrderSource

CREDIT_NOTE_TERMS = "Avoir à déduire du prochain règlement"


def seller_party(settings: Settings) -> ErpParty:
    return ErpParty(
        code=settings.seller_code,
        name=settings.seller_name,
        address=PostalAddress(
            lines=tuple(line for line in (settings.seller_street, settings.seller_street2) if line),
            postal_code=settings.seller_postal_code,
            city=settings.seller_city,
            country_code=settings.seller_country,
        ),
        vat_number=settings.seller_vat_number,
        gln=settings.seller_gln,
        legal_id=settings.seller_legal_id,
    )


def legal_notes(settings: Settings) -> tuple[DocumentNote, ...]:
    return (
        DocumentNote(NoteSubject.LATE_PENALTIES, settings.late_penalties_mention),
        DocumentNote(NoteSubject.RECOVERY_INDEMNITY, settings.recovery_indemnity_mention),
        DocumentNote(NoteSubject.EARLY_PAYMENT, settings.early_payment_mention),
    )


def buyer_party(customer: CustomerRow) -> ErpParty:
    street = (customer.billing_street, customer.billing_street2)
    named = (
        customer.billing_name if customer.billing_name and customer.billing_name != customer.name else None
    )
    return ErpParty(
        code=customer.code,
        name=customer.name,
        address=PostalAddress(
            lines=tuple(line for line in (named, *street) if line),
            postal_code=customer.billing_postal_code,
            city=customer.billing_city,
            country_code=customer.billing_country,
        ),
        vat_number=customer.vat_number,
        gln=customer.gln,
        legal_id=customer.siren,
    )


def order_document(source: OrderSource, *, seller: ErpParty, settings: Settings) -> ErpDocument:
    order = source.order
    discount = order.customer_discount_percent
    return ErpDocument(
        kind=DocumentKind.ORDER,
        idempotency_key=f"order:{order.number}",
        reference=order.number,
        issue_date=order.created_at.astimezone(ZoneInfo(settings.business_timezone)).date(),
        seller=seller,
        buyer=buyer_party(source.customer),
        lines=tuple(_line(line, discount) for line in source.lines),
        totals=stored_totals(order.net_total, order.vat_total, order.gross_total, order.vat_breakdown),
        delivery_address=_address(order.shipping_address),
        references=DocumentReferences(customer_reference=order.customer_reference),
    )


def invoice_document(
    source: DocumentSource, *, invoice_number: str | None, seller: ErpParty, settings: Settings
) -> ErpDocument:
    """One deferred invoice, for one delivery note."""
    document = source.document
    buyer = buyer_party(source.customer)
    return ErpDocument(
        kind=DocumentKind.INVOICE,
        idempotency_key=str(document.idempotency_key),
        reference=document.reference,
        invoice_number=invoice_number,
        issue_date=document.issue_date,
        due_date=document.issue_date + timedelta(days=settings.payment_terms_days),
        payment_terms=settings.payment_terms,
        seller=seller,
        buyer=buyer,
        lines=tuple(_line(line, line.customer_discount_percent) for line in source.lines),
        totals=stored_totals(
            document.net_total, document.vat_total, document.gross_total, document.vat_breakdown
        ),
        delivery_address=_delivery_address(document.note_address, buyer),
        delivery_date=document.note_date,
        vat_on_debits=settings.seller_vat_on_debits,
        notes=legal_notes(settings),
        references=DocumentReferences(
            order_numbers=_present(document.order_number),
            customer_reference=document.customer_reference,
            delivery_note_numbers=_present(document.note_number),
        ),
    )


def recap_document(
    *,
    key: str,
    reference: str,
    members: Sequence[DocumentSource],
    invoice_number: str | None,
    seller: ErpParty,
    settings: Settings,
) -> ErpDocument:
    """One invoice over several delivery notes of a customer's month, dated like its latest note."""
    members = sorted(members, key=lambda m: (m.issued_at, m.id))
    source_lines = [line for member in members for line in member.lines]
    lines = tuple(
        _line(line, line.customer_discount_percent, line_no=number)
        for number, line in enumerate(source_lines, start=1)
    )
    issue_date = max(member.issue_date for member in members)
    rows = [member.document for member in members]
    customer_references = _unique(row.customer_reference for row in rows if row.customer_reference)
    addresses = _unique(_address(row.note_address) for row in rows if row.note_address)
    buyer = buyer_party(members[0].customer)
    delivered = sorted({row.note_date for row in rows if row.note_date})
    return ErpDocument(
        kind=DocumentKind.INVOICE,
        idempotency_key=key,
        reference=reference,
        invoice_number=invoice_number,
        issue_date=issue_date,
        due_date=issue_date + timedelta(days=settings.payment_terms_days),
        payment_terms=settings.payment_terms,
        seller=seller,
        buyer=buyer,
        lines=lines,
        totals=computed_totals(source_lines),
        delivery_address=_different(addresses[0], buyer) if len(addresses) == 1 else None,
        delivery_date=delivered[0] if len(delivered) == 1 else None,
        delivery_period=Period(delivered[0], delivered[-1]) if len(delivered) > 1 else None,
        vat_on_debits=settings.seller_vat_on_debits,
        notes=legal_notes(settings),
        references=DocumentReferences(
            order_numbers=_unique(row.order_number for row in rows if row.order_number),
            customer_reference=customer_references[0] if len(customer_references) == 1 else None,
            delivery_note_numbers=_unique(row.note_number for row in rows if row.note_number),
        ),
    )


def credit_note_document(
    source: DocumentSource,
    *,
    corrected: tuple[CorrectedInvoice, ...],
    credit_note_number: str | None,
    seller: ErpParty,
    settings: Settings,
) -> ErpDocument:
    """A credit note; the goods it credits were delivered on the date of the note they went back against."""
    document = source.document
    return ErpDocument(
        kind=DocumentKind.CREDIT_NOTE,
        idempotency_key=str(document.idempotency_key),
        reference=document.reference,
        invoice_number=credit_note_number,
        issue_date=document.issue_date,
        payment_terms=CREDIT_NOTE_TERMS,
        seller=seller,
        buyer=buyer_party(source.customer),
        lines=tuple(_line(line, line.customer_discount_percent) for line in source.lines),
        totals=stored_totals(
            document.net_total, document.vat_total, document.gross_total, document.vat_breakdown
        ),
        delivery_date=document.note_date,
        vat_on_debits=settings.seller_vat_on_debits,
        notes=legal_notes(settings),
        references=DocumentReferences(
            order_numbers=_present(document.order_number),
            delivery_note_numbers=_present(document.note_number),
            corrected_invoice=corrected[0] if corrected else None,
            further_corrected_invoices=corrected[1:],
        ),
    )


def computed_totals(lines: Iterable[LineRow]) -> Totals:
    return compute_totals(
        PricedLine(
            quantity=line.quantity,
            unit_price=line.unit_price,
            price_includes_vat=line.price_includes_vat,
            vat_rate=line.vat_rate,
            line_amount=line.line_amount,
        )
        for line in lines
    )


def effective_discount(line_percent: Decimal, customer_percent: Decimal) -> Decimal:
    """The line's and the customer's discounts applied in cascade, as one percentage."""
    if not customer_percent:
        return line_percent
    remaining = (HUNDRED - line_percent) * (HUNDRED - customer_percent) / HUNDRED
    return HUNDRED - remaining


def _line(line: LineRow, customer_discount: Decimal, *, line_no: int | None = None) -> ErpLine:
    return ErpLine(
        line_no=line_no or line.line_no,
        product_code=line.product_code,
        gtin=line.gtin,
        description=line.description,
        quantity=line.quantity,
        unit_price=line.unit_price,
        price_includes_vat=line.price_includes_vat,
        discount_percent=effective_discount(line.discount_percent, customer_discount),
        vat_rate=line.vat_rate,
        net_amount=line.net_amount,
    )


def _present(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


def _address(address: dict[str, Any] | None) -> PostalAddress | None:
    if not address:
        return None
    return PostalAddress(
        lines=tuple(address[key] for key in ("name", "street", "street2") if address.get(key)),
        postal_code=address["postal_code"],
        city=address["city"],
        country_code=address.get("country") or "FR",
    )


def _delivery_address(address: dict[str, Any] | None, buyer: ErpParty) -> PostalAddress | None:
    postal = _address(address)
    return None if postal is None else _different(postal, buyer)


def _different(address: PostalAddress, buyer: ErpParty) -> PostalAddress | None:
    """The delivery address, unless it is the buyer's billing address."""
    billing = buyer.address
    same = (
        (address.postal_code, address.city, address.country_code)
        == (billing.postal_code, billing.city, billing.country_code)
        and set(address.lines) <= {buyer.name, *billing.lines}
        and set(billing.lines) <= {buyer.name, *address.lines}
    )
    return None if same else address


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))
