"""Document number series (orders, delivery notes, invoices).

A series is a row in `document_counter`, incremented in the same transaction as the document it
numbers: a rolled-back document rolls its number back too, which is what makes a series gapless.
Concurrent writers serialize on the counter row (row lock on PostgreSQL, the write lock on SQLite).

Every series is yearly, and the year is the business's: the year of the document's date in the
business time zone (`CARNET_BUSINESS_TIMEZONE`, Europe/Paris by default), so that an order keyed at
00:30 on 1 January in Paris is numbered in the new year's series, like the delivery note it ships on.
"""

from dataclasses import dataclass
from datetime import date, datetime
from enum import IntEnum
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.clock import utcnow
from app.config import get_settings
from app.db import Base


class DocumentCounter(Base):
    __tablename__ = "document_counter"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


_counter = cast(Table, DocumentCounter.__table__)
_TAKE_NUMBER = (
    update(_counter)
    .where(_counter.c.name == bindparam("series"))
    .values(next_value=_counter.c.next_value + 1)
    .returning(_counter.c.next_value)
)
_CREATE_SERIES = insert(_counter).values(name=bindparam("series"), next_value=2)
_TAKE_RANGE = (
    update(_counter)
    .where(_counter.c.name == bindparam("series"))
    .values(next_value=_counter.c.next_value + bindparam("count"))
    .returning(_counter.c.next_value)
)
_CREATE_SERIES_WITH = insert(_counter).values(name=bindparam("series"), next_value=bindparam("next_value"))


def next_number(session: Session, series: str) -> int:
    """Take the next number of `series` (created on first use), inside the caller's transaction."""
    taken: int | None = session.connection().execute(_TAKE_NUMBER, {"series": series}).scalar_one_or_none()
    if taken is not None:
        return taken - 1
    try:
        with session.begin_nested():
            session.connection().execute(_CREATE_SERIES, {"series": series})
        return 1
    except IntegrityError:
        # Another transaction created the series first: take a number from it the normal way.
        return next_number(session, series)


def next_numbers(session: Session, series: str, count: int) -> range:
    """Take `count` consecutive numbers of `series` in one statement (a whole EDI interchange's orders
    or acknowledgments), inside the caller's transaction: still gapless, since they roll back together."""
    if count < 1:
        return range(0)
    taken = session.connection().execute(_TAKE_RANGE, {"series": series, "count": count}).scalar_one_or_none()
    if taken is not None:
        return range(taken - count, taken)
    try:
        with session.begin_nested():
            session.connection().execute(_CREATE_SERIES_WITH, {"series": series, "next_value": count + 1})
        return range(1, count + 1)
    except IntegrityError:
        return next_numbers(session, series, count)


def current_value(session: Session, series: str) -> int:
    """The last number handed out in `series` (0 when none)."""
    value = session.execute(select(DocumentCounter.next_value).where(DocumentCounter.name == series)).scalar()
    return (value or 1) - 1


class Rank(IntEnum):
    """Where a unit of work runs in its writer batch (app/writer.py). Units that take numbers run in
    the order of the series they take (orders, then a partner's acknowledgments; delivery notes, then
    deferred invoices; returns, then credit notes), so that every batch locks counter rows in one
    global order: on PostgreSQL two batches never wait for each other's counters in a circle."""

    ORDERS = 1  # order capture and EDI ingestion: orders, then acknowledgments
    SHIPMENTS = 2  # delivery notes, then deferred invoices
    RETURNS = 3  # returns, then credit notes
    OTHERS = 4  # units that take no number


@dataclass(frozen=True)
class BusinessMoment:
    """When a document is issued: stored in UTC (`at`), dated in the business time zone (`local`), which
    gives the document its date and the year of its number."""

    at: datetime
    local: datetime

    @property
    def day(self) -> date:
        return self.local.date()

    @property
    def year(self) -> int:
        return self.local.year


def business_moment(at: datetime | None = None) -> BusinessMoment:
    """Now, or the given UTC instant (a document issued with another takes that one's date)."""
    moment = at or utcnow()
    return BusinessMoment(at=moment, local=moment.astimezone(ZoneInfo(get_settings().business_timezone)))


def take_number(session: Session, prefix: str, moment: BusinessMoment) -> str:
    """The next number of the prefix's series for the moment's business year, in the caller's transaction."""
    return format_number(prefix, moment.year, next_number(session, yearly_series(prefix, moment.year)))


def take_numbers(session: Session, prefix: str, moment: BusinessMoment, count: int) -> list[str]:
    """`count` consecutive numbers of the prefix's series for the moment's business year."""
    values = next_numbers(session, yearly_series(prefix, moment.year), count)
    return [format_number(prefix, moment.year, value) for value in values]


def format_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def yearly_series(prefix: str, year: int) -> str:
    return f"{prefix}:{year}"
