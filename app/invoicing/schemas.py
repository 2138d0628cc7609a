"""Shapes of deferred invoices and credit notes, as finance reads them, and of a recorded return."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.catalog.schemas import MoneyOut, PriceOut, QuantityOut, RateOut
from app.orders.schemas import TotalsRead


class DeferredDocumentLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    product_code: str
    gtin: str | None
    description: str
    quantity: QuantityOut
    unit_price: PriceOut
    price_includes_vat: bool
    discount_percent: RateOut
    customer_discount_percent: RateOut
    vat_rate: RateOut
    line_amount: MoneyOut
    net_amount: MoneyOut


class DeferredDocumentRead(BaseModel):
    id: int
    kind: str
    reference: str
    status: str
    final_number: str | None = Field(default=None, description="the invoice's number once replayed")
    idempotency_key: uuid.UUID
    customer_code: str
    customer_name: str
    order_number: str | None
    delivery_note_number: str | None
    return_number: str | None
    invoice_reference: str | None = Field(
        description="for a credit note: the deferred invoice of the first delivery note its goods went "
        "back against"
    )
    corrected_erp_invoice: str | None = Field(
        default=None,
        description="for a credit note of goods Carnet did not deliver: the ERP invoice it corrects",
    )
    issue_date: date
    issued_at: datetime
    voided_at: datetime | None
    void_reason: str | None = None
    lines: list[DeferredDocumentLineRead]
    totals: TotalsRead


class KindTotals(BaseModel):
    kind: str
    count: int
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut


class DocumentTotals(BaseModel):
    """Totals of every document matching the filters, not only of the page. `net`, `vat` and `gross`
    are the balance: invoices less credit notes; `by_kind` gives each kind's own sums."""

    count: int
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    by_kind: list[KindTotals]


class DeferredDocumentPage(BaseModel):
    items: list[DeferredDocumentRead]
    next_cursor: str | None
    totals: DocumentTotals
