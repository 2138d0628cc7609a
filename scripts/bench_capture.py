"""Order capture throughput: the HTTP service under load from wrk, against a direct in-process floor.

Prints one line per figure: `name value unit`. For each engine (SQLite, then PostgreSQL when
CARNET_TEST_POSTGRES_URL or the local server answers): the service with 1 and 2 workers loaded by
wrk (32 connections, keep-alive, 5-line orders with random customers and products) and the same
orders captured directly by the service function in one process, one commit per order.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.models import User  # noqa: E402
from app.auth.service import Actor, issue_token  # noqa: E402
from app.catalog.models import Customer, Product  # noqa: E402
from app.db import make_engine, open_session, writing_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.orders.capture import capture_order  # noqa: E402
from app.orders.schemas import OrderCreate  # noqa: E402

CUSTOMERS, PRODUCTS = 300, 3000
CONNECTIONS, DURATION_S = 32, 10
PORT = 8731
SNAPSHOT = datetime(2026, 11, 20, tzinfo=UTC)


def ean13(seed: int) -> str:
    body = f"200{seed:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def seed_database(url: str) -> str:
    engine = make_engine(url)
    upgrade(engine)
    with writing_engine(engine).begin() as conn:
        conn.execute(
            insert(Customer.__table__),
            [
                {
                    "code": f"C{i:05d}",
                    "name": f"Client {i}",
                    "billing_street": "1 rue",
                    "billing_postal_code": "75001",
                    "billing_city": "Paris",
                    "billing_country": "FR",
                    "discount_percent": Decimal(i % 30),
                    "blocked": False,
                    "show_prices_on_delivery_note": True,
                    "snapshot_at": SNAPSHOT,
                }
                for i in range(CUSTOMERS)
            ],
        )
        conn.execute(
            insert(Product.__table__),
            [
                {
                    "code": f"P{i:06d}",
                    "gtin": ean13(i),
                    "name": f"Article {i}",
                    "unit_price": Decimal("12.50"),
                    "price_includes_vat": i % 2 == 0,
                    "price_locked": False,
                    "vat_rate": Decimal("5.5" if i % 2 else "20"),
                    "allows_decimal_quantity": False,
                    "stock_on_hand": Decimal(1_000_000),
                    "stock_as_of": SNAPSHOT,
                    "reserved_quantity": Decimal(0),
                    "snapshot_at": SNAPSHOT,
                }
                for i in range(PRODUCTS)
            ],
        )
        user_id = conn.execute(
            insert(User.__table__).returning(User.__table__.c.id),
            {
                "username": "bench",
                "password_hash": "-",
                "role": "rep",
                "active": True,
                "created_at": SNAPSHOT,
            },
        ).scalar_one()
    engine.dispose()
    return issue_token(User(id=user_id, username="bench", role="rep"))


WRK_SCRIPT = """
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local lines = {}
  for i = 1, 5 do
    local code = math.random(0, %(products)d - 1)
    lines[i] = string.format('{"product_code":"P%%06d","quantity":%%d}', code, math.random(1, 5))
  end
  local body = string.format(
    '{"customer_code":"C%%05d","channel":"api","customer_reference":"R%%d","lines":[%%s]}',
    math.random(0, %(customers)d - 1), math.random(1, 1000000000), table.concat(lines, ","))
  return wrk.format(nil, "/api/v1/orders", nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%%d errors=%%d non2xx=%%d duration_us=%%d p50_us=%%d p99_us=%%d\\n",
    summary.requests, e.connect + e.read + e.write + e.timeout,
    summary.errors.status, summary.duration, latency:percentile(50), latency:percentile(99)))
  io.write(string.format("TAIL p90_us=%%d p95_us=%%d p999_us=%%d max_us=%%d\\n",
    latency:percentile(90), latency:percentile(95), latency:percentile(99.9), latency.max))
