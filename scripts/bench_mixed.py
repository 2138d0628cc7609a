"""Everybody writing at once, against capture alone: the service with 2 workers, loaded by wrk.

Prints one line per figure: `name value unit`. For each engine (SQLite, then PostgreSQL when the
local server answers), on a fresh database each time:
- capture alone: 32 connections posting 5-line orders (as scripts/bench_capture.py);
- mixed: 16 connections capturing and 4 shipping open orders (seeded beforehand, whole orders) as
  fast as the server answers; 1 posting returns (200 ms apart), 1 posting EANCOM interchanges (one
  4-line order each, 500 ms apart) and 2 reading lists (200 ms apart); one wrk process per route, so
  that each route has its own latency figures. Writes/s counts the answered writes of all routes
  (2xx), and `ratio` puts it against capture alone.
"""

import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_capture as capture_bench  # noqa: E402

from app.auth.models import User  # noqa: E402
from app.auth.service import Actor, issue_token  # noqa: E402
from app.catalog.models import Customer  # noqa: E402
from app.config import get_settings  # noqa: E402
from app.db import make_engine, session_scope  # noqa: E402
from app.edi.partners import create_partner  # noqa: E402
from app.numbering import business_moment  # noqa: E402
from app.orders import repository  # noqa: E402
from app.orders.capture import price_order, record_orders  # noqa: E402
from app.orders.schemas import OrderCreate  # noqa: E402

PORT = 8733
DURATION_S = 10
OPEN_ORDERS = 6000
PARTNER_GLN = "5412345000013"
ROUTES = {  # route: (connections, pause in ms between two requests of a connection)
    "capture": (16, 0),  # reps keying orders as fast as the server answers
    "ship": (4, 0),  # the warehouse shipping whole orders as fast as the server answers
    "return": (1, 200),  # a rep keying returns
    "edi": (1, 500),  # a partner's files, one 4-line order each
    "read": (2, 200),  # a dozen people refreshing lists every few seconds
}
WRITES = ("capture", "ship", "return", "edi")

COMMON = """
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d errors=%d non2xx=%d duration_us=%d p50_us=%d p99_us=%d\\n",
    summary.requests, e.connect + e.read + e.write + e.timeout,
    summary.errors.status, summary.duration, latency:percentile(50), latency:percentile(99)))
end
"""

SHIP = """
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer %(token)s"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, string.format("/api/v1/orders/%(prefix)s-%%06d/deliveries", n), nil, nil)
end
"""

RETURN = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
request = function()
  local body = string.format(
    '{"customer_code":"C%%05d","lines":[{"product_code":"P%%06d","quantity":1,"reason":"unsold"}]}',
    math.random(0, %(customers)d - 1), math.random(0, %(products)d - 1))
  return wrk.format(nil, "/api/v1/returns", nil, body)
end
"""

EDI = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/EDIFACT"
wrk.headers["X-API-Key"] = "%(key)s"
local n = math.random(1, 100000000)
request = function()
  n = n + 1
  local lines = {}
  for i = 1, 4 do
    lines[i] = string.format("LIN+%%d++%%s:EN'\\nQTY+21:%%d'", i, gtin(math.random(0, %(products)d - 1)), i)
  end
  local body = string.format(
    "UNA:+.? '\\nUNB+UNOC:3+%(gln)s:14+5499999000009:14+261120:0830+%%d'\\n" ..
    "UNH+1+ORDERS:D:96A:UN:EAN008'\\nBGM+220+PO-%%d+9'\\nDTM+137:20261120:102'\\n" ..
    "NAD+BY+%(gln)s::9'\\nNAD+SU+5499999000009::9'\\n%%s\\nUNS+S'\\nCNT+2:4'\\nUNT+16+1'\\nUNZ+1+%%d'\\n",
    n, n, table.concat(lines, "\\n"), n)
  return wrk.format(nil, "/api/v1/edi/interchanges", nil, body)
end
gtin = function(seed)
  local body = string.format("200%%09d", seed)
  local total = 0
  for i = 1, 12 do
    local d = tonumber(body:sub(i, i))
    if i %% 2 == 0 then total = total + 3 * d else total = total + d end
  end
  return body .. tostring((10 - total %% 10) %% 10)
end
"""

READ = """
wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer %(token)s"
local n = 0
local pages = {"/api/v1/orders?limit=20", "/api/v1/backorders?limit=20", "/api/v1/products?limit=20"}
request = function()
  n = n + 1
  return wrk.format(nil, pages[n %% 3 + 1], nil, nil)
end
"""


