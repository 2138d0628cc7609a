"""Pricing and totals: the one place that turns lines into amounts, for orders, delivery notes,
deferred invoices and credit notes alike. Pure functions, no database. Rounding rules: see app/money.py.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from app.money import ZERO, percent, rate_str, round_money, round_price


class PricedLine(NamedTuple):
    """A line's amount in the basis of its price: net when priced without VAT, gross when with. A named
    tuple: an EDI interchange prices ten thousand lines, and a frozen dataclass costs four times as much
    to build."""

    quantity: Decimal
    unit_price: Decimal
    price_includes_vat: bool
    vat_rate: Decimal
    line_amount: Decimal

    @property
    def net_amount(self) -> Decimal:
        """Net amount of this line alone. For VAT-inclusive prices it is indicative: the order's net is
        computed per rate on the sum of the lines, which can differ from the sum of these by a cent."""
        if not self.price_includes_vat:
            return self.line_amount
        return round_money(self.line_amount / (1 + percent(self.vat_rate)))


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    net: Decimal
    vat: Decimal
    gross: Decimal
    vat_breakdown: tuple[VatLine, ...]


def price_line(
    *,
    quantity: Decimal,
    unit_price: Decimal,
    price_includes_vat: bool,
    vat_rate: Decimal,
    line_discount_percent: Decimal = ZERO,
    customer_discount_percent: Decimal = ZERO,
) -> PricedLine:
    """Discounts apply in cascade: first the line's, then the customer's, on what remains."""
    net_price = net_unit_price(unit_price, line_discount_percent, customer_discount_percent)
    return PricedLine(quantity, unit_price, price_includes_vat, vat_rate, round_money(quantity * net_price))


def net_unit_price(
    unit_price: Decimal, line_discount_percent: Decimal = ZERO, customer_discount_percent: Decimal = ZERO
) -> Decimal:
    """The unit price once the discounts are applied in cascade (in the basis of the price)."""
    return round_price(
        unit_price * (1 - percent(line_discount_percent)) * (1 - percent(customer_discount_percent))
    )


def compute_totals(lines: Iterable[PricedLine]) -> Totals:
    net_by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    gross_by_rate: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in lines:
        target = gross_by_rate if line.price_includes_vat else net_by_rate
        target[line.vat_rate] += line.line_amount

    breakdown = []
    for rate in sorted(set(net_by_rate) | set(gross_by_rate)):
        net_part = net_by_rate.get(rate, ZERO)
        gross_part = gross_by_rate.get(rate, ZERO)
        base_from_gross = round_money(gross_part / (1 + percent(rate)))
        base = net_part + base_from_gross
        vat = round_money(net_part * percent(rate)) + (gross_part - base_from_gross)
        breakdown.append(VatLine(rate=rate, base=base, amount=vat))
    net = sum((v.base for v in breakdown), ZERO)
    vat = sum((v.amount for v in breakdown), ZERO)
    return Totals(net=net, vat=vat, gross=net + vat, vat_breakdown=tuple(breakdown))


def breakdown_json(totals: Totals) -> list[dict[str, str]]:
    """The VAT breakdown as stored with a document (a JSON column): exact decimal strings."""
    return [
        {"rate": rate_str(v.rate), "base": str(v.base), "amount": str(v.amount)} for v in totals.vat_breakdown
    ]


def stored_totals(net: Decimal, vat: Decimal, gross: Decimal, breakdown: list[Any]) -> Totals:
    """The frozen totals of an issued document, read back from its columns."""
    lines = tuple(
        VatLine(rate=Decimal(v["rate"]), base=Decimal(v["base"]), amount=Decimal(v["amount"]))
        for v in breakdown
    )
    return Totals(net=net, vat=vat, gross=gross, vat_breakdown=lines)
