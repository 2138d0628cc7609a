"""Who is calling: a person with a bearer token or a partner with an `X-API-Key`."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api import Writes
from app.auth import throttle
from app.auth.models import Role
from app.auth.service import (
    Actor,
    TooManyAttempts,
    UserState,
    actor_from_api_key,
    actor_of,
    read_user_state,
    token_subject,
)
from app.clock import utcnow
from app.db import get_engine, open_session
from app.errors import NotAuthenticated, NotPermitted
from app.logs import note_caller

T = TypeVar("T")
_partner_cache: dict[str, tuple[float, Actor]] = {}
PARTNER_CACHE_SECONDS = 30.0


class Credentials(Protocol):
    """Where a caller's credentials are checked: the user a token names (on every request), and other
    reads (a partner's key, a lock) on a read-only session of their own."""

    def user_state(self, user_id: int) -> UserState | None: ...

    def read(self, work: Callable[[Session], T]) -> T: ...


@dataclass(frozen=True)
class DatabaseCredentials:
    engine: Engine

    def user_state(self, user_id: int) -> UserState | None:
        """On a driver connection from the pool, given back at once; on PostgreSQL outside any
        transaction, since one SELECT needs none: two round trips (the pool's ping, the read) instead of
        four (BEGIN and ROLLBACK around it). About 25 µs on SQLite, 0.5 ms on PostgreSQL (README)."""
        connection = self.engine.raw_connection()
        try:
            if self.engine.dialect.name != "postgresql":
                return read_user_state(connection, self.engine.dialect, user_id)
            connection.driver_connection.autocommit = True  # type: ignore[union-attr]
            try:
                return read_user_state(connection, self.engine.dialect, user_id)
            finally:
                connection.driver_connection.autocommit = False  # type: ignore[union-attr]
        finally:
            connection.close()

    def read(self, work: Callable[[Session], T]) -> T:
        session = open_session(self.engine, write=False)
        try:
            return work(session)
        finally:
            session.rollback()
            session.close()


async def get_credentials() -> Credentials:
    return DatabaseCredentials(get_engine())


CallerCredentials = Annotated[Credentials, Depends(get_credentials)]


async def get_actor(request: Request, credentials: CallerCredentials, writes: Writes) -> Actor:
    """A bearer token (people), checked against the user as it stands now (one read by primary key),
    or an `X-API-Key` (partners), looked up in the database and remembered for a few seconds, so that
    a revoked key stops working within that delay. Unknown keys are counted per address."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        cached = _partner_cache.get(api_key)
        if cached is not None and cached[0] > time.monotonic():
            actor = cached[1]
        else:
            actor = await _partner(request, api_key, credentials, writes)
            _partner_cache[api_key] = (time.monotonic() + PARTNER_CACHE_SECONDS, actor)
    else:
        user_id, version = token_subject(bearer_token(request))
        actor = actor_of(user_id, version, await run_in_threadpool(credentials.user_state, user_id))
        check_supplier_reach(request, actor)
    note_caller(request, kind=actor.kind, name=actor.name)  # named on the request's access line
    return actor


async def get_optional_actor(
    request: Request, credentials: CallerCredentials, writes: Writes
) -> Actor | None:
    """The caller of a route anyone may call: None without credentials (wrong ones are still 401)."""
    if "x-api-key" not in request.headers and "authorization" not in request.headers:
        return None
    return await get_actor(request, credentials, writes)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send a bearer token (POST /api/v1/auth/token) or a partner's X-API-Key")
    return token.strip()


async def _partner(request: Request, api_key: str, credentials: Credentials, writes: Writes) -> Actor:
    try:
        return await run_in_threadpool(credentials.read, partial(actor_from_api_key, api_key=api_key))
    except NotAuthenticated:
        address = throttle.client_address(request.client.host if request.client else None)
        now = utcnow()
        locked_until = await run_in_threadpool(
            credentials.read, partial(throttle.api_key_lock, address=address, now=now)
        )
        if locked_until is not None:
            raise TooManyAttempts(locked_until=locked_until, now=now, what="unknown API keys") from None
        await writes.write(partial(throttle.count_api_key_failure, address=address, now=now))
        raise


# What a supplier's users may call: they read their titles and their report (and, as anyone may, the
# system's mode), nothing else; and sign out. Denied by default, so that a route added later does not
# show a supplier the distributor's customers.
SUPPLIER_PATHS = ("/api/v1/products", "/api/v1/suppliers/", "/api/v1/system")
SIGN_OUT_PATH = "/api/v1/auth/sign-out"


def check_supplier_reach(request: Request, actor: Actor) -> None:
    if actor.role != Role.SUPPLIER or (request.method == "POST" and request.url.path == SIGN_OUT_PATH):
        return
    if request.method not in ("GET", "HEAD") or not request.url.path.startswith(SUPPLIER_PATHS):
        raise NotPermitted("a supplier's account reads only its own titles and their report")


CurrentActor = Annotated[Actor, Depends(get_actor)]
OptionalActor = Annotated[Actor | None, Depends(get_optional_actor)]
