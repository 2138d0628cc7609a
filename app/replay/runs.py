"""Replay runs: starting one (at most one at a time, enforced by the database), executing it with its
workers, joining it from another process, finishing it, and reading its progress.

Lock: a run is a `replay_run` row in status `running`; a partial unique index allows one such row.
The run's heartbeat (every `replay_heartbeat_seconds`) keeps it; a run whose heartbeat is older than
`replay_lock_ttl_seconds` is taken for crashed, marked `abandoned` by the next start, and its items
still in flight are sent again (same key, same body: the ERP answers "already have it").

Scope: a run for an incident replays everything captured up to the incident's end (an earlier
incident's leftovers included: what it depends on always came before it); without an incident, or
for an incident still open, everything. Workers: on PostgreSQL `workers` claim loops share the run
(and `carnet replay --join` adds processes); on SQLite, one.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.clock import utcnow
from app.config import Settings, get_settings
from app.db import get_engine, session_scope
from app.errors import BusinessRuleViolation, Conflict, FieldError, InvalidInput, NotFound
from app.incidents import repository as incidents
from app.incidents.models import Incident
from app.replay import repository
from app.replay.connectors.base import Connector
from app.replay.engine import Progress, Tally, Worker, WorkerConfig
from app.replay.models import SETTLED, ReplayItem, ReplayRun, RunStatus
from app.replay.outbox import KINDS, sync_outbox
from app.replay.reports import dry_run_plan, incident_settled

log = logging.getLogger(__name__)
REPLAY_ROLES = (Role.FINANCE,)
CONNECTORS = ("http", "files")
ConnectorFactory = Callable[[ReplayRun, Settings], Connector]


def start_run(
    session: Session,
    *,
    actor: Actor,
    dry_run: bool = False,
    kinds: Sequence[str] | None = None,
    incident_id: int | None = None,
    all_incidents: bool = False,
    connector: str | None = None,
    workers: int = 1,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> ReplayRun:
    """Take the replay lock with a new run; `Conflict` while another run is alive."""
    actor.require(*REPLAY_ROLES)
    settings = settings or get_settings()
    now = now or utcnow()
    chosen = list(KINDS if kinds is None else kinds)
    if not chosen or set(chosen) - set(KINDS):
        raise InvalidInput(f"kinds are among {', '.join(KINDS)}", loc=("body", "kinds"))
    connector = connector or settings.replay_connector
    if connector not in CONNECTORS:
        raise InvalidInput(f"connector is one of {', '.join(CONNECTORS)}", loc=("body", "connector"))
    if connector == "http" and not dry_run and not (settings.erp_url and settings.erp_secret):
        raise BusinessRuleViolation("CARNET_ERP_URL and CARNET_ERP_SECRET must be set to replay over HTTP")
    if workers < 1:
        raise InvalidInput("workers is at least 1", loc=("body", "workers"))
    incident = _incident(session, incident_id=incident_id, all_incidents=all_incidents)
    repository.abandon_stale_runs(
        session, stale_before=now - timedelta(seconds=settings.replay_lock_ttl_seconds), now=now
    )
    run = ReplayRun(
        status=RunStatus.RUNNING,
        incident_id=incident.id if incident is not None else None,
        dry_run=dry_run,
        kinds=[kind for kind in KINDS if kind in chosen],
        connector=connector,
        workers=workers if session.get_bind().dialect.name == "postgresql" else 1,
        started_by=actor.name,
        started_at=now,
        heartbeat_at=now,
        sent=0,
        acknowledged=0,
        already_received=0,
        retried=0,
        failed=0,
        dead=0,
    )
    try:
        with session.begin_nested():
            session.add(run)
    except IntegrityError as exc:
        running = repository.running_run(session)
        which = f"replay run {running.id}" if running is not None else "another replay run"
        raise Conflict(f"{which} is running: one run at a time", slug="replay-running") from exc
    audit.record(
        session,
        actor=actor,
        action=Action.REPLAY_RUN_STARTED,
        subject="replay_run",
        ref=run.id,
        details={
            "dry_run": dry_run,
            "kinds": run.kinds,
            "incident": run.incident_id,
            "connector": connector,
        },
    )
    return run


def execute_run(
    run_id: int,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    connector_factory: ConnectorFactory | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
) -> str:
    """Run a started run to its end in this process: fill the outbox, send, finish. Returns the final
    status. `on_start` receives the number of items to send."""
    engine = engine or get_engine()
    settings = settings or get_settings()
    stop = stop or threading.Event()
    started = time.perf_counter()
    try:
        with session_scope(engine) as session:
            run, until = _run_and_scope(session, run_id)
            synced = sync_outbox(session, now=utcnow(), grouping=settings.invoice_grouping)
            repository.release_unsent(session, run_id=run_id)
            if run.dry_run:
                incident = incidents.get(session, run.incident_id) if run.incident_id is not None else None
                plan = dry_run_plan(session, incident=incident, until=until, kinds=run.kinds)
                plan["added_to_outbox"] = synced.added
                _finish(session, run_id, RunStatus.COMPLETED, summary=plan)
                # What a person withdrew since (a return cancelled) has just left the outbox.
                settle_incidents(session, until)
                return RunStatus.COMPLETED
            to_send = len(repository.open_items(session, until=until, kinds=run.kinds))
        sync_seconds = time.perf_counter() - started
        if on_start is not None:
            on_start(to_send)
        tally = _work(engine, run, until, settings, connector_factory, stop, progress, workers=run.workers)
        summary = {
            "added_to_outbox": synced.added,
            "removed_from_outbox": synced.removed,
            "timings": {"sync_seconds": round(sync_seconds, 3), **tally.timings()},
            "errors": tally.errors[:50],
        }
        with session_scope(engine) as session:
            status = _final_status(session, run, until)
            _finish(session, run_id, status, summary=summary)
            settle_incidents(session, until)
        return status
    except Exception as exc:
        log.exception("replay run %s failed", run_id)
        with session_scope(engine) as session:
            _finish(session, run_id, RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return RunStatus.FAILED


def join_run(
    run_id: int,
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    workers: int = 1,
    connector_factory: ConnectorFactory | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> Tally:
    """Lend this process's workers to a running run (PostgreSQL only); returns what they did."""
    engine = engine or get_engine()
    settings = settings or get_settings()
    if engine.dialect.name != "postgresql":
        raise BusinessRuleViolation(
            "only PostgreSQL lets several processes share a run; SQLite has one writer"
        )
    with session_scope(engine, write=False) as session:
        run, until = _run_and_scope(session, run_id)
        if run.status != RunStatus.RUNNING or run.dry_run:
            raise Conflict(
                f"replay run {run_id} is {run.status}{' (dry run)' if run.dry_run else ''}: nothing to join"
            )
    return _work(
        engine, run, until, settings, connector_factory, stop or threading.Event(), progress, workers=workers
    )


