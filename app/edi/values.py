"""Reading the scalar values every format shares: decimals, dates and item identifiers."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from stdnum import ean, isbn

from app.edi.documents import ItemIdentifier, ItemIdKind

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_MAX_COUNT_DIGITS = 18

# Qualifier codes of EDIFACT 7143, X12 235 and CSV/XML pseudo-qualifiers, by what they mean.
_KIND_BY_QUALIFIER: dict[str, ItemIdKind] = {
    "EN": ItemIdKind.GTIN,
    "SRV": ItemIdKind.GTIN,
    "UK": ItemIdKind.GTIN,
    "EO": ItemIdKind.GTIN,
    "0160": ItemIdKind.GTIN,
    "GTIN": ItemIdKind.GTIN,
    "UP": ItemIdKind.UPC,
    "UA": ItemIdKind.UPC,
    "UI": ItemIdKind.UPC,
    "IB": ItemIdKind.ISBN,
    "IS": ItemIdKind.ISBN,
    "IN": ItemIdKind.BUYER,
    "BP": ItemIdKind.BUYER,
    "CB": ItemIdKind.BUYER,
    "PI": ItemIdKind.BUYER,
    "SA": ItemIdKind.SELLER,
    "VN": ItemIdKind.SELLER,
    "VA": ItemIdKind.SELLER,
    "VC": ItemIdKind.SELLER,
    "VP": ItemIdKind.SELLER,
    "MP": ItemIdKind.SELLER,
}


@lru_cache(maxsize=65_536)
def parse_decimal(text: str) -> Decimal | None:
    """A quantity or price as sent, or ``None`` when it is not a plain decimal number.

    EDIFACT allows either ``.`` or ``,`` as decimal mark and forbids thousands separators, so a
    single mark of either kind is unambiguous; exponents, NaN and spaces are refused.
    """
    if not _DECIMAL.fullmatch(text):
        return None
    return Decimal(text.replace(",", "."))


def parse_count(text: str) -> int | None:
    """A control count (UNT, SE, CNT...): ASCII digits only, and short enough to be a count."""
    if text.isascii() and text.isdigit() and len(text) <= _MAX_COUNT_DIGITS:
        return int(text)
    return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@lru_cache(maxsize=4_096)
def parse_edifact_date(value: str, format_code: str) -> date | None:
    """A DTM C507 value in the common EDIFACT 2379 formats; ``None`` if it does not fit."""
    patterns = {
        "102": ("%Y%m%d", 8),
        "203": ("%Y%m%d%H%M", 12),
        "204": ("%Y%m%d%H%M%S", 14),
        "101": ("%y%m%d", 6),
        "718": ("%Y%m%d", 8),  # a period CCYYMMDD-CCYYMMDD: its start
        "719": ("%Y%m%d%H%M", 12),
    }
    pattern = patterns.get(format_code or "102")
    if pattern is None:
        return None
    fmt, width = pattern
    text = value[:width] if format_code in ("718", "719") else value
    if len(text) != width or not _digits(text):
        return None
    return _strptime(text, fmt)


@lru_cache(maxsize=4_096)
def parse_compact_date(value: str) -> date | None:
    """CCYYMMDD or YYMMDD (X12 dates, GS/ISA dates, CSV flat files)."""
    if _digits(value) and len(value) == 8:
        return _strptime(value, "%Y%m%d")
    if _digits(value) and len(value) == 6:
        return _strptime(value, "%y%m%d")
    return None


def _strptime(text: str, fmt: str) -> date | None:
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        return None


def envelope_datetime(day: str, time: str) -> datetime | None:
    """UNB S004 / ISA09-10 / GS04-05 preparation date and time (YYMMDD or CCYYMMDD, HHMM[SS])."""
    digits = day + time[:4]
    for fmt, width in (("%y%m%d%H%M", 10), ("%Y%m%d%H%M", 12)):
        if len(digits) == width and _digits(digits):
            try:
                return datetime.strptime(digits, fmt)
            except ValueError:
                return None
    return None


@lru_cache(maxsize=65_536)
def item_identifier(value: str, qualifier: str | None) -> ItemIdentifier:
    """Classify an identifier by its qualifier; only unqualified numbers are judged by check digit.

    A GTIN-13 with the Bookland prefix 978/979 is reported as an ISBN: book-trade partners order
    by ISBN and the catalogue stores it in the same GTIN column anyway. Cached: a busy partner
    orders the same few thousand items all day, and the ISBN check is the costliest step of a line.
    """
    code = (qualifier or "").upper()
    kind = _KIND_BY_QUALIFIER.get(code)
    if kind is None:
        kind = ItemIdKind.GTIN if not code and _looks_like_gtin(value) else ItemIdKind.OTHER
    if kind is ItemIdKind.GTIN and len(value) == 13 and value[:3] in ("978", "979") and isbn.is_valid(value):
        kind = ItemIdKind.ISBN
    return ItemIdentifier(kind=kind, value=value, qualifier=qualifier or None)


def _looks_like_gtin(value: str) -> bool:
    return _digits(value) and len(value) in (8, 12, 13, 14) and ean.is_valid(value)
