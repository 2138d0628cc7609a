"""Shapes of the warehouse API: deliveries, delivery notes, backorders, stock receipts and returns."""

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.catalog.schemas import Code, Gtin, MoneyOut, PriceOut, QuantityOut, RateOut
from app.orders.schemas import MAX_ORDER_LINES, OrderQuantity, TotalsRead, Warning
from app.templating import Lang

MAX_PRINT_BATCH = 500


class DeliveryLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_no: int = Field(ge=1, le=MAX_ORDER_LINES)
    quantity: OrderQuantity


class Consignment(BaseModel):
    """How the goods leave, as printed on the note; what is not given is left blank to fill by hand."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    parcel_count: int | None = Field(default=None, ge=1, le=9999, description="number of parcels")
    carrier: str | None = Field(default=None, min_length=1, max_length=100)
    tracking_number: str | None = Field(default=None, min_length=1, max_length=100)


class DeliveryCreate(Consignment):
    """Lines of the order to ship and how much of each; without `lines`, every open line ships as
    much as the stock on hand allows."""

    lines: list[DeliveryLineIn] | None = Field(default=None, min_length=1, max_length=MAX_ORDER_LINES)

    @field_validator("lines")
    @classmethod
    def _each_line_once(cls, value: list[DeliveryLineIn] | None) -> list[DeliveryLineIn] | None:
        if value is not None and len({line.line_no for line in value}) != len(value):
            raise ValueError("each line_no may appear only once")
        return value


class DeliveryNoteLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    line_no: int
    order_line_no: int
    product_code: str
    gtin: str | None
    description: str
    ordered_quantity: QuantityOut
    previously_shipped_quantity: QuantityOut
    quantity: QuantityOut
    backordered_quantity: QuantityOut
    unit_price: PriceOut
    price_includes_vat: bool
    discount_percent: RateOut
    vat_rate: RateOut
    line_amount: MoneyOut
    net_amount: MoneyOut


class DeliveryNoteRead(BaseModel):
    number: str
    status: str
    order_number: str
    order_status: str
    customer_code: str
    customer_name: str
    customer_reference: str | None
    issue_date: date
    issued_at: datetime
    issued_by: str
    shipping_address: dict[str, Any]
    show_prices: bool
    customer_discount_percent: RateOut
    parcel_count: int | None
    carrier: str | None
    tracking_number: str | None
    lines: list[DeliveryNoteLineRead]
    totals: TotalsRead
    print_count: int
    first_printed_at: datetime | None
    voided_at: datetime | None


class PrintRequest(BaseModel):
    """Either the notes to print, by number, or a day whose notes (not void) are all printed."""

    model_config = ConfigDict(extra="forbid")

    numbers: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, min_length=1, max_length=MAX_PRINT_BATCH
    )
    date: dt.date | None = None
    lang: Lang = "fr"

    @model_validator(mode="after")
    def _numbers_or_date(self) -> "PrintRequest":
        if (self.numbers is None) == (self.date is None):
            raise ValueError("give either numbers or date")
        return self


class BackorderRead(BaseModel):
    order_number: str
    order_created_at: datetime
    customer_code: str
    customer_name: str
    customer_reference: str | None
    line_no: int
    product_code: str
    gtin: str | None
    description: str
    ordered_quantity: QuantityOut
    shipped_quantity: QuantityOut
    backordered_quantity: QuantityOut
    stock_on_hand: QuantityOut


class ProductQuantityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_code: Code | None = None
    gtin: Gtin | None = None
    quantity: OrderQuantity

    @model_validator(mode="after")
    def _names_a_product(self) -> "ProductQuantityIn":
        if self.product_code is None and self.gtin is None:
            raise ValueError("give product_code or gtin")
        return self


class StockReceiptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str | None = Field(default=None, min_length=1, max_length=100)
    lines: list[ProductQuantityIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)


class StockReceiptLineRead(BaseModel):
    product_code: str
    gtin: str | None
    quantity: QuantityOut
    stock_on_hand: QuantityOut


class StockReceiptRead(BaseModel):
    id: int
    reference: str | None
    received_at: datetime
    received_by: str
    lines: list[StockReceiptLineRead]
    backorders: list[BackorderRead] = Field(
        description="backordered order lines of the received products, oldest first: ready to ship"
    )


class ReturnLineIn(ProductQuantityIn):
    reason: str | None = Field(default=None, min_length=1, max_length=200)


class ReturnCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    customer_code: Code
    delivery_note_number: str | None = Field(default=None, min_length=1, max_length=32)
    invoice_reference: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9+_/-]{1,35}$",
        description="the ERP invoice the goods were billed on before the outage (from the customer's "
        "paperwork): the credit note of goods Carnet did not deliver corrects it and is replayed",
    )
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=MAX_ORDER_LINES)


class ReturnLineRead(BaseModel):
    line_no: int
    product_code: str
    gtin: str | None
    description: str
    quantity: QuantityOut
    reason: str | None
    delivery_note_number: str | None = Field(description="the delivery note this quantity goes back against")


class ReturnRead(BaseModel):
    number: str
    customer_code: str
    customer_name: str
    delivery_note_number: str | None
    invoice_reference: str | None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    recorded_at: datetime
    recorded_by: str
    lines: list[ReturnLineRead]
    warnings: list[Warning]


class ReturnCancel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


class StockCorrectionCreate(BaseModel):
    """A warehouse count: the stock on hand of a product is what was counted, with why it differed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    product_code: Code
    counted: Decimal = Field(ge=0, max_digits=14, decimal_places=3)
    reason: str = Field(min_length=1, max_length=200)


class StockCorrectionRead(BaseModel):
    product_code: str
    counted: QuantityOut
    previous: QuantityOut
    difference: QuantityOut
    reason: str
    counted_at: datetime
