"""Order shapes of the API: what a rep or partner sends, and the order they get back."""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.catalog.schemas import Address, Code, Gtin, MoneyOut, Percent, PriceOut, QuantityOut, RateOut
from app.orders.models import Channel
from app.pricing import Totals

MAX_ORDER_LINES = 500

OrderQuantity = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=10, decimal_places=3)]


class OrderLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_code: Code | None = None
    gtin: Gtin | None = None
    quantity: OrderQuantity
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=4)
    discount_percent: Percent | None = None

    @model_validator(mode="after")
    def _names_a_product(self) -> "OrderLineCreate":
        if self.product_code is None and self.gtin is None:
            raise ValueError("give product_code or gtin")
        return self


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_code: Code
    channel: Channel
    customer_reference: str | None = Field(default=None, min_length=1, max_length=100)
    requested_date: date | None = None
    shipping_address: Code | Address | None = Field(
        default=None, description="the code of one of the customer's shipping addresses, or a full address"
    )
    notes: str | None = Field(default=None, max_length=2000)
    email_text: str | None = Field(
        default=None, max_length=100_000, description="channel email: the customer's email, as received"
    )
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_ORDER_LINES)


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    external_line_no: str | None = None
    product_code: str
    gtin: str | None
    description: str
    quantity: QuantityOut
    unit_price: PriceOut
    price_includes_vat: bool
    discount_percent: RateOut
    vat_rate: RateOut
    line_amount: MoneyOut
    net_amount: MoneyOut
    shipped_quantity: QuantityOut
    backordered_quantity: QuantityOut
    closed_quantity: QuantityOut = Field(
        default=Decimal(0), description="what the customer gave up of a backorder"
    )


class VatLineRead(BaseModel):
    rate: RateOut
    base: MoneyOut
    amount: MoneyOut


class TotalsRead(BaseModel):
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    vat_breakdown: list[VatLineRead]


class Warning(BaseModel):
    code: str
    detail: str
    line_no: int | None = None
    orders: list[str] | None = None
    product_code: str | None = None
    available: QuantityOut | None = Field(default=None, description="stock_shortfall: what stock is free")
    ordered: QuantityOut | None = Field(default=None, description="stock_shortfall: what the order asks")


class UnresolvedLineRead(BaseModel):
    """A line the partner sent that is not (yet) an order line, with the partner's own values."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    external_line_no: str | None
    items: list[dict[str, Any]]
    description: str | None
    quantity: str
    unit: str | None
    unit_price: str | None
    reason: str
    detail: str
    product_code: str | None
    status: str
    resolution_reason: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    order_line_no: int | None


class OrderRead(BaseModel):
    number: str
    status: str
    customer_code: str
    customer_name: str
    channel: str
    customer_reference: str | None
    requested_date: date | None
    shipping_address: dict[str, Any] | None
    notes: str | None
    email_text: str | None = None
    customer_discount_percent: RateOut
    created_at: datetime
    captured_by: str
    lines: list[OrderLineRead]
    totals: TotalsRead
    warnings: list[Warning]
    problems: list[dict[str, Any]] = []
    external_references: dict[str, Any] | None = None
    unresolved_lines: list[UnresolvedLineRead] = []


def totals_read(totals: Totals) -> TotalsRead:
    return TotalsRead(
        net=totals.net,
        vat=totals.vat,
        gross=totals.gross,
        vat_breakdown=[VatLineRead(rate=v.rate, base=v.base, amount=v.amount) for v in totals.vat_breakdown],
    )
