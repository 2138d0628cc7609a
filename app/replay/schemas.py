"""Shapes of replay runs, outbox items and reconciliation reports in the API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    held: int = 0
    cancelled: int = 0
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
    summary: dict[str, object] | None = Field(
        description="a dry run's plan: what would be sent, and `warnings` about it (each with a `code`)"
    )
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
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution_note: str | None = None


class ScopeChange(BaseModel):
    """Finance's word on a run's scope after a dry run, by reference (order number, DI-…, DC-…)."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(default_factory=list, max_length=10_000, description="send them too")
    exclude: list[str] = Field(default_factory=list, max_length=10_000, description="hold them back")
    reset: list[str] = Field(default_factory=list, max_length=10_000, description="back to their window")


class ScopeChanged(BaseModel):
    included: list[str]
    excluded: list[str]
    reset: list[str]
    not_changed: list[str] = Field(description="unknown references, or items already sent or settled")


class ItemResolve(BaseModel):
    """A person's resolution of an item the replay cannot send (held, failed, dead, or not sent yet)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    outcome: Literal["keyed", "cancelled"] = Field(
        description="keyed: entered into the ERP by hand (give its reference); cancelled: not for the ERP"
    )
    erp_reference: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str | None = Field(default=None, min_length=1, max_length=500)


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


class Amounts(BaseModel):
    net: MoneyOut
    vat: MoneyOut
    gross: MoneyOut


class OpenDocument(BaseModel):
    """A document the ERP does not hold yet, what it is worth, and why it waits."""

    kind: str
    reference: str
    customer_code: str = ""
    status: str
    attempts: int = 0
    item_id: int | None = Field(default=None, description="its outbox item, to retry or resolve it")
    amounts: Amounts | None = None
    reason_code: str
    reason: str = Field(description="in the report's language")


class ExcludedDocument(BaseModel):
    """A document left out of the replay by a person's action (an order cancelled, a delivery note or
    return voided, an item cancelled at replay), with its amount and the reason."""

    kind: str
    reference: str
    customer_code: str
    amounts: Amounts | None = None
    reason_code: str
    reason: str = Field(description="in the report's language")


class KeyedDocument(BaseModel):
    """A document a person keyed into the ERP by hand."""

    kind: str
    reference: str
    customer_code: str
    erp_reference: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None
    amounts: Amounts | None = None


class WaitingFigures(BaseModel):
    """What waits (not in the ERP yet), per kind, and per customer when `customer_code` is set."""

    kind: str
    customer_code: str | None = None
    customer_name: str | None = None
    figures: Figures


class ErpCheck(BaseModel):
    acknowledged: int
    with_erp_reference: int
    missing_erp_reference: list[str]
    duplicate_erp_references: list[str]


class ReconciliationReport(BaseModel):
    """What Carnet captured against what the ERP acknowledged, for one incident (or everything)."""

    generated_at: datetime
    lang: Literal["fr", "en"]
    timezone: str = Field(description="the business time zone local times are given in")
    incident: IncidentRead | None
    run_id: int | None
    dry_run: bool = Field(
        False,
        description="the run named is a dry run: it sent nothing to the ERP, and the figures are the ERP "
        "as it stands without it",
    )
    invoice_numbering: str
    invoice_grouping: str
    balanced: bool = Field(
        description="the ERP holds everything captured and nothing waits: no difference, nothing "
        "outstanding, every acknowledgment referenced"
    )
    kinds: list[KindFigures]
    customers: list[CustomerFigures]
    waiting: list[WaitingFigures] = Field(description="what is not in the ERP yet, per kind and customer")
    outstanding: list[OpenDocument]
    excluded: list[ExcludedDocument]
    keyed_by_hand: list[KeyedDocument]
    erp_check: ErpCheck