def make_connector(run: ReplayRun, settings: Settings) -> Connector:
    if run.connector == "files":
        from app.replay.connectors.files import FilesConnector, FilesConnectorConfig

        return FilesConnector(FilesConnectorConfig(folder=settings.replay_folder), run_id=f"run-{run.id}")
    from app.replay.connectors.http import HttpConnector, HttpConnectorConfig

    if not (settings.erp_url and settings.erp_secret):
        raise BusinessRuleViolation("CARNET_ERP_URL and CARNET_ERP_SECRET must be set to replay over HTTP")
    return HttpConnector(
        HttpConnectorConfig(
            base_url=settings.erp_url,
            secret=settings.erp_secret,
            connect_timeout=settings.erp_connect_timeout_seconds,
            read_timeout=settings.erp_read_timeout_seconds,
            max_connections=settings.replay_send_threads,
        )
    )


def _work(
    engine: Engine,
    run: ReplayRun,
    until: datetime | None,
    settings: Settings,
    connector_factory: ConnectorFactory | None,
    stop: threading.Event,
    progress: Progress | None,
    *,
    workers: int,
) -> Tally:
    skip_locked = engine.dialect.name == "postgresql"
    config = WorkerConfig.from_settings(
        settings, run_id=run.id, kinds=run.kinds, until=until, skip_locked=skip_locked
    )
    connector = (connector_factory or make_connector)(run, settings)
    pool = ThreadPoolExecutor(
        max_workers=settings.replay_send_threads, thread_name_prefix=f"replay{run.id}-send"
    )
    heartbeat = _Heartbeat(engine, run.id, settings.replay_heartbeat_seconds, stop)
    loops = [
        Worker(engine, config, connector=connector, pool=pool, stop=stop, progress=progress)
        for _ in range(workers if skip_locked else 1)
    ]
    tally = Tally()
    heartbeat.start()
    try:
        if len(loops) == 1:
            tally.add(loops[0].run())
        else:
            threads = [
                threading.Thread(target=loop.run, name=f"replay{run.id}-worker{n}")
                for n, loop in enumerate(loops)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for loop in loops:
                tally.add(loop.tally)
    finally:
        heartbeat.finish()
        pool.shutdown(wait=True)
        connector.close()
    if heartbeat.lost:
        raise RuntimeError("the run lost its lock (its heartbeat was late): another run took over")
    return tally


class _Heartbeat(threading.Thread):
    """Keeps the run's lock alive; stops the workers if another run took it over."""

    def __init__(self, engine: Engine, run_id: int, interval: float, stop: threading.Event) -> None:
        super().__init__(name=f"replay{run_id}-heartbeat", daemon=True)
        self._engine, self._run_id, self._interval, self._halt = engine, run_id, interval, stop
        self._done = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self._done.wait(self._interval):
            try:
                with session_scope(self._engine) as session:
                    alive = repository.touch_run(session, self._run_id, now=utcnow())
            except Exception:
                log.exception("heartbeat of replay run %s", self._run_id)
                continue
            if not alive:
                self.lost = True
                self._halt.set()
                return

    def finish(self) -> None:
        self._done.set()
        self.join()


def _incident(session: Session, *, incident_id: int | None, all_incidents: bool) -> Incident | None:
    if all_incidents:
        return None
    if incident_id is None:
        return incidents.latest(session)
    incident = incidents.get(session, incident_id)
    if incident is None:
        raise NotFound(
            f"no incident {incident_id}", errors=[FieldError(("body", "incident_id"), "unknown incident")]
        )
    return incident


def scope_until(incident: Incident | None) -> datetime | None:
    return incident.ended_at if incident is not None and not incident.is_open else None


def _run_and_scope(session: Session, run_id: int) -> tuple[ReplayRun, datetime | None]:
    run = repository.get_run(session, run_id)
    if run is None:
        raise NotFound(f"no replay run {run_id}")
    incident = incidents.get(session, run.incident_id) if run.incident_id is not None else None
    return run, scope_until(incident)


def _final_status(session: Session, run: ReplayRun, until: datetime | None) -> str:
    left = session.execute(
        select(func.count()).where(
            ReplayItem.kind.in_(run.kinds),
            repository.in_scope(until),
            ReplayItem.status.not_in(SETTLED),
        )
    ).scalar_one()
    return RunStatus.INCOMPLETE if left else RunStatus.COMPLETED


def _finish(
    session: Session,
    run_id: int,
    status: str,
    *,
    summary: dict[str, Any] | None = None,
    error: str | None = None,
) -> None:
    session.execute(
        update(ReplayRun)
        .where(ReplayRun.id == run_id, ReplayRun.status == RunStatus.RUNNING)
        .values(status=status, finished_at=utcnow(), summary=summary, error=error)
    )


def settle_incidents(session: Session, until: datetime | None = None) -> None:
    """Ended incidents whose every document is now in the ERP or resolved by a person: the system
    leaves `recovering`. After a run, and after a person resolved what the run could not send."""
    now = utcnow()
    for incident in incidents.ended_not_replayed(session, ended_by=until):
        if incident_settled(session, incident):
            incident.replayed_at = now
    session.flush()
