"""Who is calling: a person with a bearer token or a partner with an `X-API-Key`."""

import time
from collections.abc import Callable
from functools import partial
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api import Writes
from app.auth import throttle
from app.auth.models import Role
from app.auth.service import Actor, TooManyAttempts, actor_from_api_key, actor_from_token
from app.clock import utcnow
from app.db import get_engine, open_session
from app.errors import NotAuthenticated, NotPermitted

T = TypeVar("T")
_partner_cache: dict[str, tuple[float, Actor]] = {}
PARTNER_CACHE_SECONDS = 30.0


class AuthReads(Protocol):
    """Runs a read (a caller's credentials, a lock) on a read-only session of its own."""

    def __call__(self, work: Callable[[Session], T]) -> T: ...


def _read_briefly(work: Callable[[Session], T]) -> T:
    session = open_session(get_engine(), write=False)
    try:
        return work(session)
    finally:
        session.rollback()
        session.close()


async def get_auth_reads() -> AuthReads:
    return _read_briefly


Reads = Annotated[AuthReads, Depends(get_auth_reads)]


async def get_actor(request: Request, reads: Reads, writes: Writes) -> Actor:
    """A bearer token (people), checked against the user as it stands now (one read by primary key),
    or an `X-API-Key` (partners), looked up in the database and remembered for a few seconds, so that
    a revoked key stops working within that delay. Unknown keys are counted per address."""
    api_key = request.headers.get("x-api-key")
    if api_key:
        cached = _partner_cache.get(api_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        actor = await _partner(request, api_key, reads, writes)
        _partner_cache[api_key] = (time.monotonic() + PARTNER_CACHE_SECONDS, actor)
        return actor
    actor = await run_in_threadpool(reads, partial(actor_from_token, token=bearer_token(request)))
    check_supplier_reach(request, actor)
    return actor


async def get_optional_actor(request: Request, reads: Reads, writes: Writes) -> Actor | None:
    """The caller of a route anyone may call: None without credentials (wrong ones are still 401)."""
    if "x-api-key" not in request.headers and "authorization" not in request.headers:
        return None
    return await get_actor(request, reads, writes)


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("send a bearer token (POST /api/v1/auth/token) or a partner's X-API-Key")
    return token.strip()


async def _partner(request: Request, api_key: str, reads: AuthReads, writes: Writes) -> Actor:
    try:
        return await run_in_threadpool(reads, partial(actor_from_api_key, api_key=api_key))
    except NotAuthenticated:
        address = throttle.client_address(request.client.host if request.client else None)
        now = utcnow()
        locked_until = await run_in_threadpool(
            reads, partial(throttle.api_key_lock, address=address, now=now)
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
