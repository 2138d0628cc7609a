"""Benchmark of the supplier report: a publisher with 20,000 titles over a month of orders, on SQLite.

A SQLite file database holds 25,000 products (20,000 of the publisher, the rest of others), a month
of orders (1,000 a day, 3 lines each: 90,000 lines), a shipment for every line and a return for one
line in twenty in the stock ledger, written with Core inserts before the clock starts. The clock
covers building the report for the month from the database (JSON as the API sends it) and the CSV.
Three measurements each, the median is printed. Prints `name value unit` lines.
"""

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.models import Role  # noqa: E402
from app.auth.service import Actor  # noqa: E402
from app.catalog.models import Customer, Product, StockMovement  # noqa: E402
from app.db import make_engine, session_scope, writing_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.orders.models import SaleOrder, SaleOrderLine  # noqa: E402
from app.suppliers.report_formats import report_csv  # noqa: E402
from app.suppliers.service import report_period, supplier_report  # noqa: E402

TITLES = 20_000
OTHER_PRODUCTS = 5_000
DAYS = 30
ORDERS_PER_DAY = 1_000
LINES = 3
RETURN_EVERY = 20
REPEATS = 3
CHUNK = 5_000
SUPPLIER = "BENCH"
MONTH_START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
SNAPSHOT = MONTH_START - timedelta(days=1)
FINANCE = Actor(kind="user", id=0, name="bench", role=Role.FINANCE)


def _insert(connection: Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    table: Table = model.__table__
    for start in range(0, len(rows), CHUNK):
        connection.execute(insert(table), rows[start : start + CHUNK])


def fill(connection: Connection) -> int:
    """The catalogue, the month's orders and their movements; returns the number of order lines."""
    products = [
        {
            "id": n,
            "code": f"T{n:06d}",
            "name": f"Titre {n}",
            "unit_price": Decimal("12.50"),
            "vat_rate": Decimal("5.5"),
            "stock_on_hand": Decimal(500),
            "stock_as_of": SNAPSHOT,
            "reserved_quantity": Decimal(0),
            "snapshot_at": SNAPSHOT,
            "supplier_code": SUPPLIER if n <= TITLES else f"OTHER{n % 50}",
            "supplier_name": "Éditions du Banc d'essai" if n <= TITLES else "Autre",
        }
        for n in range(1, TITLES + OTHER_PRODUCTS + 1)
    ]
    _insert(connection, Product, products)
    customer = {
        "id": 1,
        "code": "C1",
        "name": "Librairie",
        "billing_street": "1 rue",
        "billing_postal_code": "69002",
        "billing_city": "Lyon",
        "billing_country": "FR",
        "snapshot_at": SNAPSHOT,
    }
    _insert(connection, Customer, [customer])
    orders, lines, movements = [], [], []
    total = len(products)
    for n in range(DAYS * ORDERS_PER_DAY):
        at = MONTH_START + timedelta(seconds=n * DAYS * 86_400 // (DAYS * ORDERS_PER_DAY))
        orders.append(
            {
                "id": n + 1,
                "number": f"CMD-{n + 1:07d}",
                "status": "shipped",
                "customer_id": 1,
                "channel": "edi",
                "customer_discount_percent": Decimal(0),
                "net_total": Decimal(0),
                "vat_total": Decimal(0),
                "gross_total": Decimal(0),
                "vat_breakdown": [],
                "warnings": [],
                "problems": [],
                "content_fingerprint": f"{n:064d}",
                "captured_by": "bench",
                "created_at": at,
            }
        )
        for line_no in range(1, LINES + 1):
            pid = (n * LINES + line_no * 7919) % total + 1
            quantity = Decimal(1 + (n + line_no) % 5)
            lines.append(
                {
                    "order_id": n + 1,
                    "line_no": line_no,
                    "product_id": pid,
                    "product_code": f"T{pid:06d}",
                    "description": f"Titre {pid}",
                    "quantity": quantity,
                    "unit_price": Decimal("12.50"),
                    "price_includes_vat": True,
                    "discount_percent": Decimal(0),
                    "vat_rate": Decimal("5.5"),
                    "line_amount": Decimal(0),
                    "net_amount": Decimal(0),
                    "shipped_quantity": quantity,
                    "backordered_quantity": Decimal(0),
                    "closed_quantity": Decimal(0),
                }
            )
            movement = {
                "product_id": pid,
                "moved_at": at + timedelta(hours=2),
                "reference": f"BL-{n}",
                "recorded_by": "bench",
                "reason": None,
            }
            movements.append({**movement, "quantity": -quantity, "kind": "shipment"})
            if len(lines) % RETURN_EVERY == 0:
                movements.append(
                    {**movement, "moved_at": at + timedelta(days=1), "quantity": Decimal(1), "kind": "return"}
                )
    _insert(connection, SaleOrder, orders)
    _insert(connection, SaleOrderLine, lines)
    _insert(connection, StockMovement, movements)
    return len(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(f"sqlite:///{Path(workdir) / 'carnet.db'}", synchronous="FULL")
        upgrade(engine)
        with writing_engine(engine).begin() as connection:
            lines = fill(connection)
        report_seconds, csv_seconds = [], []
        first, last = MONTH_START.date(), date(2026, 11, 30)
        for _ in range(REPEATS):
            started = time.perf_counter()
            with session_scope(engine, write=False) as session:
                period = report_period(session, from_date=first, to_date=last, incident_id=None)
                report = supplier_report(session, supplier_code=SUPPLIER, period=period, actor=FINANCE)
            body = report.model_dump_json()
            built = time.perf_counter()
            table = report_csv(report)
            report_seconds.append(built - started)
            csv_seconds.append(time.perf_counter() - built)
        assert len(report.titles) == TITLES and report.totals.ordered > 0
        engine.dispose()
    print(f"supplier_report_titles {len(report.titles)} titles")
    print(f"supplier_report_order_lines {lines} lines")
    print(f"supplier_report_json_seconds {statistics.median(report_seconds):.2f} s")
    print(f"supplier_report_csv_seconds {statistics.median(csv_seconds):.2f} s")
    print(f"supplier_report_json_bytes {len(body)} bytes")
    print(f"supplier_report_csv_bytes {len(table)} bytes")


if __name__ == "__main__":
    main()
