"""Group commit: the order capture path's units of work, run by one writer thread per process.

Under load, many requests want to write at once. On SQLite only one transaction may write at a time,
across threads and processes; letting request threads compete for that lock makes them spin in
SQLite's busy handler (sleeps of 1 to 100 ms) and the tail latency explodes. Instead, each process
has one writer thread that takes the pending units of work in batches and runs each batch in one
transaction, every unit inside its own savepoint: a unit that fails is rolled back alone and its
caller gets its error; the others are committed together, with one fsync. Between processes, the
writers take turns through an advisory file lock (`flock`), which wakes the next writer at once.

A caller's result is handed back only after the commit succeeded: nobody is told an order exists
before it is durable. On PostgreSQL the same batching saves commits; there is no file lock.
"""

import asyncio
import fcntl
import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
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
        """Run `work` on a read-only session, off the event loop."""
        ...

    async def write(self, work: Work[T]) -> T:
        """Run `work` in the next batch of the writer; the result comes once committed."""
        ...


@dataclass
class _Job:
    work: Work[Any]
    future: Future[Any] = field(default_factory=Future)


class BatchWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 32) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="carnet-writer", daemon=True)
        self._thread.start()

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
        job = _Job(work)
        self._jobs.put(job)
        return await asyncio.wrap_future(job.future)

    def _loop(self) -> None:
        while True:
            batch = [self._jobs.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                self._run_batch(batch)
            except BaseException as exc:  # the thread must survive anything a batch does
                log.exception("writer batch failed")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _run_batch(self, batch: list[_Job]) -> None:
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        with writer_turn(self.engine):
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
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)


_turn_locks: dict[str, threading.Lock] = {}


@contextmanager
def writer_turn(engine: Engine) -> Iterator[None]:
    """Exclusive right to write to a SQLite database file, among the processes that ask for it."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).resolve().with_suffix(".writer-lock")
    with _turn_locks.setdefault(str(path), threading.Lock()), path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_writer: BatchWriter | None = None
_writer_guard = threading.Lock()


async def get_writer() -> UnitOfWorkRunner:
    global _writer
    with _writer_guard:
        if _writer is None:
            _writer = BatchWriter(get_engine())
        return _writer
