"""What people type at the desk, read as they mean it: French numbers (`2,5`, `1 000`) and the
mistakes a form refuses, said as the desk speaks (pydantic's own messages are English and speak of
"input" and "decimal"; the page's `t` gives the English)."""

from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy.orm import Session

from app.catalog.repository import find_products

MISTAKES: Final = {
    "decimal_parsing": "un nombre, comme 3 ou 2,5",
    "decimal_type": "un nombre, comme 3 ou 2,5",
    "greater_than": "une quantité de plus que 0",
    "greater_than_equal": "une quantité de 0 ou plus",
    "decimal_max_digits": "nombre trop grand",
    "decimal_whole_digits": "nombre trop grand",
    "decimal_max_places": "trop de décimales",
    "finite_number": "un nombre, comme 3 ou 2,5",
    "missing": "obligatoire",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "caractères non admis",
    "int_parsing": "un nombre entier, comme 3",
    "int_type": "un nombre entier, comme 3",
    "int_from_float": "un nombre entier, comme 3",
    "less_than_equal": "nombre trop grand",
}


def number_text(text: str) -> str:
    """A number as a French desk types it (`2,5`, `1 000`), as a decimal reads it (`2.5`, `1000`)."""
    return text.replace(",", ".").replace("\u202f", "").replace("\u00a0", "").replace(" ", "")


def decimal_of(text: str) -> Decimal | None:
    try:
        value = Decimal(number_text(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def said(error: Any) -> str:
    """A validation error of a form field, as the desk says it."""
    bound = (error.get("ctx") or {}).get("ge")
    if error["type"] == "greater_than_equal" and bound not in (None, 0):
        return f"au moins {bound}"
    return MISTAKES.get(error["type"]) or str(error["msg"]).removeprefix("Value error, ")


def item_code(session: Session, typed: str) -> tuple[str | None, str | None]:
    """The product a person means by what they typed in an item field (a code, a GTIN as scanned, or
    words of its title): its code, or why none is taken."""
    found = find_products(session, typed, limit=2)
    exact = [p for p in found if typed in (p.code, p.gtin) or p.code == typed.upper()]
    if exact or len(found) == 1:
        return (exact or found)[0].code, None
    return None, "aucun article ne correspond" if not found else "plusieurs articles correspondent : précisez"
