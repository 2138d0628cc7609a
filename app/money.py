"""Money and quantity arithmetic: the one place where rounding happens.

Rounding rule (French commercial practice, and what the ERP does): amounts are rounded to the cent,
half away from zero (ROUND_HALF_UP on Decimal), at these points only:
- each line's net unit price: unit price x (1 - line discount) x (1 - customer discount), rounded to
  4 decimals like every stored unit price;
- each line amount: quantity x net unit price, so that a printed line adds up by hand;
- per VAT rate, on the sum of the line amounts of that rate (never line by line):
  - lines priced without VAT: vat = round(sum_net x rate);
  - lines priced with VAT included (a book's fixed public price): the gross sum is what the customer pays,
    base = round(sum_gross / (1 + rate)), vat = sum_gross - base.
Totals are sums of the per-rate figures, so gross = net + vat and the breakdown adds up exactly.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PRICE_STEP = Decimal("0.0001")
HUNDRED = Decimal(100)
ZERO = Decimal(0)
# The largest amount a money column holds (NUMERIC(12, 2)): anything above cannot be stored.
MAX_AMOUNT = Decimal("9999999999.99")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(value: Decimal) -> Decimal:
    """A unit price to its 4 stored decimals."""
    return value.quantize(PRICE_STEP, rounding=ROUND_HALF_UP)


def percent(rate: Decimal) -> Decimal:
    return rate / HUNDRED


def money_str(value: Decimal) -> str:
    """The API's representation of an amount: a string with exactly two decimals."""
    return str(round_money(value))


def price_str(value: Decimal) -> str:
    """A unit price: two decimals at least, up to four when the price has them (`0.1234`)."""
    rounded = round_money(value)
    return str(rounded) if rounded == value else format(value.normalize(), "f")


def rate_str(value: Decimal) -> str:
    """A rate in percent as a short decimal string: `20`, `5.5`, `2.1`."""
    normalized = value.normalize()
    return format(normalized, "f") if normalized == normalized.to_integral() else str(normalized)


def quantity_out(value: Decimal) -> int | str:
    """Integral quantities as JSON integers, fractional ones as decimal strings."""
    if value == value.to_integral_value():
        return int(value)
    return format(value.normalize(), "f")
