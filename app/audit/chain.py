"""The hash chain: records are written, numbered and linked when their transaction commits.

`record()` keeps what it is given in the session (`PENDING`), tagged with the session's transaction
or savepoint of the moment: a savepoint rolled back drops the records made inside it, a transaction
rolled back drops them all, so a unit of work that fails leaves no record. Just before the outermost
transaction commits (`before_commit`), the head of the chain is locked (`SELECT ... FOR UPDATE` on
PostgreSQL; on SQLite the transaction already holds the database's write lock), and this
transaction's records get the next ids, each linked to the one before it, and are inserted with the
head's new value. The head stays locked until the commit, a moment later: one lock per transaction,
so that the chain holds with several processes writing at once.

A record's hash is `sha256(previous_hash + canonical)`, hex, where `canonical` is the record as a JSON
array, UTF-8, keys sorted, no spaces: `[id, recorded_at (ISO 8601, UTC, microseconds), actor_kind,
actor_id, actor_name, action, subject_kind, subject_ref, details]`. The first record's previous hash is
64 zeros. An auditor recomputes the chain from an export with nothing else (README.md, "Audit trail").
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from app.audit.models import GENESIS, AuditChainHead, AuditRecord

PENDING = "audit_pending"  # key in `Session.info`: the records this session's transaction made
HEAD_ID = 1
_record_table = cast(Table, AuditRecord.__table__)
_head = cast(Table, AuditChainHead.__table__).c
_LOCK_HEAD = select(_head.last_id, _head.last_hash).where(_head.id == HEAD_ID).with_for_update()
_INSERT_RECORDS = insert(_record_table)
_MOVE_HEAD = (
    update(cast(Table, AuditChainHead.__table__))
    .where(_head.id == HEAD_ID)
    .values(last_id=bindparam("last_id"), last_hash=bindparam("last_hash"))
)


@dataclass(frozen=True)
class Entry:
    """A record made in a unit of work, not numbered nor chained yet."""

    recorded_at: datetime
    actor_kind: str
    actor_id: int | None
    actor_name: str
    action: str
    subject_kind: str
    subject_ref: str
    details: dict[str, Any]


@dataclass(frozen=True)
class _Pending:
    entry: Entry
    made_in: SessionTransaction


def canonical(record_id: int, entry: Entry) -> str:
    return json.dumps(
        [
            record_id,
            entry.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            entry.actor_kind,
            entry.actor_id,
            entry.actor_name,
            entry.action,
            entry.subject_kind,
            entry.subject_ref,
            entry.details,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )


def link(previous_hash: str, record_id: int, entry: Entry) -> str:
    return hashlib.sha256((previous_hash + canonical(record_id, entry)).encode()).hexdigest()


def keep(session: Session, entry: Entry) -> None:
    """Hold `entry` until the session's transaction commits (or drop it if what made it rolls back)."""
    if not session.in_transaction():
        session.begin()
    made_in = session.get_nested_transaction() or session.get_transaction()
    assert made_in is not None
    session.info.setdefault(PENDING, []).append(_Pending(entry, made_in))


@event.listens_for(Session, "before_commit")
def _chain(session: Session) -> None:
    pending: list[_Pending] | None = session.info.get(PENDING)
    # A savepoint released is not the commit: its records wait for the outermost transaction's.
    if not pending or session.in_nested_transaction():
        return
    entries = [item.entry for item in pending]
    pending.clear()
    connection = session.connection()
    last_id, last_hash = connection.execute(_LOCK_HEAD).one()
    rows: list[dict[str, Any]] = []
    for entry in entries:
        last_id += 1
        digest = link(last_hash, last_id, entry)
        rows.append({**vars(entry), "id": last_id, "previous_hash": last_hash, "hash": digest})
        last_hash = digest
    connection.execute(_INSERT_RECORDS, rows)
    connection.execute(_MOVE_HEAD, {"last_id": last_id, "last_hash": last_hash})


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    pending: list[_Pending] | None = session.info.get(PENDING)
    if pending:
        pending[:] = [item for item in pending if not _made_inside(item.made_in, rolled_back)]


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def _made_inside(made_in: SessionTransaction | None, transaction: SessionTransaction) -> bool:
    while made_in is not None:
        if made_in is transaction:
            return True
        made_in = made_in.parent
    return False


@dataclass(frozen=True)
class Break:
    """Where the chain does not hold, and why."""

    record_id: int
    reason: str


@dataclass(frozen=True)
class Verdict:
    checked: int
    last_id: int
    last_hash: str
    breaks: tuple[Break, ...]

    @property
    def intact(self) -> bool:
        return not self.breaks


def entry_of(row: AuditRecord) -> Entry:
    return Entry(
        recorded_at=row.recorded_at,
        actor_kind=row.actor_kind,
        actor_id=row.actor_id,
        actor_name=row.actor_name,
        action=row.action,
        subject_kind=row.subject_kind,
        subject_ref=row.subject_ref,
        details=row.details,
    )


def check(rows: Iterable[AuditRecord], *, head_id: int, head_hash: str) -> Verdict:
    """Walk the records in id order: each must follow the one before (no id missing), carry its hash
    as its previous hash, and hash to what it says; the last must be the head. After a break the walk
    goes on from the hash the record carries, so that one edited record is named once."""
    breaks: list[Break] = []
    expected_id, running, checked = 1, GENESIS, 0
    for row in rows:
        checked += 1
        if row.id != expected_id:
            missing = f"{expected_id}" if row.id == expected_id + 1 else f"{expected_id} to {row.id - 1}"
            breaks.append(Break(row.id, f"record(s) {missing} before it are missing (deleted)"))
        elif row.previous_hash != running:
            breaks.append(Break(row.id, "its link to the record before it is broken (edited or reordered)"))
        if link(row.previous_hash, row.id, entry_of(row)) != row.hash:
            breaks.append(Break(row.id, "its content does not match its hash (edited)"))
        expected_id, running = row.id + 1, row.hash
    if expected_id <= head_id:
        missing = f"{head_id}" if expected_id == head_id else f"{expected_id} to {head_id}"
        breaks.append(Break(head_id, f"record(s) {missing} at the end of the chain are missing (deleted)"))
    elif running != head_hash:
        breaks.append(Break(head_id, "the last record's hash is not the head's (edited)"))
    return Verdict(checked, head_id, head_hash, tuple(breaks))


def in_chain_order(session: Session, *, up_to: int) -> Iterator[AuditRecord]:
    """Every record up to `up_to`, oldest first, read in slices (the trail may hold millions)."""
    query = select(AuditRecord).where(AuditRecord.id <= up_to).order_by(AuditRecord.id)
    yield from session.scalars(query.execution_options(yield_per=2000))
