"""Shapes of replay runs, outbox items and reconciliation reports in the API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.catalog.schemas import MoneyOut, RateOut
from app.incidents.schemas import IncidentRead
from app.pagination import MAX_ID

Kind = Literal["order", "invoice", "credit_note"]
ALL_KINDS: tuple[Kind, ...] = ("order", "invoice", "credit_note")


class RunCreate(BaseModel):
    dry_run: bool = False
    kinds: list[Kind] | None = Field(default=None, description="default: every kind")
    incident_id: int | None = Field(
        default=None, ge=-MAX_ID, le=MAX_ID, description="default: the latest incident"
    )
    all_incidents: bool = Field(
        default=False, description="replay everything captured, in or out of incidents"
    )
    workers: int = Field(default=1, ge=1, le=16, description="claim loops sharing the run (PostgreSQL only)")


class RunStarted(BaseModel):
    id: int
    status: str


class StatusCounts(BaseModel):
    kind: str
    pending: int = 0
    in_flight: int = 0
    acknowledged: int = 0
    failed: int = 0
    dead: int = 0
    total: int = 0


class RunRead(BaseModel):
    id: int
    status: str
    dry_run: bool
    kinds: list[str]
    incident_id: int | None
    connector: str
    workers: int
    started_by: str
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    progress_percent: float = Field(description="acknowledged share of the items in the run's scope")
    sent: int
    acknowledged: int
    already_received: int = Field(description="answers 'already have it': re-sends after a lost answer")
    retried: int
    failed: int
    dead: int
    counts: list[StatusCounts] = Field(description="items of the run's scope, per kind and status")
    totals: StatusCounts
    errors: list[str] = Field(description="the latest reasons of failed, dead and retried items")
    summary: dict[str, object] | None = Field(description="a dry run's plan: what would be sent")
    error: str | None


class RunPage(BaseModel):
    items: list[RunRead]
    next_cursor: str | None


class ItemRead(BaseModel):
    id: int
    kind: str
    reference: str
    idempotency_key: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    final_number: str | None
    erp_reference: str | None
    acknowledged_at: datetime | None


class VatAmount(BaseModel):
    rate: RateOut
    base: MoneyOut
    amount: MoneyOut


class Figures(BaseModel):
    count: int
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut
    vat_breakdown: list[VatAmount]


class KindFigures(BaseModel):
    kind: str
    captured: Figures
    acknowledged: Figures
    difference: Figures


class CustomerFigures(KindFigures):
    customer_code: str
    customer_name: str


class OpenDocument(BaseModel):
    kind: str
    reference: str
    customer_code: str = ""
    status: str
    attempts: int = 0
    reason: str


class ExcludedDocument(BaseModel):
    kind: str
    reference: str
    customer_code: str
    reason: str


class ErpCheck(BaseModel):
    acknowledged: int
    with_erp_reference: int
    missing_erp_reference: list[str]
    duplicate_erp_references: list[str]


class ReconciliationReport(BaseModel):
    """What Carnet captured against what the ERP acknowledged, for one incident (or everything)."""

    generated_at: datetime
    incident: IncidentRead | None
    run_id: int | None
    invoice_numbering: str
    invoice_grouping: str
    balanced: bool = Field(description="no difference, nothing outstanding, every acknowledgment referenced")
    kinds: list[KindFigures]
    customers: list[CustomerFigures]
    outstanding: list[OpenDocument]
    excluded: list[ExcludedDocument]
    erp_check: ErpCheck
