"""What replay reads to build ERP documents, loaded in batches with Core queries.

A claimed batch is hundreds of documents: loading them as ORM objects (identity map, instrumented
attributes, JSON columns nobody reads) cost more than building and sending them. Here a batch is three
queries per kind (documents, their lines, their customers) whose rows are used as they come;
`OrderSource` and `DocumentSource` only put each document's rows together.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.delivery.models import DeliveryNote
from app.invoicing.models import DeferredDocument, DeferredDocumentLine
from app.orders.models import SaleOrder, SaleOrderLine


class CustomerRow(Protocol):
    code: str
    name: str
    vat_number: str | None
    siren: str | None
    gln: str | None
    billing_name: str | None
    billing_street: str
    billing_street2: str | None
    billing_postal_code: str
    billing_city: str
    billing_country: str


class LineRow(Protocol):
    line_no: int
    product_code: str
    gtin: str | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    price_includes_vat: bool
    discount_percent: Decimal
    vat_rate: Decimal
    line_amount: Decimal
    net_amount: Decimal


class DocumentLineRow(LineRow, Protocol):
    customer_discount_percent: Decimal


@dataclass(frozen=True, slots=True)
class OrderSource:
    order: Any  # a sale_order row: number, status, totals, shipping address, creation time
    customer: CustomerRow
    lines: Sequence[LineRow]


@dataclass(frozen=True, slots=True)
class DocumentSource:
    """A deferred invoice or credit note, with the numbers of its order and delivery note."""

    document: Any  # a deferred_document row, with order_number, customer_reference and its note's
    # note_number, note_date and note_address
    customer: CustomerRow
    lines: Sequence[DocumentLineRow]

    @property
    def id(self) -> int:
        return int(self.document.id)

    @property
    def issue_date(self) -> date:
        issued: date = self.document.issue_date
        return issued

    @property
    def issued_at(self) -> datetime:
        moment: datetime = self.document.issued_at
        return moment


_CUSTOMER = (
    Customer.id,
    Customer.code,
    Customer.name,
    Customer.vat_number,
    Customer.siren,
    Customer.gln,
    Customer.billing_name,
    Customer.billing_street,
    Customer.billing_street2,
    Customer.billing_postal_code,
    Customer.billing_city,
    Customer.billing_country,
)


def _line_columns(table: type[SaleOrderLine] | type[DeferredDocumentLine]) -> tuple[Any, ...]:
    return (
        table.line_no,
        table.product_code,
        table.gtin,
        table.description,
        table.quantity,
        table.unit_price,
        table.price_includes_vat,
        table.discount_percent,
        table.vat_rate,
        table.line_amount,
        table.net_amount,
    )


def load_orders(session: Session, ids: Sequence[int]) -> dict[int, OrderSource]:
    if not ids:
        return {}
    orders = session.execute(
        select(
            SaleOrder.id,
            SaleOrder.number,
            SaleOrder.status,
            SaleOrder.customer_id,
            SaleOrder.customer_reference,
            SaleOrder.shipping_address,
            SaleOrder.customer_discount_percent,
            SaleOrder.net_total,
            SaleOrder.vat_total,
            SaleOrder.gross_total,
            SaleOrder.vat_breakdown,
            SaleOrder.created_at,
        ).where(SaleOrder.id.in_(ids))
    ).all()
    lines = _grouped(
        session.execute(
            select(SaleOrderLine.order_id, *_line_columns(SaleOrderLine))
            .where(SaleOrderLine.order_id.in_(ids))
            .order_by(SaleOrderLine.order_id, SaleOrderLine.line_no)
        )
    )
    customers = _customers(session, {order.customer_id for order in orders})
    return {
        order.id: OrderSource(order, customers[order.customer_id], lines.get(order.id, []))
        for order in orders
    }


def load_documents(session: Session, ids: Iterable[int]) -> dict[int, DocumentSource]:
    ids = list(ids)
    if not ids:
        return {}
    document = DeferredDocument
    documents = session.execute(
        select(
            document.id,
            document.kind,
            document.reference,
            document.idempotency_key,
            document.customer_id,
            document.issue_date,
            document.issued_at,
            document.net_total,
            document.vat_total,
            document.gross_total,
            document.vat_breakdown,
            document.corrected_erp_invoice,
            SaleOrder.number.label("order_number"),
            SaleOrder.customer_reference,
            DeliveryNote.number.label("note_number"),
            DeliveryNote.issue_date.label("note_date"),
            DeliveryNote.shipping_address.label("note_address"),
        )
        .outerjoin(SaleOrder, SaleOrder.id == document.order_id)
        .outerjoin(DeliveryNote, DeliveryNote.id == document.delivery_note_id)
        .where(document.id.in_(ids))
    ).all()
    line = DeferredDocumentLine
    lines = _grouped(
        session.execute(
            select(line.document_id, *_line_columns(line), line.customer_discount_percent)
            .where(line.document_id.in_(ids))
            .order_by(line.document_id, line.line_no)
        )
    )
    customers = _customers(session, {row.customer_id for row in documents})
    return {
        row.id: DocumentSource(row, customers[row.customer_id], lines.get(row.id, [])) for row in documents
    }


def _customers(session: Session, ids: set[int]) -> dict[int, Any]:
    return {row.id: row for row in session.execute(select(*_CUSTOMER).where(Customer.id.in_(ids)))}


def _grouped(rows: Iterable[Row[Any]]) -> dict[int, list[Any]]:
    """Rows whose first column is their parent's id, grouped by it."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped
