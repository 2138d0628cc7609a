"""Group commit: the write units of work of hot paths (order capture), batched per event loop.

Under load, many requests want to write at once. On SQLite only one transaction may write at a time,
across threads and processes; letting request threads compete for that lock makes them spin in
SQLite's busy handler (sleeps of 1 to 100 ms) and the tail latency explodes. Instead, a request hands
its unit of work to the process's writer, which runs all the units pending at that moment as one
batch: one transaction, every unit inside its own savepoint. A unit that fails is rolled back alone
and its caller gets its error; the others are committed together, with one fsync. Between processes,
writers take turns through an advisory file lock (`flock`), which wakes the next writer at once.

The batch runs on the event loop's own thread, right after the callbacks that were ready when the
first unit arrived (so the requests that came in together are written together). A writer thread
would have to win the GIL from the event loop while it holds the file lock, and every such wait
(up to the 5 ms switch interval) would stall the other process too.

A caller's result is handed back only after the commit succeeded: nobody is told an order exists
before it is durable. On PostgreSQL the same batching saves commits; there is no file lock.
"""

import asyncio
import fcntl
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import get_engine, open_session

T = TypeVar("T")
Work = Callable[[Session], T]
log = logging.getLogger(__name__)


class UnitOfWorkRunner(Protocol):
    async def read(self, work: Work[T]) -> T:
        """Run `work` on a read-only session."""
        ...

    async def write(self, work: Work[T]) -> T:
        """Run `work` in the next batch of the writer; the result comes once committed."""
        ...


@dataclass
class _Job:
    work: Work[Any]
    future: "asyncio.Future[Any]"


class BatchWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 64) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: list[_Job] = []
        self._drainer: asyncio.Task[None] | None = None

    async def read(self, work: Work[T]) -> T:
        """Run on the event loop itself: capture reads are a few indexed lookups, and a process that
        is busy with requests gains nothing from a thread hop but its cost (the GIL allows one)."""
        session = open_session(self.engine, write=False)
        try:
            return work(session)
        finally:
            session.rollback()
            session.close()

    async def write(self, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        job = _Job(work, loop.create_future())
        self._pending.append(job)
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        result: T = await job.future
        return result

    async def _drain(self) -> None:
        """Write what is pending, batch after batch. While this process waits for its turn (another
        process is writing), the event loop goes on serving requests, and their units join the batch."""
        await asyncio.sleep(0)  # let the requests that arrived together join the first batch
        turn = turn_for(self.engine)
        while self._pending:
            if turn is not None and not turn.try_acquire():
                await asyncio.to_thread(turn.acquire)
            try:
                batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
                try:
                    self._run_batch(batch)
                except BaseException as exc:  # a failed commit fails every unit of its batch
                    log.exception("writer batch failed")
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(exc)
            finally:
                if turn is not None:
                    turn.release()

    def _run_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        session = open_session(self.engine, write=True)
        try:
            for job in batch:
                try:
                    with session.begin_nested():
                        result = job.work(session)
                        session.flush()
                except Exception as exc:
                    outcomes.append((job, None, exc))
                else:
                    outcomes.append((job, result, None))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        for job, result, error in outcomes:
            if job.future.cancelled():
                continue
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)


class WriterTurn:
    """The exclusive right to write to one SQLite database file, among threads and processes: a thread
    lock inside the process, an advisory `flock` on a file next to the database between processes."""

    def __init__(self, path: Path) -> None:
        self._thread_lock = threading.Lock()
        self._handle = path.open("a")

    def acquire(self) -> None:
        self._thread_lock.acquire()
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def try_acquire(self) -> bool:
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._thread_lock.release()
            return False
        return True

    def release(self) -> None:
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
    turn = turn_for(engine)
    if turn is None:
        yield
        return
    turn.acquire()
    try:
        yield
    finally:
        turn.release()


_writer: BatchWriter | None = None
_writer_guard = threading.Lock()


async def get_writer() -> UnitOfWorkRunner:
    global _writer
    with _writer_guard:
        if _writer is None:
            _writer = BatchWriter(get_engine())
        return _writer
