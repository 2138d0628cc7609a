"""The one Jinja2 environment of the application, shared by web pages and PDF documents.

Rendering pages and printed documents through the same environment keeps one set of filters, so an
amount reads the same on screen, on a delivery note and on an invoice. Formatting follows CLDR usage
without pulling in a locale library: French groups thousands with a narrow no-break space and puts the
euro sign after the amount behind a no-break space (`1 234,50 €`); English writes `€1,234.50`.
Filters take the language as an argument (`amount|money(lang)`), else read `lang` from the template context.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from app.money import price_str, round_money
from app.paths import TEMPLATES_DIR

Lang = Literal["fr", "en"]
DEFAULT_LANG: Final[Lang] = "fr"


NARROW_NBSP: Final = "\u202f"
NBSP: Final = "\u00a0"

_MONTHS_EN: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _group(number: str, lang: Lang) -> str:
    """Insert the language's separators into a plain `1234.50` string."""
    sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
    whole, _, fraction = digits.partition(".")
    separator = NARROW_NBSP if lang == "fr" else ","
    grouped = f"{int(whole):,}".replace(",", separator)
    decimal_mark = "," if lang == "fr" else "."
    return sign + grouped + (decimal_mark + fraction if fraction else "")


def format_money(amount: Decimal, lang: Lang = DEFAULT_LANG) -> str:
    """An amount in euros, rounded to the cent: `1 234,50 €` (fr) or `€1,234.50` (en)."""
    text = format_amount(amount, lang)
    if lang == "fr":
        return f"{text}{NBSP}€"
    return f"-€{text[1:]}" if text.startswith("-") else f"€{text}"


def format_amount(amount: Decimal, lang: Lang = DEFAULT_LANG) -> str:
    """An amount without the currency sign, for table cells whose heading says €: `1 234,50`."""
    return _group(format(round_money(amount), "f"), lang)


def format_price(price: Decimal, lang: Lang = DEFAULT_LANG) -> str:
    """A unit price without the currency sign, 2 decimals at least and up to 4: `12,50`, `39,9119`."""
    return _group(price_str(price), lang)


def format_quantity(quantity: Decimal | int, lang: Lang = DEFAULT_LANG) -> str:
    """A quantity without trailing zeros: `12`, `1 000`, `2,5` (fr) or `2.5` (en)."""
    value = Decimal(quantity)
    exact = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return _group(format(exact, "f"), lang)


def format_rate(rate: Decimal, lang: Lang = DEFAULT_LANG) -> str:
    """A VAT rate given in percent: `5,5 %` (fr) or `5.5%` (en)."""
    text = format_quantity(rate, lang)
    return f"{text}{NARROW_NBSP}%" if lang == "fr" else f"{text}%"


def format_moment(moment: datetime, timezone: str, lang: Lang = DEFAULT_LANG) -> str:
    """A moment on the given clock, with its zone: `07/12/2026 14:53 CET` (fr) or `7 Dec 2026 14:53 CET`."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{format_date(local.date(), lang)} {local:%H:%M} {local.tzname()}"


def format_date(value: date, lang: Lang = DEFAULT_LANG) -> str:
    """A calendar date as people write it: `26/11/2026` (fr) or `26 Nov 2026` (en)."""
    if lang == "fr":
        return value.strftime("%d/%m/%Y")
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def _lang(context: Context, lang: Lang | None) -> Lang:
    """The language given to the filter, else the template's `lang` (one batch may mix languages)."""
    if lang is not None:
        return lang
    context_lang: Lang = context.get("lang", DEFAULT_LANG)
    return context_lang


@pass_context
def _money_filter(context: Context, amount: Decimal, lang: Lang | None = None) -> str:
    return format_money(amount, _lang(context, lang))


@pass_context
def _amount_filter(context: Context, amount: Decimal, lang: Lang | None = None) -> str:
    return format_amount(amount, _lang(context, lang))


@pass_context
def _price_filter(context: Context, price: Decimal, lang: Lang | None = None) -> str:
    return format_price(price, _lang(context, lang))


@pass_context
def _quantity_filter(context: Context, quantity: Decimal | int, lang: Lang | None = None) -> str:
    return format_quantity(quantity, _lang(context, lang))


@pass_context
def _rate_filter(context: Context, rate: Decimal, lang: Lang | None = None) -> str:
    return format_rate(rate, _lang(context, lang))


@pass_context
def _date_filter(context: Context, value: date, lang: Lang | None = None) -> str:
    return format_date(value, _lang(context, lang))


def _build_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html", "htm", "xml", "svg")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Any] = {
        "money": _money_filter,
        "amount": _amount_filter,
        "price": _price_filter,
        "quantity": _quantity_filter,
        "rate": _rate_filter,
        "date": _date_filter,
    }
    environment.filters.update(filters)
    return environment


environment: Final[Environment] = _build_environment()
