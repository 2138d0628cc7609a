"""Replay use cases behind the API and the command line: runs, items, reports. Finance only (and
admins); reps, warehouse staff and partners are refused."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.service import Actor
from app.clock import utcnow
from app.config import Settings, get_settings
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.incidents import repository as incidents
from app.invoicing.models import DeferredDocument, DocumentStatus
from app.pagination import next_cursor
from app.replay import repository
from app.replay.models import ItemScope, ItemStatus, ReplayItem, ReplayRecapMember, ReplayRun, RunStatus
from app.replay.reports import reconciliation
from app.replay.runs import REPLAY_ROLES, scope_until, settle_incidents
from app.replay.schemas import (
    ItemRead,
    ItemResolve,
    ReconciliationReport,
    RunPage,
    RunRead,
    ScopeChange,
    ScopeChanged,
    StatusCounts,
)
from app.replay.wording import ReportLang

RECENT_ERRORS = 20


def get_run(session: Session, *, run_id: int, actor: Actor) -> RunRead:
    actor.require(*REPLAY_ROLES)
    return run_read(session, _run(session, run_id))


def list_runs(session: Session, *, actor: Actor, before_id: int | None = None, limit: int = 50) -> RunPage:
    actor.require(*REPLAY_ROLES)
    runs = repository.list_runs(session, before_id=before_id, limit=limit)
    return RunPage(
        items=[run_read(session, run) for run in runs],
        next_cursor=next_cursor(runs, limit),
    )


def run_read(session: Session, run: ReplayRun) -> RunRead:
    """The run and the state of its scope's items, per kind and status."""
    incident = incidents.get(session, run.incident_id) if run.incident_id is not None else None
    until = scope_until(incident)
    counts = {kind: StatusCounts(kind=kind) for kind in run.kinds}
    totals = StatusCounts(kind="all")
    for kind, status, number in repository.count_by_kind_and_status(session, incident_id=None, until=until):
        if kind in counts and status in ItemStatus.__members__.values():
            for target in (counts[kind], totals):
                setattr(target, status, getattr(target, status) + number)
                target.total += number
    errors = session.execute(
        select(ReplayItem.reference, ReplayItem.status, ReplayItem.last_error)
        .where(
            ReplayItem.last_error.is_not(None),
            ReplayItem.kind.in_(run.kinds),
            repository.in_scope(until),
            ReplayItem.status != ItemStatus.ACKNOWLEDGED,
        )
        .order_by(ReplayItem.id.desc())
        .limit(RECENT_ERRORS)
    ).all()
    return RunRead(
        id=run.id,
        status=run.status,
        dry_run=run.dry_run,
        kinds=run.kinds,
        incident_id=run.incident_id,
        connector=run.connector,
        workers=run.workers,
        started_by=run.started_by,
        started_at=run.started_at,
        heartbeat_at=run.heartbeat_at,
        finished_at=run.finished_at,
        progress_percent=round(100 * totals.acknowledged / totals.total, 1) if totals.total else 100.0,
        sent=run.sent,
        acknowledged=run.acknowledged,
        already_received=run.already_received,
        retried=run.retried,
        failed=run.failed,
        dead=run.dead,
        counts=list(counts.values()),
        totals=totals,
        errors=[f"{reference} ({status}): {error}" for reference, status, error in errors],
        summary=run.summary,
        error=run.error,
    )


