"""The application on a committed database, for tests whose work continues outside the request (a
replay run executing in the background): reads and writes commit as in production, through a real
writer thread."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.api import get_session
from app.auth.dependencies import get_partner_lookup
from app.auth.service import Actor, actor_from_api_key
from app.db import get_engine, open_session, session_scope
from app.main import create_app
from app.writer import Writer, get_writer


@contextmanager
def committed_client(engine: Engine, overrides: dict[Any, Any] | None = None) -> Iterator[TestClient]:
    def request_session() -> Iterator[Session]:
        session = open_session(engine, write=False)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def partner(api_key: str) -> Actor:
        with session_scope(engine, write=False) as session:
            return actor_from_api_key(session, api_key)

    writer = Writer(engine)
    app = create_app()
    app.dependency_overrides[get_session] = request_session
    app.dependency_overrides[get_partner_lookup] = lambda: partner
    app.dependency_overrides[get_engine] = lambda: engine
    app.dependency_overrides[get_writer] = lambda: writer
    app.dependency_overrides.update(overrides or {})
    try:
        with TestClient(app, client=("127.0.0.1", 50000)) as client:  # on the loopback, like /metrics readers
            yield client
    finally:
        writer.stop()
