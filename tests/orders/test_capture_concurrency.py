"""Concurrent captures on a database of their own, with real commits seen by other connections."""

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, func, select

from app.auth.service import Actor
from app.db import session_scope
from app.errors import DomainError
from app.idempotency.service import Answer, answer_once, fresh_answer, request_hash
from app.orders.capture import capture_order
from app.orders.models import SaleOrder
from app.orders.schemas import OrderCreate
from tests.builders import make_customer, make_product

REP = Actor(kind="user", id=1, name="rep", role="rep")


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


def capture_committed(engine: Engine, draft: OrderCreate, key: str | None) -> Answer:
    """A capture in a transaction of its own, once per key as the HTTP edge does it."""
    with session_scope(engine) as session:
        if key is None:
            return fresh_answer(capture_order(session, draft=draft, actor=REP), 201)
        return answer_once(
            session,
            caller=REP.caller_key,
            key=key,
            request_hash=request_hash(draft.model_dump(mode="json")),
            status_code=201,
            produce=lambda: capture_order(session, draft=draft, actor=REP),
        )


def seed(engine: Engine) -> OrderCreate:
    with session_scope(engine) as session:
        customer, product = make_customer(session), make_product(session, stock="1000")
        return OrderCreate(
            customer_code=customer.code, channel="api", lines=[{"product_code": product.code, "quantity": 1}]
        )


class TestConcurrentCapture:
    def test_same_idempotency_key_at_the_same_time_creates_one_order(self, fresh_engine: Engine) -> None:
        draft = seed(fresh_engine)
        answers = run_together(8, lambda _: capture_committed(fresh_engine, draft, "same-key"))
        assert all(isinstance(a, Answer) for a in answers), answers
        assert len({a.body for a in answers}) == 1
        assert sum(not a.replayed for a in answers) == 1
        with session_scope(fresh_engine, write=False) as session:
            assert session.execute(select(func.count()).select_from(SaleOrder)).scalar_one() == 1

    def test_many_captures_at_once_get_distinct_consecutive_numbers(self, fresh_engine: Engine) -> None:
        draft = seed(fresh_engine)
        answers = run_together(12, lambda i: capture_committed(fresh_engine, draft, None))
        assert not [a for a in answers if isinstance(a, DomainError | Exception)]
        with session_scope(fresh_engine, write=False) as session:
            numbers = sorted(session.execute(select(SaleOrder.number)).scalars())
        assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, 13))
