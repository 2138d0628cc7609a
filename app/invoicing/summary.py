"""Figures for finance's console: deferred documents per kind and status, and per day and VAT rate
what was captured and what still waits for the ERP."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.invoicing.models import DeferredDocument

ZERO = Decimal(0)


@dataclass(frozen=True)
class KindStatusTotal:
    kind: str
    status: str
    count: int
    net: Decimal
    gross: Decimal


@dataclass(frozen=True)
class DayAmounts:
    day: date
    captured: Decimal
    waiting: Decimal


@dataclass(frozen=True)
class RateAmounts:
    rate: Decimal
    captured: Decimal
    waiting: Decimal


def totals_by_kind_and_status(session: Session) -> list[KindStatusTotal]:
    rows = session.execute(
        select(
            DeferredDocument.kind,
            DeferredDocument.status,
            func.count(),
            func.coalesce(func.sum(DeferredDocument.net_total), 0),
            func.coalesce(func.sum(DeferredDocument.gross_total), 0),
        )
        .group_by(DeferredDocument.kind, DeferredDocument.status)
        .order_by(DeferredDocument.kind, DeferredDocument.status)
    )
    return [
        KindStatusTotal(kind, status, count, Decimal(net), Decimal(gross))
        for kind, status, count, net, gross in rows
    ]


def amounts_by_day_and_rate(
    session: Session, *, since: date, settled: tuple[str, ...]
) -> tuple[list[DayAmounts], list[RateAmounts]]:
    """Net amounts (credit notes count negative) per issue day and per VAT rate, captured and still
    waiting (any status but `settled`) since a day."""
    rows = session.execute(
        select(
            DeferredDocument.kind,
            DeferredDocument.status,
            DeferredDocument.issue_date,
            DeferredDocument.vat_breakdown,
        ).where(DeferredDocument.issue_date >= since)
    )
    days: dict[date, list[Decimal]] = {}
    rates: dict[Decimal, list[Decimal]] = {}
    for kind, status, day, breakdown in rows:
        sign = -1 if kind == "credit_note" else 1
        waiting = status not in settled
        for vat in breakdown:
            base = sign * Decimal(str(vat["base"]))
            for bucket in (
                days.setdefault(day, [ZERO, ZERO]),
                rates.setdefault(Decimal(str(vat["rate"])), [ZERO, ZERO]),
            ):
                bucket[0] += base
                if waiting:
                    bucket[1] += base
    return (
        [DayAmounts(day, captured, waiting) for day, (captured, waiting) in sorted(days.items())],
        [RateAmounts(rate, captured, waiting) for rate, (captured, waiting) in sorted(rates.items())],
    )
