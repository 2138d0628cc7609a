"""Answering a request once per key.

The key is recorded, with the answer, in the same unit of work as what the request wrote. When two
requests with one key race (PostgreSQL, two processes), the second one's insert of the key waits for
the first and fails once it commits: everything the second wrote is undone with its savepoint, and
it answers as the first did. Keys are scoped to the caller, and to the kind of request by a prefix
(`delivery:BL-…:`, `return:`; orders have none).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import orjson
from pydantic import BaseModel
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.errors import Conflict, InvalidInput
from app.idempotency.models import IdempotencyRecord

_table = cast(Table, IdempotencyRecord.__table__)
_k = _table.c
_FIND = select(_k.request_hash, _k.response_status, _k.response_body).where(
    _k.caller == bindparam("caller"), _k.key == bindparam("key")
)
_INSERT = insert(_table)


@dataclass(frozen=True)
class Answer:
    """What the caller gets: the JSON body and the status, first time or replayed."""

    status_code: int
    body: bytes
    replayed: bool


def fresh_answer(model: BaseModel, status_code: int) -> Answer:
    return Answer(status_code=status_code, body=orjson.dumps(model.model_dump(mode="json")), replayed=False)


def check_key(key: str) -> None:
    if not 1 <= len(key) <= 200 or not key.isprintable():
        raise InvalidInput(
            "Idempotency-Key must be 1 to 200 printable characters", loc=("header", "Idempotency-Key")
        )


def request_hash(payload: Any) -> str:
    """A request's fingerprint, independent of key order and whitespace."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def find_answer(session: Session, *, caller: str, key: str, request_hash: str) -> Answer | None:
    """The first answer to this key, or None; the key with another request body is refused."""
    record = session.connection().execute(_FIND, {"caller": caller, "key": key}).one_or_none()
    if record is None:
        return None
    if record.request_hash != request_hash:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return Answer(status_code=record.response_status, body=record.response_body.encode(), replayed=True)


def answer_once(
    session: Session,
    *,
    caller: str,
    key: str,
    request_hash: str,
    status_code: int,
    produce: Callable[[], BaseModel],
) -> Answer:
    """Produce the answer (and its writes) once per key, or give back the first answer."""
    earlier = find_answer(session, caller=caller, key=key, request_hash=request_hash)
    if earlier is not None:
        return earlier
    try:
        with session.begin_nested():
            answer = fresh_answer(produce(), status_code)
            session.connection().execute(
                _INSERT,
                {
                    "caller": caller,
                    "key": key,
                    "request_hash": request_hash,
                    "response_status": answer.status_code,
                    "response_body": answer.body.decode(),
                    "created_at": utcnow(),
                },
            )
        return answer
    except IntegrityError:
        earlier = find_answer(session, caller=caller, key=key, request_hash=request_hash)
        if earlier is None:
            raise
        return earlier