def list_items(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    kind: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> tuple[list[ItemRead], str | None]:
    actor.require(*REPLAY_ROLES)
    query = select(ReplayItem).order_by(ReplayItem.id.desc()).limit(limit)
    if status:
        query = query.where(ReplayItem.status == status)
    if kind:
        query = query.where(ReplayItem.kind == kind)
    if before_id is not None:
        query = query.where(ReplayItem.id < before_id)
    items = list(session.execute(query).scalars())
    cursor = next_cursor(items, limit)
    return [item_read(item) for item in items], cursor


def retry_item(session: Session, *, item_id: int, actor: Actor) -> ItemRead:
    """Send a failed or dead item again at the next run, with a fresh budget of attempts. A failed
    one (refused by the ERP, so not stored there) is rebuilt from the current data; a dead one keeps
    its body, which the ERP may hold already."""
    actor.require(*REPLAY_ROLES)
    item = repository.get_item(session, item_id, lock=True)
    if item is None:
        raise NotFound(f"no replay item {item_id}", errors=[FieldError(("path", "id"), "unknown item")])
    if item.status not in (ItemStatus.FAILED, ItemStatus.DEAD):
        raise Conflict(f"replay item {item_id} is {item.status}: only failed or dead items are retried")
    if item.status == ItemStatus.FAILED:
        item.payload = None
    audit.record(
        session,
        actor=actor,
        action=Action.DOCUMENT_RETRIED,
        subject=item.kind,
        ref=item.reference,
        details={"status_before": item.status},
    )
    item.status = ItemStatus.PENDING
    item.attempts = 0
    item.next_attempt_at = None
    session.flush()
    return item_read(item)


def change_scope(session: Session, *, change: ScopeChange, actor: Actor) -> ScopeChanged:
    """Include or exclude items before a run (after a dry run showed its scope). An excluded item
    waits, listed as such, until it is included again or resolved by hand: never dropped."""
    actor.require(*REPLAY_ROLES)
    asked = [*change.include, *change.exclude, *change.reset]
    if len(set(asked)) != len(asked):
        raise InvalidInput("a reference is given twice", loc=("body",))
    included = repository.set_scope(session, references=change.include, scope=ItemScope.INCLUDED)
    excluded = repository.set_scope(session, references=change.exclude, scope=ItemScope.EXCLUDED)
    reset = repository.set_scope(session, references=change.reset, scope=None)
    done = {*included, *excluded, *reset}
    if done:
        audit.record(
            session,
            actor=actor,
            action=Action.REPLAY_SCOPE_CHANGED,
            subject="replay_scope",
            ref="outbox",
            details={"included": sorted(included), "excluded": sorted(excluded), "reset": sorted(reset)},
        )
    return ScopeChanged(
        included=sorted(included),
        excluded=sorted(excluded),
        reset=sorted(reset),
        not_changed=[reference for reference in asked if reference not in done],
    )


RESOLVABLE = (ItemStatus.PENDING, ItemStatus.HELD, ItemStatus.FAILED, ItemStatus.DEAD)


def resolve_item(
    session: Session, *, item_id: int, resolution: ItemResolve, actor: Actor, now: datetime | None = None
) -> ItemRead:
    """A person settles what the replay could not: keyed into the ERP by hand (acknowledged, with the
    ERP's reference; what depends on it may then be sent) or cancelled with a reason (its deferred
    documents are voided, never deleted). An item a run holds, or already settled, is refused."""
    actor.require(*REPLAY_ROLES)
    now = now or utcnow()
    item = repository.get_item(session, item_id, lock=True)
    if item is None:
        raise NotFound(f"no replay item {item_id}", errors=[FieldError(("path", "id"), "unknown item")])
    if item.status not in RESOLVABLE:
        raise Conflict(
            f"replay item {item.reference} is {item.status}: only an item waiting for the ERP or for a "
            "person is resolved by hand",
            slug="item-not-resolvable",
        )
    keyed = resolution.outcome == "keyed"
    if keyed and not resolution.erp_reference:
        raise InvalidInput("the ERP's reference of the document keyed by hand", loc=("body", "erp_reference"))
    if not keyed and not resolution.reason:
        raise InvalidInput("why the document does not go to the ERP", loc=("body", "reason"))
    item.status = ItemStatus.ACKNOWLEDGED if keyed else ItemStatus.CANCELLED
    item.erp_reference = resolution.erp_reference if keyed else None
    item.acknowledged_at = now if keyed else None
    item.next_attempt_at = item.claimed_by = item.claimed_until = None
    item.resolved_by, item.resolved_at, item.resolution_note = actor.name, now, resolution.reason
    document_ids = (
        [item.document_id]
        if item.document_id
        else list(
            session.execute(
                select(ReplayRecapMember.document_id).where(ReplayRecapMember.item_id == item.id)
            ).scalars()
        )
    )
    for document in session.execute(
        select(DeferredDocument).where(DeferredDocument.id.in_(document_ids)).with_for_update()
    ).scalars():
        if keyed:
            document.status = DocumentStatus.REPLAYED
            document.final_number = document.final_number or resolution.erp_reference
        else:
            document.status = DocumentStatus.VOID
            document.voided_at, document.void_reason = now, resolution.reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.DOCUMENT_RESOLVED,
        subject=item.kind,
        ref=item.reference,
        details={
            "outcome": resolution.outcome,
            "erp_reference": resolution.erp_reference,
            "reason": resolution.reason,
        },
    )
    settle_incidents(session)
    return item_read(item)


