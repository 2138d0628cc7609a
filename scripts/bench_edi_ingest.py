"""EDI ingestion end to end on SQLite: a 1,000-message x 10-line EANCOM ORDERS interchange stored,
parsed, mapped to customers and products, captured as 1,000 orders with their EDI side (envelope and
lines as sent, for later answers) and acknowledged (CONTRL and 1,000 ORDRSP), beside the time to only
tokenize it.

Prints one line per figure: `name value unit` (medians of several runs, each on a fresh copy of a
seeded database file, synchronous=FULL as in production). The split:
* store_raw: the first unit of work, the bytes kept and committed;
* parse: bytes to purchase orders (pure, off the writer in the service);
* map: the partner snapshot read (a few set-based queries) and every order planned and priced;
* store: orders, lines, stock reservations, acknowledgments built and written, and the commit
  (of which `store_acknowledgments`: building the CONTRL and the 1,000 ORDRSP).
`--profile` runs cProfile over one ingestion instead.
"""

import cProfile
import gc
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from stdnum import ean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.models import Partner, PartnerCustomer  # noqa: E402
from app.auth.service import Actor  # noqa: E402
from app.catalog.models import Customer, Product, ShippingAddress  # noqa: E402
from app.db import make_engine, session_scope, writing_engine  # noqa: E402
from app.edi import ingestion  # noqa: E402
from app.edi.edifact_syntax import tokenize  # noqa: E402
from app.edi.perf import gc_paused  # noqa: E402
from app.edi.samples import eancom_orders_interchange  # noqa: E402
from app.migrate import upgrade  # noqa: E402

MESSAGES, LINES, RUNS = 1000, 10, 5
BUYER, DELIVERY, SUPPLIER = "5412345000013", "5412345000020", "5499999000009"
SNAPSHOT = datetime(2026, 11, 20, tzinfo=UTC)
GTINS = [gtin + ean.calc_check_digit(gtin) for gtin in (f"400638130{n:03d}" for n in range(500))]
PARTNER = Actor(kind="partner", id=1, name="Bench hub", role="partner", customer_ids=frozenset({1}))


def seed(path: Path) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with writing_engine(engine).begin() as conn:
        conn.execute(
            insert(Customer.__table__),
            [
                {
                    "id": 1,
                    "code": "C00001",
                    "name": "Librairie du Centre",
                    "gln": BUYER,
                    "billing_street": "1 rue",
                    "billing_postal_code": "75001",
                    "billing_city": "Paris",
                    "billing_country": "FR",
                    "discount_percent": Decimal(5),
                    "blocked": False,
                    "show_prices_on_delivery_note": True,
                    "snapshot_at": SNAPSHOT,
                }
            ],
        )
        conn.execute(
            insert(ShippingAddress.__table__),
            [
                {
                    "customer_id": 1,
                    "code": "DEPOT",
                    "street": "2 quai",
                    "postal_code": "69002",
                    "city": "Lyon",
                    "country": "FR",
                    "gln": DELIVERY,
                }
            ],
        )
        conn.execute(
            insert(Product.__table__),
            [
                {
                    "code": f"P{i:06d}",
                    "gtin": gtin,
                    "name": f"Article {i}",
                    "unit_price": Decimal(f"{i % 50 + 1}.50"),
                    "price_includes_vat": i % 2 == 0,
                    "price_locked": False,
                    "vat_rate": Decimal("5.5") if i % 2 == 0 else Decimal(20),
                    "allows_decimal_quantity": False,
                    "stock_on_hand": Decimal(400),
                    "stock_as_of": SNAPSHOT,
                    "reserved_quantity": Decimal(0),
                    "snapshot_at": SNAPSHOT,
                }
                for i, gtin in enumerate(GTINS)
            ],
        )
        conn.execute(
            insert(Partner.__table__),
            [
                {
                    "id": 1,
                    "name": PARTNER.name,
                    "api_key_hash": "0" * 64,
                    "api_key_prefix": "ck_bench",
                    "active": True,
                    "created_at": SNAPSHOT,
                }
            ],
        )
        conn.execute(insert(PartnerCustomer.__table__), [{"partner_id": 1, "customer_id": 1}])
    engine.dispose()


class Split:
    """Wall-clock time spent inside chosen functions of the ingestion modules."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, name: str, owner: Any, attribute: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

        setattr(owner, attribute, timed)


def ingest_once(template: Path, workdir: Path, data: bytes, split: Split) -> dict[str, float]:
    target = workdir / "run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copy(template, target)
    engine = make_engine(f"sqlite:///{target}")
    with session_scope(engine):  # open the pool and the file before timing
        pass
    split.seconds.clear()
    gc.collect()
    started = time.perf_counter()
    with session_scope(engine) as session:
        stored = ingestion.store_interchange(
            session, actor=PARTNER, data=data, content_type="application/EDIFACT"
        )
    stored_at = time.perf_counter()
    reading = ingestion.read_stored(data, stored)
    parsed_at = time.perf_counter()
    with session_scope(engine) as session:
        answer = ingestion.process_interchange(session, interchange_id=stored.id, reading=reading)
    finished = time.perf_counter()
    engine.dispose()
    assert not answer.resend and len(answer.body["orders"]) == MESSAGES, answer.body["errors"][:3]
    mapped = split.seconds["map"]
    return {
        "store_raw": stored_at - started,
        "parse": parsed_at - stored_at,
        "map": mapped,
        "store": finished - parsed_at - mapped,
        "acknowledgments": split.seconds["acknowledgments"],
        "total": finished - started,
    }


def main() -> None:
    data = eancom_orders_interchange(
        MESSAGES,
        LINES,
        buyer_gln=BUYER,
        delivery_gln=DELIVERY,
        gtins=GTINS,
        sender=BUYER,
        receiver=SUPPLIER,
        control_ref="BENCH1",
    )
    split = Split()
    split.wrap("map", ingestion.mapping, "plan_messages")
    split.wrap("acknowledgments", ingestion.acknowledging, "for_interchange")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        seed(template)
        if "--profile" in sys.argv:
            for _ in range(2):  # mappers configured, statements compiled: what the median measures
                ingest_once(template, workdir, data, split)
            profiler = cProfile.Profile()
            profiler.runcall(ingest_once, template, workdir, data, split)
            order = sys.argv[-1] if len(sys.argv) > 2 else "cumulative"  # e.g. `--profile tottime`
            pstats.Stats(profiler).sort_stats(order).print_stats(60)
            return
        runs = [ingest_once(template, workdir, data, split) for _ in range(RUNS)]
        tokenize_runs = []
        for _ in range(RUNS):
            started = time.perf_counter()
            with gc_paused():
                tokens = tokenize(data)
            tokenize_runs.append(time.perf_counter() - started)
            del tokens
    figures = {name: statistics.median(run[name] for run in runs) for name in runs[0]}
    print(f"edi_ingest_tokenize_1000x10 {statistics.median(tokenize_runs) * 1000:.0f} ms")
    for name in ("store_raw", "parse", "map", "store"):
        print(f"edi_ingest_{name}_1000x10 {figures[name] * 1000:.0f} ms")
    print(f"edi_ingest_store_acknowledgments_1000x10 {figures['acknowledgments'] * 1000:.0f} ms")
    print(f"edi_ingest_total_1000x10 {figures['total'] * 1000:.0f} ms")
    print(f"edi_ingest_rate {MESSAGES / figures['total']:.0f} messages/s")


if __name__ == "__main__":
    main()
