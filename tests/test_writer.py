"""The writer: units of work batched in one transaction on a thread of their own, each isolated by a
savepoint; read sessions that may not write; one turn for every writer of a SQLite file."""

import asyncio
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.db import is_transient, open_session, session_scope, turn_for
from app.errors import InvalidInput
from app.writer import Writer
from tests.builders import make_customer


def count_customers(engine: Engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(func.count()).select_from(Customer)).scalar_one()


@pytest.fixture
def writer(fresh_engine: Engine) -> Iterator[Writer]:
    writer = Writer(fresh_engine, max_batch=8)
    yield writer
    writer.stop()


def test_a_failing_unit_is_rolled_back_alone_and_gets_its_own_error(writer: Writer) -> None:
    def good(session: Session) -> str:
        return make_customer(session).code

    def bad(session: Session) -> None:
        make_customer(session)
        raise InvalidInput("refused", loc=("body",))

    async def submit_all() -> list[object]:
        return await asyncio.gather(
            *(writer.write(bad if i % 3 == 0 else good) for i in range(9)), return_exceptions=True
        )

    results = asyncio.run(submit_all())
    assert [isinstance(r, InvalidInput) for r in results] == [i % 3 == 0 for i in range(9)]
    assert count_customers(writer.engine) == 6


def test_units_run_off_the_event_loop_thread_and_answer_once_committed(writer: Writer) -> None:
    seen: list[str] = []

    def create(session: Session) -> int:
        seen.append(threading.current_thread().name)
        return make_customer(session).id

    async def submit() -> int:
        return await writer.write(create)

    asyncio.run(submit())
    assert seen == ["carnet-writer"]
    assert count_customers(writer.engine) == 1


def test_a_unit_whose_flush_fails_is_refused_alone(writer: Writer) -> None:
    def incomplete(session: Session) -> None:
        session.add(Customer(code="SAME"))  # no name: the flush at the end of the unit fails

    async def submit() -> list[object]:
        return await asyncio.gather(
            writer.write(incomplete), writer.write(lambda s: make_customer(s).code), return_exceptions=True
        )

    results = asyncio.run(submit())
    assert isinstance(results[0], Exception)
    assert isinstance(results[1], str)
    assert count_customers(writer.engine) == 1


@pytest.mark.parametrize("units", [1, 40])
def test_every_unit_gets_its_answer(writer: Writer, units: int) -> None:
    async def submit() -> list[str]:
        return await asyncio.gather(*(writer.write(lambda s: make_customer(s).code) for _ in range(units)))

    codes = asyncio.run(submit())
    assert len(set(codes)) == units == count_customers(writer.engine)


def test_a_planned_unit_reads_before_it_writes_and_a_failed_plan_writes_nothing(writer: Writer) -> None:
    def plan(session: Session) -> int:
        return session.execute(select(func.count()).select_from(Customer)).scalar_one()

    def refuse(session: Session) -> int:
        raise InvalidInput("unknown customer", loc=("body", "customer_code"))

    def apply(session: Session, seen: int) -> int:
        make_customer(session)
        return seen

    async def submit() -> list[object]:
        first = await writer.write_planned(plan, apply)
        rest = await asyncio.gather(
            writer.write_planned(refuse, apply), writer.write_planned(plan, apply), return_exceptions=True
        )
        return [first, *rest]

    first, refused, second = asyncio.run(submit())
    assert (first, second) == (0, 1)
    assert isinstance(refused, InvalidInput)
    assert count_customers(writer.engine) == 2


def test_threads_wait_for_their_unit_without_an_event_loop(writer: Writer) -> None:
    codes: list[str] = []
    threads = [
        threading.Thread(target=lambda: codes.append(writer.submit(lambda s: make_customer(s).code).result()))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(codes)) == 6 == count_customers(writer.engine)


def test_a_deadlock_victim_runs_again_in_the_next_batch(writer: Writer) -> None:
    attempts: list[int] = []

    class Deadlock(Exception):
        sqlstate = "40P01"

    def victim_once(session: Session) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise DBAPIError("UPDATE ...", {}, Deadlock("deadlock detected"))
        return make_customer(session).code

    async def submit() -> str:
        return await writer.write(victim_once)

    assert asyncio.run(submit())
    assert len(attempts) == 2
    assert count_customers(writer.engine) == 1


def test_only_deadlocks_and_serialization_failures_are_transient() -> None:
    class Failure(Exception):
        def __init__(self, sqlstate: str) -> None:
            self.sqlstate = sqlstate

    assert is_transient(DBAPIError("x", {}, Failure("40001")))
    assert not is_transient(DBAPIError("x", {}, Failure("23505")))
    assert not is_transient(InvalidInput("refused", loc=("body",)))


def test_a_read_session_refuses_to_write(fresh_engine: Engine) -> None:
    session = open_session(fresh_engine, write=False)
    try:
        with pytest.raises(DBAPIError):
            session.execute(text("UPDATE customer SET name = 'x'"))
    finally:
        session.rollback()
        session.close()


def test_a_thread_that_holds_the_turn_cannot_open_a_second_write_transaction(fresh_engine: Engine) -> None:
    if turn_for(fresh_engine) is None:
        pytest.skip("PostgreSQL takes concurrent writers: there is no turn")
    with session_scope(fresh_engine), pytest.raises(RuntimeError), session_scope(fresh_engine):
        pass


def test_the_turn_is_not_taken_while_another_thread_holds_it(fresh_engine: Engine) -> None:
    turn = turn_for(fresh_engine)
    if turn is None:
        pytest.skip("PostgreSQL takes concurrent writers: there is no turn")
    taken: list[bool] = []
    with session_scope(fresh_engine):
        other = threading.Thread(target=lambda: taken.append(turn.try_acquire()))
        other.start()
        other.join()
    assert taken == [False]
    assert turn.try_acquire()
    turn.release()


def test_units_of_a_batch_run_in_the_order_of_their_rank(writer: Writer) -> None:
    """So that every batch takes the number series' counter rows in one order (no deadlock)."""
    release, started = threading.Event(), threading.Event()
    ran: list[int] = []
    busy = writer.submit(lambda session: (started.set(), release.wait(10)))
    assert started.wait(10)  # the writer is inside that unit: the next ones wait and form one batch
    later = [writer.submit(lambda session, rank=rank: ran.append(rank), rank=rank) for rank in (3, 1, 2, 1)]
    release.set()
    busy.result()
    for future in later:
        future.result()
    assert ran == [1, 1, 2, 3]


def test_a_writer_stopped_writes_what_it_was_given_first(fresh_engine: Engine) -> None:
    writer = Writer(fresh_engine)
    futures = [writer.submit(lambda s: make_customer(s).code) for _ in range(10)]
    writer.stop()
    assert all(future.done() and future.exception() is None for future in futures)
    assert count_customers(fresh_engine) == 10
    with pytest.raises(RuntimeError):
        writer.submit(lambda s: None)


def test_a_writer_lives_on_after_a_failure_outside_any_unit(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operating system refusing the turn fails that batch's callers, not every later one."""
    turn = turn_for(writer.engine)
    if turn is None:
        pytest.skip("PostgreSQL takes concurrent writers: there is no turn")
    taking = turn.try_acquire
    failures = iter([OSError("no locks available")])

    def refuse_once() -> bool:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return taking()

    monkeypatch.setattr(turn, "try_acquire", refuse_once)
    with pytest.raises(OSError):
        writer.submit(lambda s: make_customer(s).code).result(timeout=30)
    assert writer.submit(lambda s: make_customer(s).code).result(timeout=30)
    assert count_customers(writer.engine) == 1
