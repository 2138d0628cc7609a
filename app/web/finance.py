"""Finance's console: what is deferred, a chart of what was captured and what still waits, and the
replay into the ERP (dry run, run, live progress, the reconciliation to download)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.api import ReadSession, RowId, Writes
from app.auth.service import Actor
from app.clock import utcnow
from app.db import get_engine
from app.invoicing.models import DocumentStatus
from app.invoicing.summary import amounts_by_day_and_rate, totals_by_kind_and_status
from app.numbering import business_moment
from app.replay import report_formats, runs
from app.replay import service as replay
from app.replay.routes import Launcher, get_launcher
from app.replay.schemas import RunRead
from app.web.chart import day_bars
from app.web.pages import banner, render
from app.web.session import Csrf, Finance

router = APIRouter()


@dataclass(frozen=True)
class KindFigure:
    kind: str
    count: int
    gross: Decimal


@dataclass(frozen=True)
class RunView:
    """A run as the console shows it: its counters, and for a dry run what it would send and what
    waits for a person, per kind."""

    run: RunRead
    would_send: tuple[KindFigure, ...]
    needing_a_human: tuple[KindFigure, ...]


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
        summary = run.summary or {}
        views.append(
            RunView(run, _figures(summary.get("would_send")), _figures(summary.get("needing_a_human")))
        )
    return views


CHART_DAYS = 14
SETTLED = (DocumentStatus.REPLAYED, DocumentStatus.VOID)


@router.get("/finance", response_class=HTMLResponse)
def console(request: Request, session: ReadSession, actor: Finance) -> HTMLResponse:
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
    )


@router.get("/finance/runs", response_class=HTMLResponse)
def run_list(request: Request, session: ReadSession, actor: Finance) -> HTMLResponse:
    """The runs' progress, polled by the console while a run is going."""
    return render(request, "finance_runs.html", actor=actor, runs=run_views(session, actor))


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


@router.get("/finance/runs/{run_id}/report.pdf")
def run_report_pdf(run_id: RowId, session: ReadSession, actor: Finance) -> Response:
    report = replay.run_report(session, run_id=run_id, actor=actor)
    return Response(
        report_formats.report_pdf(report),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="rapprochement-{run_id}.pdf"'},
    )


@router.get("/finance/runs/{run_id}/report.csv")
def run_report_csv(run_id: RowId, session: ReadSession, actor: Finance) -> Response:
    report = replay.run_report(session, run_id=run_id, actor=actor)
    return Response(
        report_formats.report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="rapprochement-{run_id}.csv"'},
    )
