"""Engine, sessions and column types shared by every capability.

SQLite runs in WAL mode with foreign keys on. pysqlite's own transaction handling is switched off so
that we can emit `BEGIN IMMEDIATE` for write transactions: the write lock is taken at the start
instead of at the first write. Before that, a writer takes its turn (`WriterTurn`), so that writers
of one database file queue in order instead of spinning in SQLite's busy handler. Read sessions are
read-only on both engines (`PRAGMA query_only`, `BEGIN READ ONLY`): a write that does not go through
the writer (app/writer.py) fails at once instead of taking a lock behind everybody's back.
"""

import fcntl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Integer,
    MetaData,
    Numeric,
    create_engine,
    event,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from app.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

WRITE_OPTION = "carnet_write"  # execution option of write transactions
# PostgreSQL's SQLSTATEs for "run it again": serialization failure, deadlock detected.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01"})
MAX_ATTEMPTS = 5
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


_CONVERTED_VALUES = 4096  # per column type and dialect: what `ExactDecimal` remembers


class ExactDecimal(TypeDecorator[Decimal]):
    """A fixed-scale decimal stored exactly on every engine.

    PostgreSQL gets NUMERIC(precision, scale). SQLite has no decimal type and would go through float,
    so there the value is stored as a scaled integer (12.50 at scale 2 is 1250): exact, and SQL can
    still add, compare and SUM values of one column. Never mix columns of different scales in SQL.
    """

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 12, scale: int = 2) -> None:
        super().__init__(precision, scale)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        quantized = Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)
        return int(quantized.scaleb(self.scale)) if dialect.name == "sqlite" else quantized

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        """What `process_bind_param` does, as one closure per dialect: every insert of amounts and
        quantities goes through it (ten thousand lines of an interchange: ninety thousand values),
        and the generic chain around `process_bind_param` costs twice the conversion itself."""
        quantum, scale = self._quantum, self.scale
        if dialect.name == "sqlite":
            # The same few values come again and again (quantities, a catalogue's prices and rates):
            # each is converted once. Equal values (2, 2.0, 2.00) have one scaled integer.
            converted: dict[Decimal, int] = {}

            def scaled_integer(value: Decimal | None) -> int | None:
                if value is None:
                    return None
                found = converted.get(value)
                if found is None:
                    found = int(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP).scaleb(scale))
                    if len(converted) >= _CONVERTED_VALUES:
                        converted.clear()
                    converted[value] = found
                return found

            return scaled_integer

        def exact(value: Decimal | None) -> Decimal | None:
            if value is None:
                return None
            return Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP)

        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return value if isinstance(value, Decimal) else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every engine (SQLite would hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Keys: 64 bits on PostgreSQL (tables that grow: orders, lines, outbox, interchanges…; and every id a
# client may send in a path fits), SQLite's INTEGER PRIMARY KEY (an alias of its 64-bit rowid) there.
Id = BigInteger().with_variant(Integer(), "sqlite")


def Money() -> ExactDecimal:
    return ExactDecimal(12, 2)


def UnitPrice() -> ExactDecimal:
    return ExactDecimal(12, 4)


def Quantity() -> ExactDecimal:
    return ExactDecimal(14, 3)


def Rate() -> ExactDecimal:
    return ExactDecimal(5, 2)


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        info = connection.connection.info
        if info.get("query_only") != (not write):
            connection.exec_driver_sql(f"PRAGMA query_only={'OFF' if write else 'ON'}")
            info["query_only"] = not write
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _json_text(value: Any) -> str:
    """JSON columns are written by orjson: a 1,000-order EDI interchange writes ~8,000 of them, and the
    standard library's encoder took a twentieth of its ingestion. Integer keys become strings, as
    the standard library makes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, *, synchronous: str = "FULL", pool_size: int = 20) -> Engine:
    json = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=20,
            connect_args={"check_same_thread": False, "timeout": 10},
            **json,
        )
        _configure_sqlite(engine, synchronous)
        return engine
    return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True, **json)


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)


@lru_cache(maxsize=8)
def writing_engine(engine: Engine) -> Engine:
    return engine.execution_options(**{WRITE_OPTION: True})


@lru_cache(maxsize=8)
def _reading(engine: Engine) -> Engine:
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


def open_session(engine: Engine, *, write: bool) -> Session:
    """A session whose first statement starts a transaction: a write one takes SQLite's write lock up
    front (the caller holds the writer's turn), a read one may not write."""
    bind = writing_engine(engine) if write else _reading(engine)
    return Session(bind=bind, expire_on_commit=False, autoflush=False)


@contextmanager
def session_scope(engine: Engine | None = None, *, write: bool = True) -> Iterator[Session]:
    """One unit of work outside the server's writer (command line, replay workers): committed on
    success, rolled back on error; a write one holds the writer's turn from begin to commit."""
    engine = engine or get_engine()
    with writer_turn(engine) if write else nullcontext():
        session = open_session(engine, write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def run_unit(work: Callable[[Session], T], engine: Engine | None = None) -> T:
    """`work` in a `session_scope` of its own, run again (a few times) when PostgreSQL chose it as the
    victim of a deadlock or a serialization failure: for units outside the server's writer."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except DBAPIError as exc:
            if not is_transient(exc) or attempt == MAX_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def is_transient(exc: BaseException) -> bool:
    """A failure that running the same unit again, in another transaction, may not meet."""
    if not isinstance(exc, DBAPIError):
        return False
    return getattr(exc.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


class WriterTurn:
    """The exclusive right to write to one SQLite database file, among threads and processes: a thread
    lock inside the process, an advisory `flock` on a file next to the database between processes.
    A thread that asks for the turn it holds is refused: its second transaction would wait for its
    first one forever."""

    def __init__(self, path: Path) -> None:
        self._thread_lock = threading.Lock()
        self._handle = path.open("a")
        self._owner: int | None = None

    def acquire(self) -> None:
        self._refuse_a_second_turn()
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._owner = threading.get_ident()

    def try_acquire(self) -> bool:
        """The turn if nobody holds it, without waiting."""
        self._refuse_a_second_turn()
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        self._owner = threading.get_ident()
        return True

    def _refuse_a_second_turn(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError("this thread already writes to the database: one write transaction at a time")

    def release(self) -> None:
        self._owner = None
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._thread_lock.release()


_turns: dict[Path, WriterTurn] = {}
_turns_guard = threading.Lock()


def turn_for(engine: Engine) -> WriterTurn | None:
    """The turn of a SQLite file database; None for engines that take concurrent writers."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return None
    path = Path(database).resolve().with_suffix(".writer-lock")
    with _turns_guard:
        if path not in _turns:
            _turns[path] = WriterTurn(path)
        return _turns[path]


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """The turn of the engine's database file from begin to commit (nothing on PostgreSQL)."""
    turn = turn_for(engine)
    if turn is None:
        yield
        return
    turn.acquire()
    try:
        yield
    finally:
        turn.release()
