"""Finance's console: what is deferred, a chart of what was captured and what still waits, and the
replay into the ERP (dry run, run, live progress, the reconciliation to download)."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.api import ReadSession, RowId, Writes
from app.auth.service import Actor
from app.clock import utcnow
from app.db import get_engine
from app.downloads import file_response
from app.errors import DomainError
from app.invoice_pdf import service as invoice_pdf
from app.invoice_pdf.rendering import render_invoice_pdf
from app.invoicing import service as invoicing
from app.invoicing.models import DocumentKind, DocumentStatus
from app.invoicing.summary import amounts_by_day_and_rate, totals_by_kind_and_status
from app.numbering import business_moment
from app.pagination import decode_cursor
from app.replay import report_formats, runs
from app.replay import service as replay
from app.replay.routes import Launcher, get_launcher
from app.replay.schemas import ItemRead, ItemResolve, ReconciliationReport, RunRead, ScopeChange
from app.web.chart import day_bars
from app.web.pages import banner, local_time, render
from app.web.session import Csrf, Finance

router = APIRouter()


@dataclass(frozen=True)
class KindFigure:
    kind: str
    count: int
    gross: Decimal


@dataclass(frozen=True)
class ScopePart:
    part: str
    count: int
    references: tuple[str, ...]


@dataclass(frozen=True)
class CustomerWarning:
    """A customer whose invoices would go out flawed (a French buyer without SIREN)."""

    code: str
    customer_code: str
    customer_name: str
    count: int
    references: tuple[str, ...]


@dataclass(frozen=True)
class RunView:
    """A run as the console shows it: its counters, and for a dry run its window, what it sweeps in
    or leaves out, what it would send and what waits for a person, per kind."""

    run: RunRead
    would_send: tuple[KindFigure, ...]
    needing_a_human: tuple[KindFigure, ...]
    window: tuple[int, datetime, datetime | None] | None  # incident, start, end (local time)
    scope: tuple[ScopePart, ...]
    warnings: tuple[CustomerWarning, ...] = ()


def _figures(value: object) -> tuple[KindFigure, ...]:
    if not isinstance(value, dict):
        return ()
    figures = []
    for kind, data in value.items():
        if isinstance(data, dict):
            figures.append(KindFigure(kind, int(data.get("count", 0)), Decimal(str(data.get("gross", "0")))))
        elif isinstance(data, int):
            figures.append(KindFigure(kind, data, Decimal(0)))
        elif isinstance(data, list):
            figures.append(KindFigure(kind, len(data), Decimal(0)))
    return tuple(figures)


def run_views(session: Session, actor: Actor) -> list[RunView]:
    views = []
    for run in replay.list_runs(session, actor=actor, limit=10).items:
        summary: dict[str, Any] = dict(run.summary or {})
        scope = summary.get("scope")
        parts = tuple(
            ScopePart(part, int(found.get("count", 0)), tuple(found.get("references", ())))
            for part, found in (scope.items() if isinstance(scope, dict) else ())
            if isinstance(found, dict) and found.get("count")
        )
        window = summary.get("window")
        views.append(
            RunView(
                run,
                _figures(summary.get("would_send")),
                _figures(summary.get("needing_a_human")),
                _window(window),
                parts,
                _warnings(summary.get("warnings")),
            )
        )
    return views


def _warnings(value: object) -> tuple[CustomerWarning, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        CustomerWarning(
            str(found.get("code", "")),
            str(found.get("customer_code", "")),
            str(found.get("customer_name", "")),
            int(found.get("count", 0)),
            tuple(found.get("references", ())),
        )
        for found in value
        if isinstance(found, dict)
    )


def _window(window: object) -> tuple[int, datetime, datetime | None] | None:
    if not isinstance(window, dict) or not window.get("started_at"):
        return None
    ended = window.get("ended_at")
    return (
        int(window["incident_id"]),
        local_time(datetime.fromisoformat(window["started_at"])),
        local_time(datetime.fromisoformat(ended)) if ended else None,
    )


WAITING = ("held", "failed", "dead")
SCOPE_LABELS = {
    "in_window": "Saisis pendant l'incident",
    "before_window": "Saisis avant, pas encore dans l'ERP (repris aussi)",
    "included": "Inclus par la finance",
    "after_window": "Saisis après l'incident (hors de cette reprise : incluez-les)",
    "excluded": "Exclus par la finance (attendent)",
}


def waiting_items(session: Session, actor: Actor) -> list[ItemRead]:
    """What the replay cannot send and waits for a person: held, failed or given up."""
    return [
        item
        for status in WAITING
        for item in replay.list_items(session, actor=actor, status=status, limit=100)[0]
    ]


CHART_DAYS = 14
DOCUMENTS_PAGE = 50
SETTLED = (DocumentStatus.REPLAYED, DocumentStatus.VOID)


@router.get("/finance", response_class=HTMLResponse)
def console(request: Request, session: ReadSession, actor: Finance, error: str | None = None) -> HTMLResponse:
    since = business_moment(utcnow()).day - timedelta(days=CHART_DAYS - 1)
    days, rates = amounts_by_day_and_rate(session, since=since, settled=SETTLED)
    return render(
        request,
        "finance.html",
        actor=actor,
        top=banner(session),
        totals=totals_by_kind_and_status(session),
        chart=day_bars(days),
        rates=rates,
        runs=run_views(session, actor),
        waiting=waiting_items(session, actor),
        scope_labels=SCOPE_LABELS,
        error=error,
    )


@router.get("/finance/documents", response_class=HTMLResponse)
def documents(
    request: Request,
    session: ReadSession,
    actor: Finance,
    kind: str = "",
    status: str = "",
    customer: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Every deferred invoice and credit note, newest first, by kind, status and customer; each opens
    as the customer would read it (a proforma until the ERP gives its number)."""
    kinds, statuses = {k.value for k in DocumentKind}, {s.value for s in DocumentStatus}
    chosen = {"kind": kind if kind in kinds else "", "status": status if status in statuses else ""}
    page = invoicing.list_deferred_documents(
        session,
        actor=actor,
        kind=chosen["kind"] or None,
        status=chosen["status"] or None,
        customer_code=customer.strip() or None,
        before_id=decode_cursor(cursor),
        limit=DOCUMENTS_PAGE,
    )
    filters = {**chosen, "customer": customer.strip()}
    following = urlencode({**filters, "cursor": page.next_cursor}) if page.next_cursor else None
    return render(
        request,
        "finance_documents.html",
        actor=actor,
        top=banner(session),
        page=page,
        filters=filters,
        kinds=sorted(kinds),
        statuses=sorted(statuses),
        following=following,
    )


