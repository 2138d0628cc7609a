"""Queries of the replay outbox and its runs. Hot paths (claims, outcomes) use Core statements on
whole batches: one statement per step, executemany for per-item values."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import takewhile
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Row,
    Table,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from app.delivery.models import DeliveryNote, DeliveryNoteStatus
from app.invoicing.models import DeferredDocument, DocumentKind, DocumentStatus
from app.replay.models import (
    SETTLED,
    ItemScope,
    ItemStatus,
    ReplayDependency,
    ReplayItem,
    ReplayRecapMember,
    ReplayRun,
    RunStatus,
)

# Declarative `__table__` is typed as any FromClause; these models are declared with a Table.
ITEM = cast(Table, ReplayItem.__table__)
DEPENDENCY = cast(Table, ReplayDependency.__table__)
MEMBER = cast(Table, ReplayRecapMember.__table__)
DOCUMENT = cast(Table, DeferredDocument.__table__)
RUN = cast(Table, ReplayRun.__table__)
OUTSTANDING = (ItemStatus.PENDING, ItemStatus.IN_FLIGHT, ItemStatus.FAILED, ItemStatus.DEAD)
# Items of an ERP-numbered series not sent yet, and dependencies that only a person can unblock.
SERIES_OPEN = (ItemStatus.PENDING, ItemStatus.IN_FLIGHT)
GIVEN_UP = (ItemStatus.FAILED, ItemStatus.DEAD, ItemStatus.HELD, ItemStatus.CANCELLED)


def _execute_dml(session: Session, statement: Executable) -> CursorResult[Any]:
    """Run an UPDATE or DELETE. `Session.execute` is typed as returning a `Result`; for these
    statements it is a `CursorResult`, which has the `rowcount`."""
    return cast(CursorResult[Any], session.execute(statement))


def in_scope(until: datetime | None) -> Any:
    """Items a run may send: everything captured up to the end of its incident (dependencies always
    come earlier: an order before its delivery note, an invoice before the return it corrects), and
    what finance included after a dry run; never what finance excluded."""
    not_excluded = ITEM.c.scope.is_(None) | (ITEM.c.scope != ItemScope.EXCLUDED)
    if until is None:
        return not_excluded
    return ((ITEM.c.issued_at <= until) | (ITEM.c.scope == ItemScope.INCLUDED)) & not_excluded


def set_scope(session: Session, *, references: Sequence[str], scope: str | None) -> list[str]:
    """Include or exclude the unsent items of these references; the references changed."""
    changed = session.execute(
        update(ITEM)
        .where(
            ITEM.c.reference.in_(references),
            ITEM.c.status.in_([ItemStatus.PENDING, ItemStatus.HELD, ItemStatus.FAILED, ItemStatus.DEAD]),
        )
        .values(scope=scope)
        .returning(ITEM.c.reference)
    )
    return list(changed.scalars())


def _ready(now: datetime) -> ColumnElement[bool]:
    """Pending and due, or in flight past its lease."""
    return or_(
        and_(
            ITEM.c.status == ItemStatus.PENDING,
            or_(ITEM.c.next_attempt_at.is_(None), ITEM.c.next_attempt_at <= now),
        ),
        and_(ITEM.c.status == ItemStatus.IN_FLIGHT, ITEM.c.claimed_until < now),
    )


def _depending_on(statuses: Sequence[str], *, negate: bool = False) -> ColumnElement[bool]:
    """The item has a dependency in (or, `negate`, not in) these statuses."""
    needed = ITEM.alias("needed")
    status = needed.c.status.not_in(statuses) if negate else needed.c.status.in_(statuses)
    return exists(
        select(DEPENDENCY.c.needs_id)
        .join(needed, needed.c.id == DEPENDENCY.c.needs_id)
        .where(DEPENDENCY.c.item_id == ITEM.c.id, status)
    )


def claimable_ids(
    session: Session, *, kind: str, until: datetime | None, now: datetime, limit: int, skip_locked: bool
) -> list[int]:
    """Items ready to send, oldest first: pending and due, or in flight past their lease, and whose
    dependencies the ERP acknowledged. On PostgreSQL rows another worker is claiming are skipped."""
    waiting = _depending_on([ItemStatus.ACKNOWLEDGED], negate=True)
    query = (
        select(ITEM.c.id)
        .where(ITEM.c.kind == kind, _ready(now), in_scope(until), ~waiting)
        .order_by(ITEM.c.issued_at, ITEM.c.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=ITEM)
    return list(session.execute(query).scalars())


def _stuck() -> ColumnElement[bool]:
    """The item waits behind a dependency given up, directly or through the dependency's own (a credit
    note behind an invoice behind a dead order): only a person can let it go."""
    needed, further = ITEM.alias("needed"), ITEM.alias("further")
    step = DEPENDENCY.alias("step")
    behind = exists(
        select(step.c.needs_id)
        .join(further, further.c.id == step.c.needs_id)
        .where(step.c.item_id == needed.c.id, further.c.status.in_(GIVEN_UP))
    )
    return exists(
        select(DEPENDENCY.c.needs_id)
        .join(needed, needed.c.id == DEPENDENCY.c.needs_id)
        .where(DEPENDENCY.c.item_id == ITEM.c.id, or_(needed.c.status.in_(GIVEN_UP), behind))
    )


def next_in_series(
    session: Session, *, kind: str, until: datetime | None, now: datetime, limit: int, skip_locked: bool
) -> list[int]:
    """The items of a kind the ERP numbers as they arrive, to be sent one after the other in order of
    issue, then of reference: the longest run of them, from the first not yet sent, that are all
    ready and whose dependencies the ERP acknowledged. Items waiting behind a given-up dependency are
    left out of the order. While one of them is on the wire nothing else of the kind is claimable."""
    waiting = _depending_on([ItemStatus.ACKNOWLEDGED], negate=True)
    candidates = session.execute(
        select(ITEM.c.id, and_(_ready(now), ~waiting).label("sendable"))
        .where(ITEM.c.kind == kind, ITEM.c.status.in_(SERIES_OPEN), in_scope(until), ~_stuck())
        .order_by(ITEM.c.issued_at, ITEM.c.reference)
        .limit(limit)
    ).all()
    ids = [row.id for row in takewhile(lambda row: bool(row.sendable), candidates)]
    if ids and skip_locked:
        # Another worker claiming the same run of items: keep what comes before its first one.
        taken = set(
            session.execute(
                select(ITEM.c.id)
                .where(ITEM.c.id.in_(ids), _ready(now))
                .with_for_update(skip_locked=True, of=ITEM)
            ).scalars()
        )
        ids = list(takewhile(lambda item_id: item_id in taken, ids))
    return ids


def mark_claimed(
    session: Session, ids: Sequence[int], *, run_id: int, token: str, lease_until: datetime
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Take the items: in flight, held by `token` until `lease_until`, one more attempt counted.
    Returns what the sender needs, in claim order."""
    session.execute(
        update(ITEM)
        .where(ITEM.c.id.in_(ids))
        .values(
            status=ItemStatus.IN_FLIGHT,
            claimed_by=token,
            claimed_until=lease_until,
            run_id=run_id,
            attempts=ITEM.c.attempts + 1,
        )
    )
    rows = session.execute(
        select(
            ITEM.c.id,
            ITEM.c.kind,
            ITEM.c.idempotency_key,
            ITEM.c.reference,
            ITEM.c.order_id,
            ITEM.c.document_id,
            ITEM.c.period,
            ITEM.c.attempts,
            ITEM.c.payload,
            ITEM.c.final_number,
        ).where(ITEM.c.id.in_(ids))
    ).all()
    position = {item_id: index for index, item_id in enumerate(ids)}
    return sorted(rows, key=lambda row: position[row.id])


