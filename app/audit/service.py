"""Recording who did what (`record`, from inside the unit of work that does it), reading the trail,
verifying its chain and exporting it for an auditor."""

import csv
import getpass
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.audit import chain
from app.audit.models import Action, AuditChainHead, AuditRecord
from app.audit.schemas import AuditRecordRead, Head
from app.clock import utcnow
from app.config import get_settings
from app.errors import InvalidInput
from app.pagination import Page, next_cursor

PEOPLE = ("user", "partner")  # the kinds of actor whose id names a row (app_user, partner)


class Who(Protocol):
    """Whoever acts: a signed-in user or a partner (`app.auth.service.Actor`), Carnet itself, the
    command line. Only these three attributes are recorded."""

    @property
    def kind(self) -> str: ...

    @property
    def id(self) -> int | None: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class Someone:
    kind: str
    id: int | None
    name: str


SYSTEM: Final = Someone("system", None, "carnet")  # what Carnet does by itself (replay workers...)


def command_line() -> Someone:
    """Whoever runs a command on the server, named after their account."""
    try:
        account = getpass.getuser()
    except (KeyError, OSError):
        account = str(os.getuid())
    return Someone("command_line", None, account)


# The default actor of services that scripts call directly (benchmarks, one-off fixes): the server's
# own callers always say who acts.
COMMAND_LINE: Final = command_line()


def anonymous(client: str) -> Someone:
    """A caller nobody knows yet (a failed sign-in), named after its address."""
    return Someone("anonymous", None, client)


def record(
    session: Session,
    *,
    actor: Who,
    action: Action,
    subject: str,
    ref: str | int,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Record that `actor` did `action` to the `subject` named `ref` (an order's number, a user's
    name...), with a few `details` (JSON: numbers, strings, lists). Call it inside the unit of work that
    makes the change: the record is written, numbered and chained when that unit's transaction
    commits, and not at all if the unit is rolled back."""
    chain.keep(
        session,
        chain.Entry(
            recorded_at=utcnow(),
            actor_kind=actor.kind,
            actor_id=actor.id if actor.kind in PEOPLE else None,
            actor_name=actor.name[:100],
            action=action.value,
            subject_kind=subject,
            subject_ref=str(ref)[:100],
            # As it will read back from the database, so that its hash can be recomputed from it.
            details=json.loads(json.dumps(dict(details or {}), default=str)),
        ),
    )


def signed_in(session: Session, *, user_id: int, username: str, client: str, via: str) -> None:
    """A person signed in (`via`: the API's token or the desk), from `client`'s address."""
    record(
        session,
        actor=Someone("user", user_id, username),
        action=Action.SIGNED_IN,
        subject="user",
        ref=username,
        details={"via": via, "client": client},
    )


def sign_in_failed(session: Session, *, username: str, client: str, via: str) -> None:
    """A wrong password or an unknown user, by an unknown caller: named after its address."""
    record(
        session,
        actor=anonymous(client),
        action=Action.SIGN_IN_FAILED,
        subject="user",
        ref=username,
        details={"via": via},
    )


@dataclass(frozen=True)
class Filters:
    actor: str | None = None
    action: Action | None = None
    subject: str | None = None
    ref: str | None = None
    from_date: date | None = None  # business days (CARNET_BUSINESS_TIMEZONE), both included
    to_date: date | None = None


def list_records(
    session: Session, *, filters: Filters, before_id: int | None = None, limit: int = 50
) -> Page[AuditRecordRead]:
    """The records that match, newest first."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditRecord.id < before_id)
    if filters.actor:
        query = query.where(AuditRecord.actor_name == filters.actor)
    if filters.action is not None:
        query = query.where(AuditRecord.action == filters.action.value)
    if filters.subject:
        query = query.where(AuditRecord.subject_kind == filters.subject)
    if filters.ref:
        # An order's number also finds what was done under its own number that names it (shipments,
        # voids, order responses): an auditor follows the order, not the record's subject.
        query = query.where(
            or_(
                AuditRecord.subject_ref == filters.ref,
                AuditRecord.details["order"].as_string() == filters.ref,
            )
        )
    if filters.from_date is not None:
        query = query.where(AuditRecord.recorded_at >= _start_of(filters.from_date))
    if filters.to_date is not None:
        query = query.where(AuditRecord.recorded_at < _start_of(filters.to_date + timedelta(days=1)))
    rows = session.scalars(query).all()
    return Page[AuditRecordRead](
        items=[AuditRecordRead.model_validate(row, from_attributes=True) for row in rows],
        next_cursor=next_cursor(rows, limit),
    )


def day(text: str | None, *, field: str) -> date | None:
    """A day given as YYYY-MM-DD in a query (`field`), or None when not given."""
    try:
        found = date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise InvalidInput("a day is written YYYY-MM-DD", loc=("query", field)) from exc
    if found is not None and not 1 < found.year < 9999:  # its midnight in UTC, and the day after, exist
        raise InvalidInput("a day from the year 2 to 9998", loc=("query", field))
    return found


def _start_of(business_day: date) -> datetime:
    timezone = ZoneInfo(get_settings().business_timezone)
    return datetime.combine(business_day, time(), timezone).astimezone(UTC)


def head(session: Session) -> Head:
    row = session.get(AuditChainHead, chain.HEAD_ID)
    if row is None:
        raise LookupError("the audit chain has no head: it was deleted")
    return Head(last_id=row.last_id, last_hash=row.last_hash)


def verify(session: Session) -> chain.Verdict:
    """Check the whole chain as committed now (`carnet audit verify`)."""
    try:
        top = head(session)
    except LookupError as exc:
        return chain.Verdict(0, 0, "", (chain.Break(0, str(exc)),))
    rows = chain.in_chain_order(session, up_to=top.last_id)
    return chain.check(rows, head_id=top.last_id, head_hash=top.last_hash)


CSV_COLUMNS = tuple(AuditRecordRead.model_fields)


def export_json(session: Session) -> Iterator[str]:
    """The whole trail up to its head, oldest first, as one JSON document written piece by piece:
    `{"head": {...}, "records": [...]}`."""
    top = head(session)
    yield '{"head": ' + top.model_dump_json() + ', "records": ['
    for index, row in enumerate(chain.in_chain_order(session, up_to=top.last_id)):
        yield ("," if index else "") + "\n" + _read(row).model_dump_json()
    yield "\n]}\n"


def export_csv(session: Session) -> Iterator[str]:
    """The whole trail up to its head, oldest first: one row per record, `details` as compact JSON
    with sorted keys, times in UTC as in the hash."""
    top = head(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in chain.in_chain_order(session, up_to=top.last_id):
        values = _read(row).model_dump(mode="json")
        values["details"] = json.dumps(row.details, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        writer.writerow("" if values[column] is None else values[column] for column in CSV_COLUMNS)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _read(row: AuditRecord) -> AuditRecordRead:
    return AuditRecordRead.model_validate(row, from_attributes=True)
