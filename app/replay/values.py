"""What a replayed document is worth: counts and totals (net, VAT by rate, gross), for reports.

Two readings of one item: what Carnet captured, from its own rows (an order's or a deferred
document's frozen totals; a recap invoice's totals computed again over its invoices' lines), and what
the ERP received, from the frozen body that was sent. The reconciliation compares the two.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.invoicing.models import DeferredDocument, DeferredDocumentLine
from app.money import ZERO
from app.orders.models import SaleOrder
from app.pricing import PricedLine, compute_totals
from app.replay.models import ReplayRecapMember
from app.replay.schemas import Figures, VatAmount

CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class Value:
    net: Decimal
    vat: Decimal
    gross: Decimal
    breakdown: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (rate, base, amount)


@dataclass
class Tally:
    """Sums of values; subtract one tally from another for differences."""

    count: int = 0
    net: Decimal = ZERO
    vat: Decimal = ZERO
    gross: Decimal = ZERO
    rates: dict[Decimal, list[Decimal]] = field(default_factory=lambda: defaultdict(lambda: [ZERO, ZERO]))

    def add(self, value: Value) -> None:
        self.count += 1
        self.net += value.net
        self.vat += value.vat
        self.gross += value.gross
        for rate, base, amount in value.breakdown:
            self.rates[rate][0] += base
            self.rates[rate][1] += amount

    def minus(self, other: "Tally") -> "Tally":
        result = Tally(
            self.count - other.count, self.net - other.net, self.vat - other.vat, self.gross - other.gross
        )
        for rate in sorted(set(self.rates) | set(other.rates)):
            mine, theirs = self.rates.get(rate, [ZERO, ZERO]), other.rates.get(rate, [ZERO, ZERO])
            result.rates[rate] = [mine[0] - theirs[0], mine[1] - theirs[1]]
        return result

    @property
    def is_zero(self) -> bool:
        return (
            self.count == 0
            and self.net == self.vat == self.gross == ZERO
            and all(base == amount == ZERO for base, amount in self.rates.values())
        )

    def figures(self) -> Figures:
        return Figures(
            count=self.count,
            net=self.net,
            vat=self.vat,
            gross=self.gross,
            vat_breakdown=[
                VatAmount(rate=rate, base=base, amount=amount)
                for rate, (base, amount) in sorted(self.rates.items())
            ],
        )


def stored_value(net: Decimal, vat: Decimal, gross: Decimal, breakdown: list[Any]) -> Value:
    return Value(
        net,
        vat,
        gross,
        tuple((Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["amount"])) for v in breakdown),
    )


def payload_value(payload: bytes) -> Value:
    """The totals of the document as the ERP received it."""
    totals = orjson.loads(payload)["totals"]
    return stored_value(
        Decimal(totals["net"]), Decimal(totals["vat"]), Decimal(totals["gross"]), totals["vat_breakdown"]
    )


def order_values(session: Session, ids: Iterable[int]) -> dict[int, Value]:
    columns = (
        SaleOrder.id,
        SaleOrder.net_total,
        SaleOrder.vat_total,
        SaleOrder.gross_total,
        SaleOrder.vat_breakdown,
    )
    return {
        row[0]: stored_value(*row[1:])
        for chunk in _chunks(ids)
        for row in session.execute(select(*columns).where(SaleOrder.id.in_(chunk)))
    }


def document_values(session: Session, ids: Iterable[int]) -> dict[int, Value]:
    document = DeferredDocument
    columns = (
        document.id,
        document.net_total,
        document.vat_total,
        document.gross_total,
        document.vat_breakdown,
    )
    return {
        row[0]: stored_value(*row[1:])
        for chunk in _chunks(ids)
        for row in session.execute(select(*columns).where(document.id.in_(chunk)))
    }


def recap_values(session: Session, item_ids: Iterable[int]) -> dict[int, Value]:
    """Recap invoices as Carnet computes them: per VAT rate over all their invoices' lines."""
    line = DeferredDocumentLine
    lines: dict[int, list[PricedLine]] = defaultdict(list)
    for chunk in _chunks(item_ids):
        query = (
            select(
                ReplayRecapMember.item_id,
                line.quantity,
                line.unit_price,
                line.price_includes_vat,
                line.vat_rate,
                line.line_amount,
            )
            .join(line, line.document_id == ReplayRecapMember.document_id)
            .where(ReplayRecapMember.item_id.in_(chunk))
        )
        for item_id, quantity, unit_price, includes_vat, vat_rate, amount in session.execute(query):
            lines[item_id].append(PricedLine(quantity, unit_price, includes_vat, vat_rate, amount))
    values = {}
    for item_id, priced_lines in lines.items():
        totals = compute_totals(priced_lines)
        values[item_id] = Value(
            totals.net,
            totals.vat,
            totals.gross,
            tuple((v.rate, v.base, v.amount) for v in totals.vat_breakdown),
        )
    return values


def captured_values(session: Session, items: Sequence[Row[*tuple[Any, ...]]]) -> dict[int, Value]:
    """Items (id, order_id, document_id, period) valued from Carnet's own rows."""
    orders = order_values(session, [item.order_id for item in items if item.order_id])
    documents = document_values(session, [item.document_id for item in items if item.document_id])
    recaps = recap_values(session, [item.id for item in items if item.period is not None])
    values = {}
    for item in items:
        if item.order_id:
            value = orders.get(item.order_id)
        elif item.document_id:
            value = documents.get(item.document_id)
        else:
            value = recaps.get(item.id)
        if value is not None:
            values[item.id] = value
    return values


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    batch = list(ids)
    for start in range(0, len(batch), CHUNK):
        yield batch[start : start + CHUNK]
