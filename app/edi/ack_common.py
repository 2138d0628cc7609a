"""What every acknowledgment builder shares: per-line outcomes and the caller's control numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from app.edi.documents import Envelope, Interchange, OrderLine, PurchaseOrder
from app.edi.issues import InterchangeRejected, Issue

_ZERO = Decimal(0)


class LineStatus(StrEnum):
    ACCEPTED = "accepted"
    CHANGED = "changed"
    BACKORDERED = "backordered"
    REJECTED = "rejected"
    PENDING = "pending"  # kept on the order, held for a person's review: nothing confirmed yet


@dataclass(slots=True)  # not frozen: an interchange builds tens of thousands, and frozen init is slow
class LineOutcome:
    """What Carnet answers for one order line.

    ``confirmed`` is the quantity that will be delivered now; ``backordered`` the quantity that
    will follow later. A changed line is confirmed at another quantity with no remainder promised.
    """

    position: int
    status: LineStatus
    ordered: Decimal
    confirmed: Decimal
    backordered: Decimal = _ZERO

    def __post_init__(self) -> None:
        if self.confirmed < 0 or self.backordered < 0:
            raise ValueError("quantities of an outcome cannot be negative")
        if self.status in (LineStatus.REJECTED, LineStatus.PENDING) and (self.confirmed or self.backordered):
            raise ValueError(f"a {self.status.value} line confirms nothing")
        if self.status is LineStatus.BACKORDERED and not self.backordered:
            raise ValueError("a backordered line needs a backordered quantity")

    @classmethod
    def accept(cls, line: OrderLine) -> LineOutcome:
        return cls(line.position, LineStatus.ACCEPTED, line.quantity, line.quantity)

    @classmethod
    def change(cls, line: OrderLine, confirmed: Decimal | int) -> LineOutcome:
        return cls(line.position, LineStatus.CHANGED, line.quantity, Decimal(confirmed))

    @classmethod
    def backorder(cls, line: OrderLine, available: Decimal | int) -> LineOutcome:
        """Deliver ``available`` now and the rest of the ordered quantity later."""
        now = Decimal(available)
        return cls(line.position, LineStatus.BACKORDERED, line.quantity, now, line.quantity - now)

    @classmethod
    def reject(cls, line: OrderLine) -> LineOutcome:
        return cls(line.position, LineStatus.REJECTED, line.quantity, _ZERO)

    @classmethod
    def hold(cls, line: OrderLine) -> LineOutcome:
        return cls(line.position, LineStatus.PENDING, line.quantity, _ZERO)


@dataclass(frozen=True, slots=True)
class ApplicationError:
    """One application error of a received message (an APERAK ERC, an 824 TED): a short code of ours
    (an..8; for APERAK, code list agency 91: assigned by the supplier), its text, and the partner's
    line when it is a line's."""

    code: str
    text: str
    line: str | None = None


@dataclass(frozen=True, slots=True)
class AckControl:
    """Numbers and clock owned by the caller: references come from Carnet's own counters.

    ``interchange_ref`` is the UNB 0020 / ISA13 of the acknowledgment (ISA13: up to 9 digits),
    ``group_ref`` its GS06 (X12 only), ``message_ref`` its first UNH 0062 / ST02.
    """

    interchange_ref: str
    prepared_at: datetime
    group_ref: str = "1"
    message_ref: str = "1"


def subject_of(subject: Interchange | InterchangeRejected) -> tuple[Interchange, tuple[Issue, ...]]:
    """The interchange to answer and the errors to report; unreadable envelopes cannot be answered."""
    if isinstance(subject, InterchangeRejected):
        if subject.interchange is None or not subject.interchange.envelopes:
            raise ValueError(
                "the rejected data has no readable envelope to acknowledge; answer at transport level"
            )
        return subject.interchange, subject.issues
    if not subject.envelopes:
        raise ValueError(f"a {subject.format.value} interchange has no EDI envelope to acknowledge")
    return subject, ()


def envelope_of(interchange: Interchange, order: PurchaseOrder) -> Envelope:
    """The received envelope that carried ``order``."""
    reference = order.message.interchange_ref if order.message else None
    return next((e for e in interchange.envelopes if e.control_ref == reference), interchange.envelopes[0])


def outcomes_by_position(order: PurchaseOrder, outcomes: Sequence[LineOutcome]) -> list[LineOutcome]:
    """One outcome per order line, in line order; a missing or stray outcome is a caller bug."""
    by_position = {outcome.position: outcome for outcome in outcomes}
    missing = [line.position for line in order.lines if line.position not in by_position]
    stray = set(by_position) - {line.position for line in order.lines}
    if missing or stray:
        raise ValueError(f"outcomes do not match order lines (missing {missing}, unknown {sorted(stray)})")
    return [by_position[line.position] for line in order.lines]


@lru_cache(maxsize=4096)  # a few quantities, again and again (equal values give one text)
def decimal_text(value: Decimal) -> str:
    """A quantity as EDI numeric text: no exponent, no trailing zeros."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text