end
"""


def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("the service exited during start-up")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the service did not start")


@contextmanager
def serving(url: str, workers: int, port: int = PORT) -> Iterator[None]:
    """The service on `port`, from start-up (ready) to a graceful stop."""
    env = {**os.environ, "CARNET_DATABASE_URL": url, "CARNET_ENVIRONMENT": "development"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_ready(port, server)
        yield
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def load_service(url: str, token: str, workers: int, label: str) -> None:
    with serving(url, workers):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(WRK_SCRIPT % {"token": token, "products": PRODUCTS, "customers": CUSTOMERS})
        subprocess.run(
            ["wrk", "-t1", "-c8", "-d2s", "-s", script.name, f"http://127.0.0.1:{PORT}"],
            capture_output=True,
            check=True,
        )  # warm-up
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{CONNECTIONS}",
                f"-d{DURATION_S}s",
                "--timeout",
                "5s",
                "-s",
                script.name,
                f"http://127.0.0.1:{PORT}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        os.unlink(script.name)
        m = re.search(
            r"RESULT requests=(\d+) errors=(\d+) non2xx=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+)",
            out,
        )
        assert m, out
        requests, errors, non2xx, duration, p50, p99 = map(int, m.groups())
        print(
            f"capture_{label}_{workers}w_orders_per_s {(requests - non2xx) / (duration / 1e6):.0f} orders/s"
        )
        print(f"capture_{label}_{workers}w_p50 {p50 / 1000:.1f} ms")
        print(f"capture_{label}_{workers}w_p99 {p99 / 1000:.1f} ms")
        print(f"capture_{label}_{workers}w_failed {errors + non2xx} requests")
        tail = re.search(r"TAIL p90_us=(\d+) p95_us=(\d+) p999_us=(\d+) max_us=(\d+)", out)
        if tail:
            p90, p95, p999, worst = (int(v) / 1000 for v in tail.groups())
            print(
                f"# capture_{label}_{workers}w tail: p90 {p90:.1f} ms, p95 {p95:.1f} ms, "
                f"p99.9 {p999:.1f} ms, max {worst:.1f} ms"
            )


def direct_floor(url: str, label: str, count: int = 2000) -> None:
    engine = make_engine(url)
    actor = Actor(kind="user", id=1, name="bench", role="rep")
    rng = random.Random(7)
    drafts = [
        OrderCreate(
            customer_code=f"C{rng.randrange(CUSTOMERS):05d}",
            channel="api",
            customer_reference=f"D{i}",
            lines=[
                {"product_code": f"P{rng.randrange(PRODUCTS):06d}", "quantity": rng.randint(1, 5)}
                for _ in range(5)
            ],
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    for draft in drafts:
        session = open_session(engine, write=True)
        capture_order(session, draft=draft, actor=actor)
        session.commit()
        session.close()
    elapsed = time.perf_counter() - started
    engine.dispose()
    print(f"capture_{label}_direct_1process_orders_per_s {count / elapsed:.0f} orders/s")


def postgres_url() -> str | None:
    base = os.environ.get("CARNET_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS carnet_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE carnet_bench"))
        admin.dispose()
    except Exception as exc:
        print(f"# PostgreSQL case skipped: {exc}", file=sys.stderr)
        return None
    return make_url(base).set(database="carnet_bench").render_as_string(hide_password=False)


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is needed as the load generator (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="carnet-bench-"))
    cases = [
        ("sqlite", lambda: f"sqlite:///{workdir / f'bench{time.monotonic_ns()}.db'}"),
        ("postgresql", postgres_url),
    ]
    wanted = set(sys.argv[1:]) or {"sqlite", "postgresql"}
    for label, make in [case for case in cases if case[0] in wanted]:
        for workers in (1, 2):
            url = make()
            if url is None:
                break
            token = seed_database(url)
            load_service(url, token, workers, label)
        url = make()
        if url is None:
            continue
        seed_database(url)
        direct_floor(url, label)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
