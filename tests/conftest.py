"""Test databases: every database test runs on SQLite and on PostgreSQL.

The schema is built once per engine by `alembic upgrade head`. A test gets a session inside a
transaction that is rolled back at teardown; the API under test shares that session (commits become
savepoint releases). Tests of concurrency get a fresh database of their own (`fresh_engine`), since
they need real commits seen by other connections.
"""

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.api import get_session
from app.auth.dependencies import get_credentials
from app.auth.service import UserState, read_user_state
from app.config import get_settings
from app.db import WRITE_OPTION, get_engine, make_engine
from app.main import create_app
from app.migrate import upgrade
from app.writer import get_writer

POSTGRES_URL = os.environ.get("CARNET_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgresql"]


def _admin_engine() -> Engine:
    assert POSTGRES_URL
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _create_pg_database(name: str, template: str | None = None) -> str:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(name: str) -> None:
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


class Database:
    """A migrated database on one engine, and the means to clone it for tests that commit."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.workdir = workdir
        self.tag = f"carnet_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / 'template.db'}"
        else:
            if not POSTGRES_URL:
                pytest.skip("CARNET_TEST_POSTGRES_URL is not set (./scripts/test sets it)")
            self.url = _create_pg_database(self.tag)
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.clones: list[str] = []

    def clone(self) -> Engine:
        """A fresh copy of the migrated, empty database."""
        index = len(self.clones)
        if self.kind == "sqlite":
            target = self.workdir / f"clone{index}.db"
            # SQLite's backup copies what the write-ahead log holds too: a plain file copy would miss
            # the schema while another connection keeps the template's log from being checkpointed.
            template = self.workdir / "template.db"
            with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(target)) as copy:
                source.backup(copy)
            url = f"sqlite:///{target}"
        else:
            name = f"{self.tag}_c{index}"
            url = _create_pg_database(name, template=self.tag)
        self.clones.append(url)
        return make_engine(url)

    def close(self) -> None:
        self.engine.dispose()
        if self.kind == "postgresql":
            for url in self.clones:
                _drop_pg_database(make_url(url).database or "")
            _drop_pg_database(self.tag)


@pytest.fixture(scope="session", params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(request.param, tmp_path_factory.mktemp(request.param))
    yield db
    db.close()


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    # The template database must stay empty for clones: PostgreSQL refuses to copy a database with
    # open connections, so the test connection is returned to the pool idle, never left mid-transaction.
    with database.engine.execution_options(**{WRITE_OPTION: True}).connect() as connection:
        transaction = connection.begin()
        db_session = Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False
        )
        try:
            yield db_session
        finally:
            db_session.close()
            transaction.rollback()


@pytest.fixture
def fresh_engine(database: Database) -> Iterator[Engine]:
    database.engine.dispose()  # no idle connection may hold the template during the copy
    engine = database.clone()
    yield engine
    engine.dispose()


@pytest.fixture
def cli_engine(fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The CLI's settings and engine (both cached) pointed at a fresh database for this test only."""
    monkeypatch.setenv("CARNET_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield fresh_engine
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_settings.cache_clear()


WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")


class ReadGuard:
    """Fails a test when a route writes outside the writer: like the server's read sessions (read-only
    on both engines), the read session and `read` units refuse statements that write."""

    def __init__(self, session: Session) -> None:
        self.reading = 0
        self.writing = 0
        event.listen(session.connection(), "before_cursor_execute", self._check)

    def _check(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.reading and not self.writing and statement.lstrip().upper().startswith(WRITE_VERBS):
            raise AssertionError(f"a write outside the writer: {statement[:120]}")

    @contextmanager
    def read(self) -> Iterator[None]:
        self.reading += 1
        try:
            yield
        finally:
            self.reading -= 1

    @contextmanager
    def write(self) -> Iterator[None]:
        self.writing += 1
        try:
            yield
        finally:
            self.writing -= 1


def serve_from(app: FastAPI, session: Session, engine: Engine) -> None:
    """Make `app` answer from the test's session: reads on it, the writer's units of work in
    savepoints of it (as the writer does in its batch), credentials and locks read in it."""
    guard = ReadGuard(session)

    def request_session() -> Iterator[Session]:
        with guard.read():
            yield session

    class SessionCredentials:
        """Credentials and locks read on the test's session, read-only like the server's."""

        def user_state(self, user_id: int) -> UserState | None:
            connection = session.connection()
            with guard.read():
                return read_user_state(connection.connection, connection.dialect, user_id)

        def read(self, work: Callable[[Session], Any]) -> Any:
            with guard.read():
                return work(session)

    class SessionRunner:
        async def write(self, work: Callable[[Session], Any], *, rank: int = 0) -> Any:
            with guard.write(), session.begin_nested():
                return work(session)

        async def write_planned(
            self, plan: Callable[[Session], Any], apply: Callable[..., Any], *, rank: int = 0
        ) -> Any:
            with guard.read():
                planned = plan(session)
            with guard.write(), session.begin_nested():
                return apply(session, planned)

    app.dependency_overrides[get_session] = request_session
    app.dependency_overrides[get_writer] = SessionRunner
    app.dependency_overrides[get_credentials] = SessionCredentials
    app.dependency_overrides[get_engine] = lambda: engine


@pytest.fixture
def client(session: Session, engine: Engine) -> Iterator[TestClient]:
    app = create_app()
    serve_from(app, session, engine)
    # Callers on the loopback, as the metrics' default network expects in development.
    with TestClient(app, client=("127.0.0.1", 50000)) as test_client:
        yield test_client