def release_unsent(session: Session, *, run_id: int) -> int:
    """Items left in flight by an earlier run (crashed or abandoned): pending again, to be re-sent with
    the same key and body; the ERP answers "already have it" for those it stored."""
    result = _execute_dml(
        session,
        update(ITEM)
        .where(ITEM.c.status == ItemStatus.IN_FLIGHT, or_(ITEM.c.run_id.is_(None), ITEM.c.run_id != run_id))
        .values(status=ItemStatus.PENDING, claimed_by=None, claimed_until=None, next_attempt_at=None),
    )
    return int(result.rowcount or 0)


def dependencies_of(session: Session, ids: Sequence[int]) -> dict[int, list[Row[*tuple[Any, ...]]]]:
    """For each item, the items it needs (id, kind, reference, erp reference, final number)."""
    needed = ITEM.alias("needed")
    rows = session.execute(
        select(
            DEPENDENCY.c.item_id,
            needed.c.id,
            needed.c.kind,
            needed.c.reference,
            needed.c.erp_reference,
            needed.c.final_number,
            needed.c.document_id,
            needed.c.status,
            needed.c.payload,
        )
        .join(needed, needed.c.id == DEPENDENCY.c.needs_id)
        .where(DEPENDENCY.c.item_id.in_(ids))
    ).all()
    found: dict[int, list[Row[*tuple[Any, ...]]]] = {}
    for row in rows:
        found.setdefault(row.item_id, []).append(row)
    return found


