"""Document number series (orders, delivery notes, invoices).

A series is a row in `document_counter`, incremented in the same transaction as the document it
numbers: a rolled-back document rolls its number back too, which is what makes a series gapless.
Concurrent writers serialize on the counter row (row lock on PostgreSQL, the write lock on SQLite).
"""

from datetime import datetime

from sqlalchemy import Integer, String, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base


class DocumentCounter(Base):
    __tablename__ = "document_counter"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


def next_number(session: Session, series: str) -> int:
    """Take the next number of `series` (created on first use), inside the caller's transaction."""
    table = DocumentCounter.__table__
    taken = session.execute(
        update(table)
        .where(table.c.name == series)
        .values(next_value=table.c.next_value + 1)
        .returning(table.c.next_value)
    ).scalar_one_or_none()
    if taken is not None:
        return taken - 1
    try:
        with session.begin_nested():
            session.execute(insert(table).values(name=series, next_value=2))
        return 1
    except IntegrityError:
        # Another transaction created the series first: take a number from it the normal way.
        return next_number(session, series)


def current_value(session: Session, series: str) -> int:
    """The last number handed out in `series` (0 when none)."""
    value = session.execute(select(DocumentCounter.next_value).where(DocumentCounter.name == series)).scalar()
    return (value or 1) - 1


def format_number(prefix: str, year: int, value: int) -> str:
    return f"{prefix}-{year}-{value:06d}"


def yearly_series(prefix: str, moment: datetime) -> str:
    return f"{prefix}:{moment.year}"
