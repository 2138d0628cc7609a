"""Who is calling: a person with a bearer token or a partner with an `X-API-Key`."""

import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from app.auth.models import Role
from app.auth.service import Actor, actor_from_api_key, actor_from_token
from app.db import get_engine, open_session
from app.errors import NotAuthenticated, NotPermitted

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
    actor = actor_from_token(token.strip())
    check_supplier_reach(request, actor)
    return actor


# What a supplier's users may call: they read their titles and their report, nothing else. Denied by
# default, so that a route added later does not show a supplier the distributor's customers.
SUPPLIER_PATHS = ("/api/v1/products", "/api/v1/suppliers/")


def check_supplier_reach(request: Request, actor: Actor) -> None:
    if actor.role != Role.SUPPLIER:
        return
    if request.method not in ("GET", "HEAD") or not request.url.path.startswith(SUPPLIER_PATHS):
        raise NotPermitted("a supplier's account reads only its own titles and their report")


CurrentActor = Annotated[Actor, Depends(get_actor)]
