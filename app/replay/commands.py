"""`carnet replay` and `carnet incidents`: the command-line side of replay and incidents.

    carnet replay [--dry-run] [--kind order|invoice|credit_note ...] [--connector http|files]
                  [--workers N] [--incident ID | --all] [--retry-failed] [--wait SECONDS] [--report FILE]
                  [--lang fr|en]
    carnet replay --join RUN_ID [--workers N]       (PostgreSQL: lend this process to a running run)
    carnet incidents start --reason TEXT [--started-at WHEN] | end ID [--ended-at WHEN] | list

Exit status of `replay`: 0 completed, 1 ended with items failed, dead or blocked, 2 refused (another run
is running, bad arguments), 3 the run itself failed.
"""

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from app.audit.service import command_line
from app.auth.service import Actor
from app.db import session_scope
from app.errors import Conflict, DomainError
from app.replay.engine import Tally
from app.replay.outbox import KINDS

START_RETRY_SECONDS = 0.5
SCOPE_PARTS = {
    "in_window": "captured in the incident's window",
    "before_window": "captured before it, not in the ERP yet (swept in)",
    "included": "included by finance",
    "after_window": "captured after the window (outside this run: include them, or replay --all)",
    "excluded": "excluded by finance (waiting)",
}


def cli_actor() -> Actor:
    """Whoever runs the command on the server acts as an administrator, named after their account."""
    return Actor(kind="command_line", id=0, name=f"cli:{command_line().name}"[:64], role="admin")


def add_commands(commands: Any) -> None:
    replay = commands.add_parser(
        "replay",
        help="replay what was captured into the ERP",
        description="Replay orders, then invoices, then credit notes into the ERP, each once, and end with "
        "a summary. Exit status: 0 completed, 1 items left (failed, dead or blocked), 2 refused, 3 failed.",
    )
    replay.add_argument("--dry-run", action="store_true", help="send nothing; report what would be sent")
    replay.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    replay.add_argument("--connector", choices=["http", "files"], help="default: CARNET_REPLAY_CONNECTOR")
    replay.add_argument("--workers", type=int, default=1, help="claim loops sharing the run (PostgreSQL)")
    scope = replay.add_mutually_exclusive_group()
    scope.add_argument("--incident", type=int, metavar="ID", help="default: the latest incident")
    scope.add_argument("--all", action="store_true", help="everything captured, in or out of incidents")
    scope.add_argument("--join", type=int, metavar="RUN_ID", help="lend this process to a running run")
    replay.add_argument("--retry-failed", action="store_true", help="send failed and dead items again")
    replay.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="wait this long for a running run to end"
    )
    replay.add_argument(
        "--report", type=Path, metavar="FILE", help="write the reconciliation (.json .csv .pdf)"
    )
    replay.add_argument("--lang", choices=["fr", "en"], default="fr", help="the report's language")
    replay.set_defaults(handler=_replay)

    incidents = commands.add_parser("incidents", help="ERP outages").add_subparsers(
        dest="incidents_command", required=True
    )
    start = incidents.add_parser("start", help="declare an outage (may have started earlier)")
    start.add_argument("--reason", required=True)
    start.add_argument("--started-at", type=_moment, metavar="WHEN", help="ISO 8601, default now")
    start.set_defaults(handler=_incidents_start)
    end = incidents.add_parser("end", help="the ERP is back")
    end.add_argument("id", type=int)
    end.add_argument("--ended-at", type=_moment, metavar="WHEN", help="ISO 8601, default now")
    end.set_defaults(handler=_incidents_end)
    incidents.add_parser("list", help="incidents, newest first").set_defaults(handler=_incidents_list)


def _replay(args: argparse.Namespace) -> int:
    from app.replay import runs, service

    stop = threading.Event()
    with _stopping_on_signals(stop):
        try:
            if args.join is not None:
                with _progress(f"joining replay run {args.join}") as (on_start, progress):
                    tally = runs.join_run(args.join, workers=args.workers, stop=stop, progress=progress)
                print(f"joined replay run {args.join}: {_tally_line(tally)}")
                return 0
            run_id = _start(args, stop)
        except DomainError as exc:
            print(f"error: {exc.detail}", file=sys.stderr)
            return 2
        started = time.monotonic()
        with _progress(f"replay run {run_id}") as (on_start, progress):
            status = runs.execute_run(run_id, stop=stop, progress=progress, on_start=on_start)
        elapsed = time.monotonic() - started
    actor = cli_actor()
    with session_scope(write=False) as session:
        run = service.get_run(session, run_id=run_id, actor=actor)
        if args.report is not None:
            _write_report(session, run_id, actor, args.report, args.lang)
    _print_summary(run, elapsed)
    return {"completed": 0, "incomplete": 1}.get(status, 3)


def _start(args: argparse.Namespace, stop: threading.Event) -> int:
    from app.replay import runs, service

    deadline = time.monotonic() + max(args.wait, 0.0)
    while True:
        try:
            with session_scope() as session:
                run = runs.start_run(
                    session,
                    actor=cli_actor(),
                    dry_run=args.dry_run,
                    kinds=args.kind,
                    incident_id=args.incident,
                    all_incidents=args.all,
                    connector=args.connector,
                    workers=args.workers,
                )
                if args.retry_failed and not args.dry_run:
                    again = service.retry_given_up(session, actor=cli_actor(), run=run)
                    print(f"{again} failed or dead item(s) to send again", file=sys.stderr)
                return run.id
        except Conflict:
            # A crashed run's lock expires with its heartbeat: wait for it when asked to.
            if time.monotonic() >= deadline or stop.is_set():
                raise
            stop.wait(START_RETRY_SECONDS)


