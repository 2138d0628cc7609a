"""The group-commit writer: units of work batched in one transaction, each isolated by a savepoint."""

import asyncio

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.db import session_scope
from app.errors import InvalidInput
from app.writer import BatchWriter
from tests.builders import make_customer


def count_customers(engine: Engine) -> int:
    with session_scope(engine, write=False) as session:
        return session.execute(select(func.count()).select_from(Customer)).scalar_one()


def test_a_failing_unit_is_rolled_back_alone_and_gets_its_own_error(fresh_engine: Engine) -> None:
    writer = BatchWriter(fresh_engine, max_batch=8)

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
    assert count_customers(fresh_engine) == 6


def test_results_are_given_only_once_committed(fresh_engine: Engine) -> None:
    writer = BatchWriter(fresh_engine)

    def create(session: Session) -> int:
        return make_customer(session).id

    async def submit() -> int:
        return await writer.write(create)

    asyncio.run(submit())
    assert count_customers(fresh_engine) == 1


def test_a_unit_whose_flush_fails_is_refused_alone(fresh_engine: Engine) -> None:
    writer = BatchWriter(fresh_engine)

    def incomplete(session: Session) -> None:
        session.add(Customer(code="SAME"))  # no name: the flush at the end of the unit fails

    async def submit() -> list[object]:
        return await asyncio.gather(
            writer.write(incomplete), writer.write(lambda s: make_customer(s).code), return_exceptions=True
        )

    results = asyncio.run(submit())
    assert isinstance(results[0], Exception)
    assert isinstance(results[1], str)
    assert count_customers(fresh_engine) == 1


@pytest.mark.parametrize("units", [1, 40])
def test_every_unit_gets_its_answer(fresh_engine: Engine, units: int) -> None:
    writer = BatchWriter(fresh_engine, max_batch=16)

    async def submit() -> list[str]:
        return await asyncio.gather(*(writer.write(lambda s: make_customer(s).code) for _ in range(units)))

    codes = asyncio.run(submit())
    assert len(set(codes)) == units == count_customers(fresh_engine)
