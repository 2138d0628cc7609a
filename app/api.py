"""Dependencies shared by the HTTP routes: the request's unit of work and the caller."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.auth.service import Actor, actor_from_token
from app.db import get_engine, open_session
from app.errors import NotAuthenticated

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


async def get_actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated("send a bearer token (POST /api/v1/auth/token)")
    return actor_from_token(token.strip())


DbSession = Annotated[Session, Depends(get_session, scope="function")]
CurrentActor = Annotated[Actor, Depends(get_actor)]