def _write_report(session: Any, run_id: int, actor: Actor, path: Path, lang: str) -> None:
    from app.replay import report_formats, service

    report = service.run_report(session, run_id=run_id, actor=actor, lang="en" if lang == "en" else "fr")
    if path.suffix == ".csv":
        path.write_text(report_formats.report_csv(report), encoding="utf-8")
    elif path.suffix == ".pdf":
        path.write_bytes(report_formats.report_pdf(report))
    else:
        path.write_text(report.model_dump_json(indent=2), encoding="utf-8")


def _print_summary(run: Any, elapsed: float) -> None:
    kind = "dry run" if run.dry_run else "replay run"
    print(
        f"{kind} {run.id} {run.status} in {elapsed:.1f} s: {run.sent} sent, "
        f"{run.acknowledged} acknowledged ({run.already_received} already received), "
        f"{run.retried} retried, {run.failed} failed, {run.dead} dead"
    )
    for counts in run.counts:
        print(
            f"  {counts.kind:<12} {counts.acknowledged}/{counts.total} acknowledged, "
            f"{counts.pending} pending, "
            f"{counts.in_flight} in flight, {counts.failed} failed, {counts.dead} dead"
        )
    if run.dry_run and run.summary:
        window = run.summary.get("window")
        if window:
            print(
                f"  incident {window['incident_id']}: {window['started_at']} → {window['ended_at'] or 'open'}"
            )
        for part, found in run.summary.get("scope", {}).items():
            if found["count"]:
                shown = ", ".join(found["references"][:5]) + (" …" if found["count"] > 5 else "")
                print(f"  {SCOPE_PARTS[part]}: {found['count']} ({shown})")
        for kind_name, figures in run.summary.get("would_send", {}).items():
            print(
                f"  would send {figures['count']} {kind_name}: net {figures['net']}, VAT {figures['vat']}, "
                f"gross {figures['gross']}"
            )
        print("  include or exclude before the real run: POST /api/v1/replay-items/scope")
    for error in run.errors[:10]:
        print(f"  ! {error}")
    if run.error:
        print(f"  run error: {run.error}")
    print(f"report: GET /api/v1/replay-runs/{run.id}/report (?format=csv or pdf)")


def _tally_line(tally: Tally) -> str:
    return (
        f"{tally.sent} sent, {tally.acknowledged} acknowledged ({tally.already_received} already received), "
        f"{tally.retried} retried, {tally.failed} failed, {tally.dead} dead"
    )


@contextmanager
def _progress(
    title: str,
) -> Iterator[tuple[Callable[[int], None], Callable[[Tally], None] | None]]:
    """A progress bar on a terminal's stderr, nothing otherwise (logs, pipes, tests)."""
    if not sys.stderr.isatty():
        yield (lambda _total: None), None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(title, total=None)
        done = Tally()
        lock = threading.Lock()

        def on_start(total: int) -> None:
            bar.update(task, total=total)

        def progress(tally: Tally) -> None:
            with lock:
                done.add(tally)
                settled = done.acknowledged + done.failed + done.dead
                bar.update(
                    task,
                    completed=settled,
                    description=f"{title}: {done.acknowledged} acknowledged, {done.retried} retried, "
                    f"{done.failed + done.dead} given up",
                )

        yield on_start, progress


@contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop claiming, record what is on the wire, end the run cleanly."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(_signum: int, _frame: object) -> None:
        print("stopping: recording what was sent...", file=sys.stderr)
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _incidents_start(args: argparse.Namespace) -> int:
    from app.incidents import service

    try:
        with session_scope() as session:
            incident = service.declare_incident(
                session, reason=args.reason, started_at=args.started_at, actor=cli_actor()
            )
            print(f"incident {incident.id} declared, started {incident.started_at:%Y-%m-%d %H:%M} UTC")
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


def _incidents_end(args: argparse.Namespace) -> int:
    from app.incidents import service

    try:
        with session_scope() as session:
            incident = service.end_incident(
                session, incident_id=args.id, ended_at=args.ended_at, actor=cli_actor()
            )
            assert incident.ended_at is not None
            print(f"incident {incident.id} ended {incident.ended_at:%Y-%m-%d %H:%M} UTC: now `carnet replay`")
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


def _incidents_list(_args: argparse.Namespace) -> int:
    from app.incidents import service

    with session_scope(write=False) as session:
        page = service.list_incidents(session, limit=500)
    for incident in page.items:
        ended = f"{incident.ended_at:%Y-%m-%d %H:%M}" if incident.ended_at else "open"
        print(
            f"{incident.id:>5}  {incident.state:<8}  {incident.started_at:%Y-%m-%d %H:%M} → {ended}  "
            f"{incident.reason}"
        )
    return 0


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone: 2026-11-20T03:00+01:00 or ...Z")
    return moment
