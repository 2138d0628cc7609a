"""Dependencies shared by the HTTP routes: the request's unit of work and the caller."""

import time
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Path, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.service import Actor, actor_from_api_key, actor_from_token
from app.db import get_engine, open_session
from app.errors import NotAuthenticated
from app.idempotency import Answer
from app.pagination import MAX_ID

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the route returns, rolled back when it raises.

    Used with `scope="function"`, so the commit happens before the answer is sent: a client never
    sees a 201 for an order that failed to commit.
    """
    session = open_session(get_engine(), write=request.method not in READ_METHODS)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


_partner_cache: dict[str, tuple[float, Actor]] = {}
PARTNER_CACHE_SECONDS = 30.0


PartnerLookup = Callable[[str], Actor]


def _partner_actor(api_key: str) -> Actor:
    session = open_session(get_engine(), write=False)
    try:
        return actor_from_api_key(session, api_key)
    finally:
        session.close()


async def get_partner_lookup() -> PartnerLookup:
    return _partner_actor


async def get_actor(request: Request, lookup: Annotated[PartnerLookup, Depends(get_partner_lookup)]) -> Actor:
    """A bearer token (people) or an `X-API-Key` (partners). Partner keys are looked up in the database
    and remembered for a few seconds, so that a revoked key stops working within that delay."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        cached = _partner_cache.get(api_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        actor = await run_in_threadpool(lookup, api_key)
        _partner_cache[api_key] = (time.monotonic() + PARTNER_CACHE_SECONDS, actor)
        return actor
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send a bearer token (POST /api/v1/auth/token) or a partner's X-API-Key")
    return actor_from_token(token.strip())


DbSession = Annotated[Session, Depends(get_session, scope="function")]
CurrentActor = Annotated[Actor, Depends(get_actor)]
RowId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID)]


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def json_answer(answer: Answer) -> Response:
    """An answer kept for retries, sent as stored; a replay says so in `Idempotent-Replayed`."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        answer.body, status_code=answer.status_code, media_type="application/json", headers=headers
    )
