"""The desk's speed with a real catalogue: 100,000 products on SQLite, a rep signed in.

Prints the server's answer times over loopback (one client, keep-alive, so the figure is the server's
work plus a loopback round trip): search as you type (prefixes as a rep types them, codes, GTINs,
title words, and misses that scan every title), the order entry page, and adding a line (the
form re-planned by capture)."""

import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.auth.models import User  # noqa: E402
from app.auth.service import hash_password  # noqa: E402
from app.catalog.models import Customer, Product  # noqa: E402
from app.db import make_engine, writing_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from scripts.bench_capture import ean13, serving  # noqa: E402

PRODUCTS, CUSTOMERS = 100_000, 2_000
PORT = 8741
SNAPSHOT = datetime(2026, 11, 20, tzinfo=UTC)
PASSWORD = "bench-password"
SYLLABLES = ["ba", "lo", "mi", "ra", "te", "vu", "no", "si", "pa", "de", "cho", "lu", "ver", "gan", "tor"]


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))


def seed(url: str, rng: random.Random) -> list[str]:
    engine = make_engine(url)
    upgrade(engine)
    titles = [" ".join(word(rng) for _ in range(rng.randint(2, 5))).capitalize() for _ in range(PRODUCTS)]
    with writing_engine(engine).begin() as conn:
        conn.execute(
            insert(Customer.__table__),
            [
                {
                    "code": f"C{i:05d}",
                    "name": f"Librairie {word(rng).capitalize()}",
                    "billing_street": "1 rue",
                    "billing_postal_code": f"{rng.randint(1, 95):02d}000",
                    "billing_city": word(rng).capitalize(),
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
                    "name": titles[i],
                    "unit_price": Decimal("12.50"),
                    "price_includes_vat": False,
                    "price_locked": False,
                    "vat_rate": Decimal("5.5"),
                    "allows_decimal_quantity": False,
                    "stock_on_hand": Decimal(100),
                    "stock_as_of": SNAPSHOT,
                    "reserved_quantity": Decimal(0),
                    "snapshot_at": SNAPSHOT,
                }
                for i in range(PRODUCTS)
            ],
        )
        conn.execute(
            insert(User.__table__),
            {
                "username": "rep",
                "password_hash": hash_password(PASSWORD),
                "role": "rep",
                "active": True,
                "created_at": SNAPSHOT,
            },
        )
    engine.dispose()
    return titles


def typed_queries(titles: list[str], rng: random.Random, count: int) -> list[str]:
    """What the item field sends while a rep types: growing prefixes of titles, codes and GTINs,
    a word from the middle of a title, and misses (typos) that match nothing."""
    queries: list[str] = []
    while len(queries) < count:
        index = rng.randrange(PRODUCTS)
        kind = rng.random()
        if kind < 0.4:
            title = titles[index].lower()
            queries += [title[:n] for n in range(2, min(len(title), 12) + 1)]
        elif kind < 0.6:
            queries += [f"P{index:06d}"[:n] for n in range(2, 8)]
        elif kind < 0.75:
            queries.append(ean13(index))
        elif kind < 0.9:
            queries.append(rng.choice(titles[index].split()).lower())
        else:
            queries.append("zq" + word(rng))
    return queries[:count]


def timed(call: Callable[[], httpx.Response]) -> float:
    start = time.perf_counter()
    answer = call()
    elapsed = time.perf_counter() - start
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.request.url}: {answer.status_code}")
    return elapsed * 1000


def report(name: str, times: list[float]) -> None:
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{name}_p50 {statistics.median(times):.1f} ms")
    print(f"{name}_p95 {p95:.1f} ms")


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite:///{workdir}/desk.db"
        titles = seed(url, rng)
        with serving(url, workers=1, port=PORT), httpx.Client(base_url=f"http://127.0.0.1:{PORT}") as client:
            login = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
            assert csrf is not None
            client.post("/login", data={"username": "rep", "password": PASSWORD, "csrf_token": csrf.group(1)})
            assert "Saisie de commande" in client.get("/orders/new").text, "the bench's rep did not sign in"
            queries = typed_queries(titles, rng, 600)
            for query in queries[:50]:  # warm-up
                client.get("/orders/new/products", params={"item": query})
            report(
                "desk_search_100k_products",
                [timed(lambda q=q: client.get("/orders/new/products", params={"item": q})) for q in queries],
            )
            report("desk_entry_page", [timed(lambda: client.get("/orders/new")) for _ in range(100)])
            form = {"csrf_token": csrf.group(1), "customer_query": "C00042", "entry_key": "bench"}
            report(
                "desk_add_line",
                [
                    timed(
                        lambda i=i: client.post(
                            "/orders/new", data={**form, "item": f"P{i:06d}"}, headers={"HX-Request": "true"}
                        )
                    )
                    for i in range(100)
                ],
            )


if __name__ == "__main__":
    main()
