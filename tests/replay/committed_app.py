"""The application on a committed database, for tests whose work continues outside the request (a
replay run executing in the background): every request commits, as in production."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api import READ_METHODS, get_partner_lookup, get_session
from app.auth.service import Actor, actor_from_api_key
from app.db import get_engine, open_session, session_scope
from app.main import create_app
from app.writer import get_writer

T = TypeVar("T")


class CommittingRunner:
    """Each unit of work of the capture path in its own committed transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def read(self, work: Callable[[Session], T]) -> T:
        return await run_in_threadpool(self._run, work, False)

    async def write(self, work: Callable[[Session], T]) -> T:
        return await run_in_threadpool(self._run, work, True)

    def _run(self, work: Callable[[Session], T], write: bool) -> T:
        with session_scope(self._engine, write=write) as session:
            return work(session)


@contextmanager
def committed_client(engine: Engine, overrides: dict[Any, Any] | None = None) -> Iterator[TestClient]:
    def request_session(request: Request) -> Iterator[Session]:
        session = open_session(engine, write=request.method not in READ_METHODS)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def partner(api_key: str) -> Actor:
        with session_scope(engine, write=False) as session:
            return actor_from_api_key(session, api_key)

    runner = CommittingRunner(engine)
    app = create_app()
    app.dependency_overrides[get_session] = request_session
    app.dependency_overrides[get_partner_lookup] = lambda: partner
    app.dependency_overrides[get_engine] = lambda: engine
    app.dependency_overrides[get_writer] = lambda: runner
    app.dependency_overrides.update(overrides or {})
    with TestClient(app) as client:
        yield client