def recap_members(session: Session, item_ids: Sequence[int]) -> dict[int, list[int]]:
    rows = session.execute(
        select(MEMBER.c.item_id, MEMBER.c.document_id).where(MEMBER.c.item_id.in_(item_ids))
    ).all()
    members: dict[int, list[int]] = {}
    for item_id, document_id in rows:
        members.setdefault(item_id, []).append(document_id)
    return members


def freeze_documents(session: Session, document_ids: Sequence[int]) -> set[int]:
    """Mark pending deferred documents as being replayed (no longer voidable); the ids that may be
    sent, i.e. all but those voided in the meantime (a document the ERP acknowledged before, whose
    item a human sent again, stays `replayed`)."""
    if not document_ids:
        return set()
    session.execute(
        update(DOCUMENT)
        .where(DOCUMENT.c.id.in_(document_ids), DOCUMENT.c.status == DocumentStatus.PENDING)
        .values(status=DocumentStatus.IN_REPLAY)
    )
    sendable = select(DOCUMENT.c.id).where(
        DOCUMENT.c.id.in_(document_ids), DOCUMENT.c.status != DocumentStatus.VOID
    )
    return set(session.execute(sendable).scalars())


_WRITE_PAYLOAD = (
    update(ITEM)
    .where(ITEM.c.id == bindparam("b_id"))
    .values(payload=bindparam("b_payload"), final_number=bindparam("b_number"))
)
_DOCUMENT_NUMBER = (
    update(DOCUMENT).where(DOCUMENT.c.id == bindparam("b_id")).values(final_number=bindparam("b_number"))
)