def seed_mixed(url: str) -> dict[str, str]:
    """The capture benchmark's catalogue, users for every role, a partner, and open orders to ship."""
    rep_token = capture_bench.seed_database(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        session.execute(update(Customer).where(Customer.code == "C00000").values(gln=PARTNER_GLN))
        warehouse_id = session.execute(
            insert(User).returning(User.id),
            {
                "username": "shipper",
                "password_hash": "-",
                "role": "warehouse",
                "active": True,
                "created_at": datetime.now(UTC),
            },
        ).scalar_one()
        _, key = create_partner(session, name="Hub", customer_codes=["C00000"])
        customers = session.execute(select(Customer.code).order_by(Customer.id)).scalars().all()
    rep = Actor(kind="user", id=1, name="bench", role="rep")
    for start in range(0, OPEN_ORDERS, 500):
        with session_scope(engine) as session:
            plans = []
            for n in range(start, start + 500):
                draft = OrderCreate(
                    customer_code=customers[n % len(customers)],
                    channel="phone",
                    lines=[
                        {"product_code": f"P{(n * 7 + k) % capture_bench.PRODUCTS:06d}", "quantity": 1 + k}
                        for k in range(3)
                    ],
                )
                customer = repository.customer_for_capture(session, draft.customer_code)
                products = repository.products_for_capture(
                    session, codes={line.product_code or "" for line in draft.lines}, gtins=set()
                )
                plans.append(
                    price_order(
                        draft=draft,
                        caller=rep.caller_key,
                        customer=customer,
                        products=products,
                        shipping_address=None,
                    )
                )
            record_orders(session, plans=plans)
    engine.dispose()
    warehouse = issue_token(User(id=warehouse_id, username="shipper", role="warehouse"))
    return {"rep": rep_token, "warehouse": warehouse, "key": key}


def start_wrk(
    script: str, connections: int, directory: Path, name: str, pause_ms: int = 0
) -> subprocess.Popen[str]:
    path = directory / f"{name}.lua"
    pause = f"delay = function() return {pause_ms} end\n" if pause_ms else ""
    path.write_text(script + COMMON + pause)
    return subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{DURATION_S}s",
            "--timeout",
            "10s",
            "-s",
            str(path),
            f"http://127.0.0.1:{PORT}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def result(output: str) -> dict[str, int]:
    match = re.search(
        r"RESULT requests=(\d+) errors=(\d+) non2xx=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+)", output
    )
    assert match, output
    keys = ("requests", "errors", "non2xx", "duration_us", "p50_us", "p99_us")
    return dict(zip(keys, map(int, match.groups()), strict=True))


def capture_alone(url: str, label: str, directory: Path) -> float:
    token = capture_bench.seed_database(url)
    script = capture_bench.WRK_SCRIPT % {
        "token": token,
        "products": capture_bench.PRODUCTS,
        "customers": capture_bench.CUSTOMERS,
    }
    with capture_bench.serving(url, 2, PORT):
        warm = start_wrk(script.split("done = function")[0], 8, directory, "warm")
        warm.communicate()
        figures = result(
            start_wrk(script.split("done = function")[0], 32, directory, "alone").communicate()[0]
        )
    rate = (figures["requests"] - figures["non2xx"]) / (figures["duration_us"] / 1e6)
    print(f"mixed_{label}_2w_capture_alone_orders_per_s {rate:.0f} orders/s")
    print(f"mixed_{label}_2w_capture_alone_p99 {figures['p99_us'] / 1000:.1f} ms")
    return rate


def mixed(url: str, label: str, directory: Path, alone: float) -> None:
    secrets = seed_mixed(url)
    values = {
        "token": secrets["rep"],
        "key": secrets["key"],
        "gln": PARTNER_GLN,
        "products": capture_bench.PRODUCTS,
        "customers": capture_bench.CUSTOMERS,
        "prefix": f"{get_settings().order_number_prefix}-{business_moment().year}",
    }
    scripts = {
        "capture": capture_bench.WRK_SCRIPT.split("done = function")[0] % values,
        "ship": SHIP % {**values, "token": secrets["warehouse"]},
        "return": RETURN % values,
        "edi": EDI % values,
        "read": READ % values,
    }
    with capture_bench.serving(url, 2, PORT):
        started = {
            name: start_wrk(scripts[name], connections, directory, name, pause)
            for name, (connections, pause) in ROUTES.items()
        }
        figures = {name: result(process.communicate()[0]) for name, process in started.items()}
    seconds = max(f["duration_us"] for f in figures.values()) / 1e6
    writes = sum(figures[name]["requests"] - figures[name]["non2xx"] for name in WRITES)
    print(f"mixed_{label}_2w_writes_per_s {writes / seconds:.0f} writes/s")
    print(f"mixed_{label}_2w_ratio_to_capture_alone {100 * writes / seconds / alone:.0f} %")
    for name, figure in figures.items():
        rate = (figure["requests"] - figure["non2xx"]) / seconds
        print(f"mixed_{label}_2w_{name}_per_s {rate:.0f} requests/s")
        print(f"mixed_{label}_2w_{name}_p99 {figure['p99_us'] / 1000:.1f} ms")
        if figure["non2xx"] or figure["errors"]:
            print(f"mixed_{label}_2w_{name}_failed {figure['non2xx'] + figure['errors']} requests")


def fresh_database(label: str, directory: Path) -> str | None:
    if label == "sqlite":
        return f"sqlite:///{directory / f'mixed{time.monotonic_ns()}.db'}"
    return capture_bench.postgres_url()


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="carnet-bench-mixed-"))
    wanted = set(sys.argv[1:]) or {"sqlite", "postgresql"}
    for label in ("sqlite", "postgresql"):
        if label not in wanted:
            continue

        url = fresh_database(label, directory)
        if url is None:
            continue
        alone = capture_alone(url, label, directory)
        url = fresh_database(label, directory)
        assert url is not None
        mixed(url, label, directory, alone)


if __name__ == "__main__":
    main()