@router.get("/finance/documents/{key}.pdf")
def document_pdf(key: str, session: ReadSession, actor: Finance) -> Response:
    view = invoice_pdf.deferred_document_view(session, key=key, actor=actor)
    return file_response(
        render_invoice_pdf(view),
        filename=f"{view.number}.pdf",
        media_type="application/pdf",
        disposition="inline",
    )


@router.get("/finance/runs", response_class=HTMLResponse)
def run_list(request: Request, session: ReadSession, actor: Finance) -> HTMLResponse:
    """The runs' progress, polled by the console while a run is going."""
    return render(
        request, "finance_runs.html", actor=actor, runs=run_views(session, actor), scope_labels=SCOPE_LABELS
    )


@router.post("/finance/runs", dependencies=[Csrf])
async def start_run(
    actor: Finance,
    writes: Writes,
    background: BackgroundTasks,
    engine: Annotated[Engine, Depends(get_engine)],
    launcher: Annotated[Launcher, Depends(get_launcher)],
    dry_run: Annotated[bool, Form()] = True,
) -> RedirectResponse:
    run_id = await writes.write(lambda session: runs.start_run(session, actor=actor, dry_run=dry_run).id)
    background.add_task(launcher, run_id, engine)
    return RedirectResponse("/finance#runs", status_code=303)


def _dry(report: ReconciliationReport) -> str:
    """A dry run's report says so in its file name too: nobody files it as the replay's."""
    return "-simulation" if report.dry_run else ""


@router.get("/finance/runs/{run_id}/report.pdf")
def run_report_pdf(run_id: RowId, session: ReadSession, actor: Finance) -> Response:
    report = replay.run_report(session, run_id=run_id, actor=actor)
    return file_response(
        report_formats.report_pdf(report),
        filename=f"rapprochement-{run_id}{_dry(report)}.pdf",
        media_type="application/pdf",
    )


@router.get("/finance/runs/{run_id}/report.csv")
def run_report_csv(run_id: RowId, session: ReadSession, actor: Finance) -> Response:
    report = replay.run_report(session, run_id=run_id, actor=actor)
    return file_response(
        report_formats.report_csv(report),
        filename=f"rapprochement-{run_id}{_dry(report)}.csv",
        media_type="text/csv; charset=utf-8",
    )


@router.post("/finance/items/{item_id}/resolve", dependencies=[Csrf])
async def resolve_item(
    item_id: RowId,
    actor: Finance,
    writes: Writes,
    outcome: Annotated[Literal["keyed", "cancelled"], Form()],
    erp_reference: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Keyed into the ERP by hand (with its reference) or cancelled (with a reason)."""
    try:
        resolution = ItemResolve(outcome=outcome, erp_reference=erp_reference or None, reason=reason or None)
        await writes.write(
            lambda session: replay.resolve_item(session, item_id=item_id, resolution=resolution, actor=actor)
        )
    except (DomainError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "; ".join(e["msg"] for e in exc.errors())
        return RedirectResponse(f"/finance?{urlencode({'error': detail})}#waiting", status_code=303)
    return RedirectResponse("/finance#waiting", status_code=303)


@router.post("/finance/scope", dependencies=[Csrf])
async def change_scope(
    actor: Finance,
    writes: Writes,
    references: Annotated[str, Form(max_length=200_000)],
    action: Annotated[Literal["include", "exclude", "reset"], Form()],
) -> RedirectResponse:
    """Finance's word on the scope after a dry run, by references (one per line or separated by spaces)."""
    listed = references.replace(",", " ").split()
    try:
        change = ScopeChange(**{action: listed})
        await writes.write(lambda session: replay.change_scope(session, change=change, actor=actor))
    except (DomainError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "; ".join(e["msg"] for e in exc.errors())
        return RedirectResponse(f"/finance?{urlencode({'error': detail})}#runs", status_code=303)
    return RedirectResponse("/finance#runs", status_code=303)
