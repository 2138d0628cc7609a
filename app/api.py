"""Dependencies shared by the HTTP routes: the read session, the writer and the caller."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends, Header, Path, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.service import Actor, actor_from_api_key, actor_from_token
from app.db import get_engine, open_session
from app.errors import NotAuthenticated
from app.idempotency import service as idempotency
from app.pagination import MAX_ID
from app.writer import UnitOfWorkRunner, get_writer


def get_session() -> Iterator[Session]:
    """The request's read-only session, for routes that only read (sync routes, run in the threadpool).
    A route that writes hands its unit of work to the writer instead (`Writes`, app/writer.py)."""
    session = open_session(get_engine(), write=False)
    try:
        yield session
    finally:
        session.rollback()
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


ReadSession = Annotated[Session, Depends(get_session, scope="function")]
Writes = Annotated[UnitOfWorkRunner, Depends(get_writer)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
P = TypeVar("P")
RowId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID)]


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@dataclass(frozen=True)
class Once:
    """A write that may carry an `Idempotency-Key`: its unit of work runs once per (caller, scope, key)
    and a retry gets the first answer, sent as stored, with `Idempotent-Replayed: true`. The one place
    where retries are handled (app/idempotency); services return what they made and know nothing of it."""

    caller: str
    key: str | None
    request_hash: str | None

    @classmethod
    def of(cls, actor: Actor, key: str | None, *, scope: str, payload: Any) -> "Once":
        if key is None:
            return cls(actor.caller_key, None, None)
        idempotency.check_key(key)
        return cls(actor.caller_key, f"{scope}{key}", idempotency.request_hash(payload))

    async def write(
        self, writes: UnitOfWorkRunner, work: Callable[[Session], BaseModel], status_code: int = 201
    ) -> Response:
        return await self.write_planned(writes, _no_plan, lambda session, _: work(session), status_code)

    async def write_planned(
        self,
        writes: UnitOfWorkRunner,
        plan: Callable[[Session], P],
        apply: Callable[[Session, P], BaseModel],
        status_code: int = 201,
    ) -> Response:
        """`plan` reads (and may refuse) outside the write lock, `apply` writes. With a key already
        answered, the first answer is given back and neither runs: a retry gets its order even if
        it could no longer be taken now."""
        if self.key is None or self.request_hash is None:
            model = await writes.write_planned(plan, apply)
            return _answer_response(idempotency.fresh_answer(model, status_code))
        key, request_hash = self.key, self.request_hash

        def plan_once(session: Session) -> tuple[idempotency.Answer | None, P | None]:
            earlier = idempotency.find_answer(session, caller=self.caller, key=key, request_hash=request_hash)
            return (earlier, None) if earlier is not None else (None, plan(session))

        def apply_once(
            session: Session, planned: tuple[idempotency.Answer | None, P | None]
        ) -> idempotency.Answer:
            earlier, value = planned
            if earlier is not None:
                return earlier
            return idempotency.answer_once(
                session,
                caller=self.caller,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                produce=lambda: apply(session, cast(P, value)),
            )

        return _answer_response(await writes.write_planned(plan_once, apply_once))


def _no_plan(_session: Session) -> None:
    return None


def _answer_response(answer: idempotency.Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        answer.body, status_code=answer.status_code, media_type="application/json", headers=headers
    )
