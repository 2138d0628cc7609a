"""A stored interchange turned into orders through the writer, for every way a file comes in (a
partner's post, an admin processing a refused file again): read and parsed off the writer, then its
orders and acknowledgments written in one unit, in the orders' rank (app/numbering.py: `Rank`)."""

from functools import partial

from starlette.concurrency import run_in_threadpool

from app.edi import ingestion
from app.numbering import Rank
from app.writer import UnitOfWorkRunner


async def process_stored(
    writes: UnitOfWorkRunner, stored: ingestion.StoredInterchange, data: bytes
) -> ingestion.InterchangeOutcome:
    reading = await run_in_threadpool(ingestion.read_stored, data, stored)
    return await writes.write(
        partial(ingestion.process_interchange, interchange_id=stored.id, reading=reading), rank=Rank.ORDERS
    )
