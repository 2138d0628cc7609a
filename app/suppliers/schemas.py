"""The supplier report's shape: per title and in total, quantities only (no customer, no price)."""

from datetime import datetime

from pydantic import BaseModel

from app.catalog.schemas import QuantityOut


class Quantities(BaseModel):
    """What moved for a title in the period, and its stock.

    `ordered` and `backordered`: order lines of orders captured in the period and not cancelled
    (backordered: what they still wait for). `shipped`, `returned`, `received`, `counted`: the
    stock ledger's movements in the period (shipped net of voided delivery notes, returned net of
    cancelled returns, counted: the warehouse's corrections). `snapshot_stock`: the ERP's figure as
    of its date; `stock_left`: the stock at the end of the period as Carnet knows it. For a period
    that starts after the snapshot's date and ends now:
    stock_left = snapshot_stock - shipped + returned + received + counted + (movements between the
    snapshot's date and the period's start)."""

    snapshot_stock: QuantityOut
    ordered: QuantityOut
    shipped: QuantityOut
    backordered: QuantityOut
    returned: QuantityOut
    received: QuantityOut
    counted: QuantityOut
    stock_left: QuantityOut


class TitleFigures(Quantities):
    code: str
    gtin: str | None
    name: str
    snapshot_as_of: datetime


class SupplierReport(BaseModel):
    supplier_code: str
    supplier_name: str | None
    incident_id: int | None
    period_start: datetime
    period_end: datetime
    generated_at: datetime
    titles: list[TitleFigures]
    totals: Quantities
