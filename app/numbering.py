"""Document number series (orders, delivery notes, invoices).

A series is a row in `document_counter`, incremented in the same transaction as the document it
numbers: a rolled-back document rolls its number back too, which is what makes a series gapless.
Concurrent writers serialize on the counter row (row lock on PostgreSQL, the write lock on SQLite).
"""

from datetime import datetime

from sqlalchemy import Integer, String, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base


class DocumentCounter(Base):
    __tablename__ = "document_counter"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


_counter = DocumentCounter.__table__
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
    taken = session.connection().execute(_TAKE_NUMBER, {"series": series}).scalar_one_or_none()
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


def format_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def yearly_series(prefix: str, moment: datetime) -> str:
    return f"{prefix}:{moment.year}"
