"""Gapless, unique numbering of delivery notes and deferred invoices under concurrent shipping, with
real commits on a database of their own: threads on both engines, processes on PostgreSQL."""

import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from app.db import make_engine, open_session, session_scope
from app.delivery.models import DeliveryNote
from app.delivery.schemas import DeliveryLineIn
from app.errors import DomainError
from app.fulfilment.service import ship_order
from app.invoicing.models import DeferredDocument
from app.orders.models import SaleOrder
from tests.builders import make_customer, make_product
from tests.delivery.fulfilment import WAREHOUSE, order_of

PROCESSES = 3
ORDERS_PER_PROCESS = 4


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads at the same instant and collect what each returned or raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as exc:  # collected and asserted on by the caller
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def ship_committed(engine: Engine, number: str, lines: list[dict[str, int]] | None = None) -> str:
    session = open_session(engine, write=True)
    try:
        wanted = [DeliveryLineIn(**line) for line in lines] if lines is not None else None
        note = ship_order(session, number=number, lines=wanted, actor=WAREHOUSE)
        session.commit()
        return note.number
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def seed_orders(engine: Engine, count: int, quantity: int = 1) -> list[str]:
    with session_scope(engine) as session:
        customer, product = make_customer(session), make_product(session, stock="10000")
        return [order_of(session, customer, (product, quantity)) for _ in range(count)]


def sequence(numbers: list[str]) -> list[int]:
    return sorted(int(number.rsplit("-", 1)[1]) for number in numbers)


def issued_numbers(engine: Engine) -> tuple[list[str], list[str]]:
    with session_scope(engine, write=False) as session:
        notes = list(session.execute(select(DeliveryNote.number)).scalars())
        invoices = list(session.execute(select(DeferredDocument.reference)).scalars())
    return notes, invoices


class TestConcurrentDeliveries:
    def test_many_deliveries_at_once_get_consecutive_numbers(self, fresh_engine: Engine) -> None:
        numbers = seed_orders(fresh_engine, 12)
        answers = run_together(12, lambda i: ship_committed(fresh_engine, numbers[i]))
        assert all(isinstance(answer, str) for answer in answers), answers
        notes, invoices = issued_numbers(fresh_engine)
        assert sequence(notes) == list(range(1, 13)) == sequence(answers)
        assert sequence(invoices) == list(range(1, 13))

    def test_refused_deliveries_leave_no_gap(self, fresh_engine: Engine) -> None:
        """Twelve pickers race for the eight units of one order: eight notes, numbered 1 to 8."""
        (number,) = seed_orders(fresh_engine, 1, quantity=8)
        answers = run_together(
            12, lambda _: ship_committed(fresh_engine, number, [{"line_no": 1, "quantity": 1}])
        )
        shipped = [answer for answer in answers if isinstance(answer, str)]
        refused = [answer for answer in answers if isinstance(answer, DomainError)]
        assert len(shipped) == 8 and len(refused) == 4, answers
        notes, invoices = issued_numbers(fresh_engine)
        assert sequence(notes) == list(range(1, 9))
        assert sequence(invoices) == list(range(1, 9))
        with session_scope(fresh_engine, write=False) as session:
            status = session.execute(select(SaleOrder.status).where(SaleOrder.number == number)).scalar_one()
        assert status == "shipped"


def ship_in_process(url: str, numbers: list[str], barrier: Any, results: Any) -> None:
    """Runs in a spawned process with an engine of its own."""
    engine = make_engine(url)
    try:
        barrier.wait(timeout=60)
        out: list[str] = []
        for number in numbers:
            try:
                out.append(ship_committed(engine, number))
            except Exception as exc:
                out.append(f"error: {exc!r}")
        results.put(out)
    finally:
        engine.dispose()


def test_several_processes_share_one_gapless_series(fresh_engine: Engine) -> None:
    if fresh_engine.dialect.name != "postgresql":
        pytest.skip("processes sharing one database are tested on PostgreSQL")
    numbers = seed_orders(fresh_engine, PROCESSES * ORDERS_PER_PROCESS)
    url = fresh_engine.url.render_as_string(hide_password=False)
    fresh_engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(
            target=ship_in_process,
            args=(url, numbers[i * ORDERS_PER_PROCESS : (i + 1) * ORDERS_PER_PROCESS], barrier, results),
        )
        for i in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    answers = [number for _ in workers for number in results.get(timeout=120)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    assert not [answer for answer in answers if answer.startswith("error")], answers
    notes, invoices = issued_numbers(fresh_engine)
    total = PROCESSES * ORDERS_PER_PROCESS
    assert sequence(notes) == sequence(answers) == list(range(1, total + 1))
    assert sequence(invoices) == list(range(1, total + 1))
