"""Benchmark fulfilment through the services; prints one `name value unit` line per figure.

- 1,000 deliveries on SQLite (file database, WAL, synchronous FULL as in production), each in its own
  committed transaction as the API runs it: lock the order and its products, number the delivery note
  and its deferred invoice, price and write both. Orders have 5 lines.
- Recording the print of 100 notes and building their views (what the print endpoints do before
  rendering).

Pure rendering is measured by `scripts/bench_pdf.py` (one 20-line page, a 200-line note, batches in one
process and in two), so it is not repeated here. Run from the repository root:
`.venv/bin/python scripts/bench_fulfilment.py`.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from app.auth.service import Actor
from app.catalog.schemas import Address, CustomerCreate, ProductCreate
from app.catalog.service import save_customer, save_product
from app.db import make_engine, session_scope
from app.delivery.models import DeliveryNote
from app.delivery.printing import print_delivery_notes
from app.fulfilment.service import ship_order
from app.migrate import upgrade
from app.orders.capture import capture_order
from app.orders.schemas import OrderCreate

REP = Actor(kind="user", id=1, name="bench-rep", role="rep")
WAREHOUSE = Actor(kind="user", id=2, name="bench-warehouse", role="warehouse")
LINES_PER_ORDER = 5


def seed(engine_url: str, orders: int) -> list[str]:
    engine = make_engine(engine_url)
    upgrade(engine)
    with session_scope(engine) as session:
        save_customer(
            session,
            data=CustomerCreate(
                code="C0001",
                name="Librairie du Marché",
                billing_address=Address(street="3 place du Marché", postal_code="69002", city="Lyon"),
                discount_percent="5",
            ),
        )
        for n in range(20):
            save_product(
                session,
                data=ProductCreate(
                    code=f"P{n:04d}",
                    name=f"Article {n}",
                    unit_price="12.50" if n % 2 else "19.90",
                    price_includes_vat=n % 2 == 0,
                    vat_rate="5.5" if n % 2 == 0 else "20",
                    stock_on_hand=orders * LINES_PER_ORDER * 3,
                ),
            )
    numbers = []
    with session_scope(engine) as session:
        for n in range(orders):
            draft = OrderCreate(
                customer_code="C0001",
                channel="phone",
                lines=[
                    {"product_code": f"P{(n + k) % 20:04d}", "quantity": 1 + (n + k) % 4}
                    for k in range(LINES_PER_ORDER)
                ],
            )
            numbers.append(capture_order(session, draft=draft, actor=REP).number)
    engine.dispose()
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{Path(workdir) / 'bench.db'}"
        numbers = seed(url, args.deliveries)
        engine = make_engine(url)
        with session_scope(engine) as session:  # warm-up: imports, statement caches
            ship_order(session, number=numbers[0], lines=None, actor=WAREHOUSE)

        durations = []
        start = time.perf_counter()
        for number in numbers[1:]:
            began = time.perf_counter()
            with session_scope(engine) as session:
                ship_order(session, number=number, lines=None, actor=WAREHOUSE)
            durations.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
        count = len(durations)
        print(f"fulfilment_deliveries_{count}_sqlite {elapsed:.2f} s")
        print(f"fulfilment_deliveries_sqlite_rate {count / elapsed:.0f} deliveries/s")
        quantiles = statistics.quantiles(durations, n=100)
        print(f"fulfilment_delivery_sqlite_p50 {quantiles[49] * 1000:.2f} ms")
        print(f"fulfilment_delivery_sqlite_p99 {quantiles[98] * 1000:.2f} ms")

        with session_scope(engine, write=False) as session:
            batch = list(
                session.execute(select(DeliveryNote.number).order_by(DeliveryNote.id).limit(100)).scalars()
            )
        start = time.perf_counter()
        with session_scope(engine) as session:
            views = print_delivery_notes(session, numbers=batch, actor=WAREHOUSE)
        elapsed = time.perf_counter() - start
        print(f"fulfilment_print_record_{len(views)}_notes {elapsed * 1000:.0f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
