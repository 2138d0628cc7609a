"""Keyset pagination: `?limit=&cursor=` → `{"items": [...], "next_cursor": ...}`.

The cursor is the opaque, URL-safe encoding of the last id returned; pages are in descending id
order for documents (newest first) and ascending for master data.
"""

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from app.errors import InvalidInput

T = TypeVar("T")

# Ids are 64-bit integers in every database: a larger one in a URL is no row, not a driver overflow.
MAX_ID = 2**63 - 1
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=64)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def next_cursor(
    rows: Sequence[Any], limit: int, id_of: Callable[[Any], int] = lambda row: row.id
) -> str | None:
    """The cursor of the page after `rows`: none when the page was not full."""
    return encode_cursor(id_of(rows[-1])) if len(rows) == limit else None


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "id":
            raise ValueError(raw)
        last_id = int(value)
        if not -MAX_ID <= last_id <= MAX_ID:
            raise ValueError(raw)
        return last_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid cursor", loc=("query", "cursor")) from exc
