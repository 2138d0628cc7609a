"""Replay endpoints (finance and admins): start a run, follow it, retry what failed, read the
reconciliation report as JSON, CSV or PDF."""

import threading
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from sqlalchemy import Engine

from app.api import ReadSession, RowId, Writes
from app.auth.dependencies import CurrentActor
from app.db import get_engine
from app.downloads import file_response
from app.pagination import Cursor, Limit, Page, decode_cursor
from app.replay import report_formats, runs, service
from app.replay.models import ReplayRun
from app.replay.schemas import (
    ItemRead,
    ItemResolve,
    ReconciliationReport,
    RunCreate,
    RunPage,
    RunRead,
    RunStarted,
    ScopeChange,
    ScopeChanged,
)

router = APIRouter(tags=["replay"])
ReportFormat = Annotated[Literal["json", "csv", "pdf"], Query(alias="format")]
ReportLanguage = Annotated[Literal["fr", "en"], Query(alias="lang", description="the report's one language")]
Launcher = Callable[[int, Engine], None]


def launch_in_thread(run_id: RowId, engine: Engine) -> None:
    """Execute the run in a thread of this process; a process that dies leaves the run to expire
    (its heartbeat stops) and the next run resumes it."""
    threading.Thread(
        target=runs.execute_run,
        args=(run_id,),
        kwargs={"engine": engine},
        name=f"replay{run_id}",
        daemon=True,
    ).start()


def get_launcher() -> Launcher:
    return launch_in_thread


@router.post("/replay-runs", status_code=202, responses={403: {}, 409: {}, 422: {}})
async def start_replay_run(
    body: RunCreate,
    actor: CurrentActor,
    writes: Writes,
    background: BackgroundTasks,
    engine: Annotated[Engine, Depends(get_engine)],
    launcher: Annotated[Launcher, Depends(get_launcher)],
) -> RunStarted:
    """Start a replay into the ERP, run in the background: follow it with `GET /replay-runs/{id}`.
    One run at a time (409 otherwise). A dry run sends nothing and reports what would be sent."""
    started = await writes.write(
        lambda session: _started(
            runs.start_run(
                session,
                actor=actor,
                dry_run=body.dry_run,
                kinds=body.kinds,
                incident_id=body.incident_id,
                all_incidents=body.all_incidents,
                workers=body.workers,
            )
        )
    )
    background.add_task(launcher, started.id, engine)
    return started


def _started(run: ReplayRun) -> RunStarted:
    return RunStarted(id=run.id, status=run.status)


@router.get("/replay-runs", responses={403: {}})
def list_replay_runs(
    session: ReadSession, actor: CurrentActor, limit: Limit = 20, cursor: Cursor = None
) -> RunPage:
    return service.list_runs(session, actor=actor, before_id=decode_cursor(cursor), limit=limit)


@router.get("/replay-runs/{run_id}", responses={403: {}, 404: {}})
def get_replay_run(run_id: RowId, session: ReadSession, actor: CurrentActor) -> RunRead:
    """Progress: the run's own counters, its scope's items per kind and status, the latest errors."""
    return service.get_run(session, run_id=run_id, actor=actor)


@router.get("/replay-runs/{run_id}/report", responses={403: {}, 404: {}})
def get_run_report(
    run_id: RowId,
    session: ReadSession,
    actor: CurrentActor,
    output: ReportFormat = "json",
    lang: ReportLanguage = "fr",
) -> ReconciliationReport:
    """The reconciliation of the run's incident: `?format=csv` for a spreadsheet, `pdf` for the auditor;
    `?lang=fr|en` for the language of the whole report (French by default)."""
    report = service.run_report(session, run_id=run_id, actor=actor, lang=lang)
    return _report_answer(report, output, f"replay-run-{run_id}")  # type: ignore[return-value]


@router.get("/incidents/{incident_id}/report", responses={403: {}, 404: {}})
def get_incident_report(
    incident_id: RowId,
    session: ReadSession,
    actor: CurrentActor,
    output: ReportFormat = "json",
    lang: ReportLanguage = "fr",
) -> ReconciliationReport:
    report = service.incident_report(session, incident_id=incident_id, actor=actor, lang=lang)
    return _report_answer(report, output, f"incident-{incident_id}")  # type: ignore[return-value]


@router.get("/replay-items", responses={403: {}})
def list_replay_items(
    session: ReadSession,
    actor: CurrentActor,
    status: str | None = None,
    kind: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ItemRead]:
    items, next_cursor = service.list_items(
        session, actor=actor, status=status, kind=kind, before_id=decode_cursor(cursor), limit=limit
    )
    return Page[ItemRead](items=items, next_cursor=next_cursor)


@router.post("/replay-items/{item_id}/retry", responses={403: {}, 404: {}, 409: {}})
async def retry_replay_item(item_id: RowId, actor: CurrentActor, writes: Writes) -> ItemRead:
    """Send a failed or dead item again at the next run."""
    return await writes.write(lambda session: service.retry_item(session, item_id=item_id, actor=actor))


@router.post("/replay-items/scope", responses={403: {}, 422: {}})
async def change_replay_scope(body: ScopeChange, actor: CurrentActor, writes: Writes) -> ScopeChanged:
    """After a dry run showed the scope: include items captured outside the run's window, exclude
    items finance holds back (they wait, listed, until included again or resolved by hand)."""
    return await writes.write(lambda session: service.change_scope(session, change=body, actor=actor))


@router.post("/replay-items/{item_id}/resolve", responses={403: {}, 404: {}, 409: {}, 422: {}})
async def resolve_replay_item(
    item_id: RowId, body: ItemResolve, actor: CurrentActor, writes: Writes
) -> ItemRead:
    """A person settles an item the replay cannot send: `keyed` into the ERP by hand (with its ERP
    reference) or `cancelled` (with a reason). The system is normal again once nothing waits."""
    return await writes.write(
        lambda session: service.resolve_item(session, item_id=item_id, resolution=body, actor=actor)
    )


def _report_answer(report: ReconciliationReport, output: str, name: str) -> ReconciliationReport | Response:
    if output == "csv":
        return file_response(
            report_formats.report_csv(report), filename=f"{name}.csv", media_type="text/csv; charset=utf-8"
        )
    if output == "pdf":
        return file_response(
            report_formats.report_pdf(report),
            filename=f"{name}.pdf",
            media_type="application/pdf",
            disposition="inline",
        )
    return report