def write_payloads(session: Session, rows: list[dict[str, Any]], numbers: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(_WRITE_PAYLOAD, rows)
    if numbers:
        session.execute(_DOCUMENT_NUMBER, numbers)


_ACKNOWLEDGE = (
    update(ITEM)
    .where(ITEM.c.id == bindparam("b_id"), ITEM.c.claimed_by == bindparam("b_token"))
    .values(
        status=ItemStatus.ACKNOWLEDGED,
        erp_reference=bindparam("b_reference"),
        final_number=func.coalesce(ITEM.c.final_number, bindparam("b_number")),
        acknowledged_at=bindparam("b_at"),
        last_error=None,
        next_attempt_at=None,
        claimed_by=None,
        claimed_until=None,
    )
)
_REPLAYED = (
    update(DOCUMENT)
    .where(DOCUMENT.c.id == bindparam("b_id"))
    .values(
        status=DocumentStatus.REPLAYED,
        final_number=func.coalesce(DOCUMENT.c.final_number, bindparam("b_number")),
    )
)
# Claimed but not sent (an earlier document of its series was not acknowledged): as it was.
_RELEASE = (
    update(ITEM)
    .where(ITEM.c.id == bindparam("b_id"), ITEM.c.claimed_by == bindparam("b_token"))
    .values(status=ItemStatus.PENDING, attempts=ITEM.c.attempts - 1, claimed_by=None, claimed_until=None)
)
_SETBACK = (
    update(ITEM)
    .where(ITEM.c.id == bindparam("b_id"), ITEM.c.claimed_by == bindparam("b_token"))
    .values(
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        claimed_by=None,
        claimed_until=None,
    )
)


@dataclass
class Outcomes:
    """One batch's outcomes as rows for the statements above, and the run's counters."""

    acknowledged: list[dict[str, Any]]
    replayed_documents: list[dict[str, Any]]
    setbacks: list[dict[str, Any]]
    counters: dict[str, int]
    released: list[dict[str, Any]] = field(default_factory=list)


def record_outcomes(session: Session, *, run_id: int, outcomes: Outcomes, now: datetime) -> None:
    if outcomes.acknowledged:
        session.execute(_ACKNOWLEDGE, outcomes.acknowledged)
    if outcomes.replayed_documents:
        session.execute(_REPLAYED, outcomes.replayed_documents)
    if outcomes.setbacks:
        session.execute(_SETBACK, outcomes.setbacks)
    if outcomes.released:
        session.execute(_RELEASE, outcomes.released)
    increments = {name: getattr(RUN.c, name) + count for name, count in outcomes.counters.items() if count}
    session.execute(update(RUN).where(RUN.c.id == run_id).values(heartbeat_at=now, **increments))


def remove_items(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(ITEM.delete().where(ITEM.c.id.in_(ids)))


def remove_members(session: Session, document_ids: Sequence[int]) -> None:
    if document_ids:
        session.execute(MEMBER.delete().where(MEMBER.c.document_id.in_(document_ids)))


def open_items(
    session: Session, *, until: datetime | None, kinds: Sequence[str]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Items of these kinds not yet acknowledged nor given up, in scope: what keeps a run going."""
    return session.execute(
        select(
            ITEM.c.id,
            ITEM.c.kind,
            ITEM.c.reference,
            ITEM.c.issued_at,
            ITEM.c.status,
            ITEM.c.next_attempt_at,
            ITEM.c.claimed_until,
        ).where(
            ITEM.c.status.in_([ItemStatus.PENDING, ItemStatus.IN_FLIGHT]),
            ITEM.c.kind.in_(kinds),
            in_scope(until),
        )
    ).all()


def dependency_statuses(session: Session, ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    needed = ITEM.alias("needed")
    rows = session.execute(
        select(DEPENDENCY.c.item_id, needed.c.id, needed.c.status)
        .join(needed, needed.c.id == DEPENDENCY.c.needs_id)
        .where(DEPENDENCY.c.item_id.in_(ids))
    ).all()
    found: dict[int, list[tuple[int, str]]] = {}
    for item_id, needs_id, status in rows:
        found.setdefault(item_id, []).append((needs_id, status))
    return found


def count_by_kind_and_status(
    session: Session, *, incident_id: int | None, until: datetime | None
) -> list[tuple[str, str, int]]:
    query = select(ITEM.c.kind, ITEM.c.status, func.count()).group_by(ITEM.c.kind, ITEM.c.status)
    query = query.where(ITEM.c.incident_id == incident_id) if incident_id is not None else query
    query = query.where(in_scope(until))
    return [(kind, status, count) for kind, status, count in session.execute(query)]


def touch_run(session: Session, run_id: int, *, now: datetime) -> bool:
    """Heartbeat; False when the run is no longer running (another run took over)."""
    result = _execute_dml(
        session,
        update(RUN).where(RUN.c.id == run_id, RUN.c.status == RunStatus.RUNNING).values(heartbeat_at=now),
    )
    return bool(result.rowcount)


def abandon_stale_runs(session: Session, *, stale_before: datetime, now: datetime) -> int:
    result = _execute_dml(
        session,
        update(RUN)
        .where(RUN.c.status == RunStatus.RUNNING, RUN.c.heartbeat_at < stale_before)
        .values(status=RunStatus.ABANDONED, finished_at=now, error="heartbeat stopped: the process died"),
    )
    return int(result.rowcount or 0)


def running_run(session: Session) -> ReplayRun | None:
    return session.execute(
        select(ReplayRun).where(ReplayRun.status == RunStatus.RUNNING)
    ).scalar_one_or_none()


def get_run(session: Session, run_id: int, *, lock: bool = False) -> ReplayRun | None:
    query = select(ReplayRun).where(ReplayRun.id == run_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def list_runs(session: Session, *, before_id: int | None, limit: int) -> Sequence[ReplayRun]:
    query = select(ReplayRun).order_by(ReplayRun.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(ReplayRun.id < before_id)
    return session.execute(query).scalars().all()


def get_item(session: Session, item_id: int, *, lock: bool = False) -> ReplayItem | None:
    query = select(ReplayItem).where(ReplayItem.id == item_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.execute(query).scalar_one_or_none()


def retry_given_up(session: Session, *, until: datetime | None) -> int:
    """Failed and dead items pending again with a fresh budget of attempts. A failed item's body is
    built afresh (the ERP refused it, so it holds nothing under its key: corrected master data may
    go); a dead one keeps its body, since the ERP may hold it from a try whose answer was lost."""
    base = update(ITEM).where(in_scope(until))
    failed = _execute_dml(
        session,
        base.where(ITEM.c.status == ItemStatus.FAILED).values(
            status=ItemStatus.PENDING, attempts=0, next_attempt_at=None, payload=None
        ),
    ).rowcount
    dead = _execute_dml(
        session,
        base.where(ITEM.c.status == ItemStatus.DEAD).values(
            status=ItemStatus.PENDING, attempts=0, next_attempt_at=None
        ),
    ).rowcount
    return int(failed or 0) + int(dead or 0)


def uninvoiced_past_months(session: Session, *, before: date) -> tuple[int, date | None]:
    """Delivery notes issued before `before` (the first day of the current month) whose invoice the
    ERP has not acknowledged: the month's invoicing is late. Their number and the oldest date."""
    note = DeliveryNote
    query = (
        select(func.count(), func.min(note.issue_date))
        .select_from(note)
        .join(DeferredDocument, DeferredDocument.delivery_note_id == note.id)
        .where(
            note.status == DeliveryNoteStatus.ISSUED,
            note.issue_date < before,
            DeferredDocument.kind == DocumentKind.INVOICE,
            DeferredDocument.status.not_in([DocumentStatus.REPLAYED, DocumentStatus.VOID]),
        )
    )
    count, oldest = session.execute(query).one()
    return int(count), oldest


NEEDS_A_PERSON = (ItemStatus.HELD, ItemStatus.FAILED, ItemStatus.DEAD)


def waiting_items(session: Session) -> list[tuple[str, str, int]]:
    """Outbox items neither acknowledged nor cancelled, counted per kind and status."""
    query = (
        select(ITEM.c.kind, ITEM.c.status, func.count())
        .where(ITEM.c.status.not_in(SETTLED))
        .group_by(ITEM.c.kind, ITEM.c.status)
    )
    return [(kind, status, count) for kind, status, count in session.execute(query)]
