"""The one way to write: every write unit of work of a process runs on that process's writer thread.

A request never writes on its own session. It hands a unit of work (a function of a session) to the
writer and awaits the result; reads run on read-only sessions in the threadpool. The writer thread
runs what is pending as one batch: one transaction, every unit inside its own savepoint. A unit that
fails is rolled back alone and its caller gets its error; the others are committed together, with
one fsync, and only then does anybody learn the result: nothing is announced before it is durable.

Why a thread of its own: a unit of work is plain synchronous code from `BEGIN` to `COMMIT`. It never
waits for the event loop, for a client or for another request while it holds SQLite's write lock or
PostgreSQL's row locks, so no combination of requests can make two waits close a circle; and the
event loop never touches the database, so a slow statement stalls no request but those it serves.

On SQLite only one transaction may write at a time, across threads and processes. Every writer of a
database file (this thread, replay workers, command-line tools) takes turns through `WriterTurn`: a
thread lock inside the process and an advisory `flock` between processes, taken before `BEGIN
IMMEDIATE` and released after the commit. Waiting for the turn wakes at once when it is free, where
SQLite's own busy handler sleeps and retries. PostgreSQL takes concurrent writers: there is no turn,
and a unit that PostgreSQL chose as a deadlock or serialization victim is run again in the next batch.
Units of a batch run in the order of the number series they take (`rank`), so that batches of two
processes lock counter rows in one order and do not deadlock on them in the first place.
"""

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.db import MAX_ATTEMPTS, WriterTurn, get_engine, is_transient, open_session, turn_for

T = TypeVar("T")
P = TypeVar("P")
LAST = 1_000  # the rank of units that take no number
Work = Callable[[Session], T]
log = logging.getLogger(__name__)


class UnitOfWorkRunner(Protocol):
    async def write(self, work: Work[T], *, rank: int = LAST) -> T:
        """Run `work` in the writer's next batch; the result comes once committed. Units of a batch
        run in `rank` order (app/numbering.py: `Rank`)."""
        ...

    async def write_planned(self, plan: Work[P], apply: Callable[[Session, P], T], *, rank: int = LAST) -> T:
        """Run `plan` on a read-only session, outside the write lock, then `apply` with what it
        planned in the writer's next batch; the result comes once committed."""
        ...


@dataclass
class _Job:
    work: Callable[..., Any]
    future: "Future[Any]"
    rank: int
    plan: Work[Any] | None = None
    started: bool = False  # its future is running: its caller can no longer cancel it
    attempts: int = 0


class Writer:
    """The writer thread of one engine in this process (see the module's docstring)."""

    def __init__(self, engine: Engine, *, max_batch: int = 64) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._pending: deque[_Job] = deque()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    async def write(self, work: Work[T], *, rank: int = LAST) -> T:
        return await asyncio.wrap_future(self._submit(_Job(work, Future(), rank)))

    async def write_planned(self, plan: Work[P], apply: Callable[[Session, P], T], *, rank: int = LAST) -> T:
        return await asyncio.wrap_future(self._submit(_Job(apply, Future(), rank, plan=plan)))

    def submit(self, work: Work[T], *, rank: int = LAST) -> "Future[T]":
        """For threads other than the event loop's: wait on the future (never on the writer's own)."""
        return self._submit(_Job(work, Future(), rank))

    def _submit(self, job: _Job) -> "Future[Any]":
        with self._wakeup:
            if self._stopping:
                raise RuntimeError("the writer is stopped")
            self._pending.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="carnet-writer", daemon=True)
                self._thread.start()
            self._wakeup.notify()
        return job.future

    def stop(self) -> None:
        """Finish what is pending, then end the thread."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        turn = turn_for(self.engine)
        while True:
            with self._wakeup:
                while not self._pending and not self._stopping:
                    self._wakeup.wait()
                if not self._pending:
                    return
            batch = self._take(self.max_batch)
            try:
                self._write(batch, turn)
            except Exception as exc:  # the thread must live on: its callers would wait forever
                log.exception("writer failed a batch")
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _write(self, batch: list[_Job], turn: WriterTurn | None) -> None:
        batch[:] = self._plan(batch)
        if turn is None:
            if batch:
                self._run_batch(batch)
            return
        # While another process writes, plan what keeps arriving: it joins the batch, ready.
        while not turn.try_acquire():
            more = self._take(self.max_batch - len(batch))
            if not more:
                turn.acquire()
                break
            batch += self._plan(more)
        try:
            if batch:
                self._run_batch(batch)
        finally:
            turn.release()

    def _take(self, count: int) -> list[_Job]:
        with self._wakeup:
            return [self._pending.popleft() for _ in range(min(count, len(self._pending)))]

    def _plan(self, batch: list[_Job]) -> list[_Job]:
        """The planning reads of the batch, on one read session, before the write turn is taken;
        a unit whose plan fails gets its error and leaves the batch."""
        if not any(job.plan is not None for job in batch):
            return batch
        ready: list[_Job] = []
        session = open_session(self.engine, write=False)
        try:
            for job in batch:
                if job.plan is not None:
                    if not job.future.set_running_or_notify_cancel():
                        continue
                    try:
                        planned = job.plan(session)
                    except Exception as exc:
                        job.future.set_exception(exc)
                        continue
                    job.work, job.plan, job.started = _with_plan(job.work, planned), None, True
                ready.append(job)
        finally:
            session.rollback()
            session.close()
        return ready

    def _run_batch(self, batch: list[_Job]) -> None:
        batch.sort(key=lambda job: job.rank)  # stable: arrival order within a rank
        outcomes: list[tuple[_Job, Any, BaseException | None]] = []
        again: list[_Job] = []
        try:
            session = open_session(self.engine, write=True)
            try:
                for job in batch:
                    if not job.started:
                        if not job.future.set_running_or_notify_cancel():
                            continue  # the caller gave up before its unit started
                        job.started = True
                    try:
                        with session.begin_nested():
                            result = job.work(session)
                            session.flush()
                    except Exception as exc:
                        job.attempts += 1
                        if is_transient(exc) and job.attempts < MAX_ATTEMPTS:
                            again.append(job)
                        else:
                            outcomes.append((job, None, exc))
                    else:
                        outcomes.append((job, result, None))
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        except Exception as exc:  # a failed commit fails every unit of its batch
            log.exception("writer batch failed")
            for job in batch:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, result, error in outcomes:
            if error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(result)
        if again:
            # The victims wait for the next batch: this one's commit released what they waited for.
            with self._wakeup:
                self._pending.extendleft(reversed(again))


def _with_plan(apply: Callable[[Session, Any], Any], planned: Any) -> Work[Any]:
    return lambda session: apply(session, planned)


_writers: dict[Engine, Writer] = {}
_writers_guard = threading.Lock()


def writer_for(engine: Engine) -> Writer:
    with _writers_guard:
        if engine not in _writers:
            _writers[engine] = Writer(engine)
        return _writers[engine]


async def get_writer() -> UnitOfWorkRunner:
    return writer_for(get_engine())


def stop_writers() -> None:
    with _writers_guard:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.stop()