def retry_given_up(session: Session, *, actor: Actor, run: ReplayRun) -> int:
    """Every failed and dead item of a run's scope pending again (`carnet replay --retry-failed`)."""
    actor.require(*REPLAY_ROLES)
    incident = incidents.get(session, run.incident_id) if run.incident_id is not None else None
    count = repository.retry_given_up(session, until=scope_until(incident))
    if count:
        audit.record(
            session,
            actor=actor,
            action=Action.DOCUMENT_RETRIED,
            subject="replay_run",
            ref=run.id,
            details={"documents": count},
        )
    return count


def run_report(
    session: Session,
    *,
    run_id: int,
    actor: Actor,
    settings: Settings | None = None,
    now: datetime | None = None,
    lang: ReportLang = "fr",
) -> ReconciliationReport:
    """The reconciliation of the run's incident (everything, for a run without one), as it stands now."""
    actor.require(*REPLAY_ROLES)
    run = _run(session, run_id)
    incident = incidents.get(session, run.incident_id) if run.incident_id is not None else None
    return reconciliation(
        session,
        incident=incident,
        settings=settings or get_settings(),
        now=now or utcnow(),
        run_id=run.id,
        dry_run=run.dry_run,
        lang=lang,
    )


def incident_report(
    session: Session,
    *,
    incident_id: int,
    actor: Actor,
    settings: Settings | None = None,
    now: datetime | None = None,
    lang: ReportLang = "fr",
) -> ReconciliationReport:
    actor.require(*REPLAY_ROLES)
    incident = incidents.get(session, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", errors=[FieldError(("path", "id"), "unknown incident")])
    latest = session.execute(
        select(ReplayRun.id, ReplayRun.dry_run)
        .where(ReplayRun.incident_id == incident_id, ReplayRun.status != RunStatus.RUNNING)
        .order_by(ReplayRun.id.desc())
        .limit(1)
    ).first()
    return reconciliation(
        session,
        incident=incident,
        settings=settings or get_settings(),
        now=now or utcnow(),
        run_id=latest.id if latest is not None else None,
        dry_run=latest is not None and latest.dry_run,
        lang=lang,
    )


def item_read(item: ReplayItem) -> ItemRead:
    return ItemRead(
        id=item.id,
        kind=item.kind,
        reference=item.reference,
        idempotency_key=item.idempotency_key,
        status=item.status,
        attempts=item.attempts,
        last_error=item.last_error,
        next_attempt_at=item.next_attempt_at,
        final_number=item.final_number,
        erp_reference=item.erp_reference,
        acknowledged_at=item.acknowledged_at,
        resolved_by=item.resolved_by,
        resolved_at=item.resolved_at,
        resolution_note=item.resolution_note,
    )


def _run(session: Session, run_id: int) -> ReplayRun:
    run = repository.get_run(session, run_id)
    if run is None:
        raise NotFound(f"no replay run {run_id}", errors=[FieldError(("path", "id"), "unknown replay run")])
    return run
