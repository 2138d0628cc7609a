"""Everybody at once against the real server: reps capturing, the warehouse shipping, returns, an EDI
partner posting files, finance and reps reading, a stock import from the command line, and a probe
of `/healthz`. Used by the mixed-workload and crash tests and by `scripts/bench_mixed.py`.

Every write carries an `Idempotency-Key` (EDI files are their own key), so that a client whose server
died mid-request can send the same request again and get the first answer: the crash test does
exactly that. What each client was told is kept, to be checked against the database afterwards.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from app.audit.models import Action, AuditRecord
from app.audit.service import verify
from app.auth.service import issue_token
from app.catalog.models import Customer, Product
from app.db import session_scope
from app.delivery.models import DeliveryNote, GoodsReturn
from app.edi.partners import create_partner
from app.invoicing.models import DeferredDocument
from app.numbering import DocumentCounter
from app.orders.models import SaleOrder
from tests.builders import make_customer, make_product, make_user
from tests.edi.edi_builders import Line, order_edifact

ROOT = Path(__file__).resolve().parents[1]
PARTNER_GLN = "5412345000013"
NUMBER = re.compile(r"^(?P<series>[A-Z]+-\d{4})-(?P<value>\d{6})$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


class Server:
    """`carnet serve` in a process group of its own, on a free port of the loopback."""

    def __init__(self, url: str, *, workers: int, log: Path) -> None:
        self.url = url
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "CARNET_DATABASE_URL": self.url, "CARNET_ENVIRONMENT": "development"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "app",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start-up: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a port that is not open yet; nothing to wait on instead
        raise RuntimeError("the server did not answer within 60 s")

    def kill(self) -> None:
        """SIGKILL the supervisor and its workers at once, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cast:
    """Who works: tokens per role, the partner's key, what they order."""

    rep: str
    warehouse: str
    finance: str
    partner_key: str
    customers: list[str]
    products: list[str]
    gtins: list[str]


def seed(engine: Engine, *, customers: int = 20, products: int = 40) -> Cast:
    with session_scope(engine) as session:
        partner_customer = make_customer(session, gln=PARTNER_GLN)
        codes = [make_customer(session).code for _ in range(customers - 1)] + [partner_customer.code]
        made = [make_product(session, stock="1000000") for _ in range(products)]
        _, key = create_partner(session, name="Hub", customer_codes=[partner_customer.code])
        tokens = {
            role: issue_token(make_user(session, role=role)) for role in ("rep", "warehouse", "finance")
        }
        return Cast(
            rep=tokens["rep"],
            warehouse=tokens["warehouse"],
            finance=tokens["finance"],
            partner_key=key,
            customers=codes,
            products=[p.code for p in made],
            gtins=[p.gtin or "" for p in made],
        )


@dataclass
class Call:
    route: str
    status: int | None  # None: no answer (connection lost), then the same request was sent again
    seconds: float


@dataclass
class Journal:
    """What the clients asked and were told."""

    calls: list[Call] = field(default_factory=list)
    orders: dict[str, str] = field(default_factory=dict)  # idempotency key -> order number
    notes: dict[str, str] = field(default_factory=dict)  # order number -> delivery note number
    returns: dict[str, str] = field(default_factory=dict)  # delivery note -> return number
    edi_orders: list[str] = field(default_factory=list)
    imports: list[int] = field(default_factory=list)  # exit statuses
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, status: int | None, seconds: float) -> None:
        with self.lock:
            self.calls.append(Call(route, status, seconds))

    def statuses(self) -> dict[str, dict[int | None, int]]:
        table: dict[str, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
        for call in self.calls:
            table[call.route][call.status] += 1
        return {route: dict(counts) for route, counts in table.items()}

    def server_errors(self) -> list[Call]:
        return [c for c in self.calls if c.status is not None and c.status >= 500]

    def p99(self, route: str) -> float:
        times = sorted(c.seconds for c in self.calls if c.route == route and c.status is not None)
        return times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0

    def writes(self) -> int:
        return sum(
            1 for c in self.calls if c.route in WRITE_ROUTES and c.status is not None and c.status < 300
        )


WRITE_ROUTES = ("capture", "ship", "return", "edi")


class Workload:
    """The clients, each a thread with its own keep-alive connection, until `stop` is set.

    With `retry`, a request that got no answer (the server died) is sent again, identical, until it
    gets one: the crash test's clients behave as a careful integration would."""

    def __init__(self, server: Server, cast: Cast, *, retry: bool = False, reps: int = 3, shippers: int = 2):
        self.server = server
        self.cast = cast
        self.retry = retry
        self.reps = reps
        self.shippers = shippers
        self.journal = Journal()
        self.stop = threading.Event()
        self.to_ship: Queue[str] = Queue()
        self.to_return: Queue[str] = Queue()
        self.health_worst = 0.0

    def run(self, seconds: float, *, import_file: Path | None = None) -> Journal:
        roles: list[Callable[[], None]] = [*(self._rep(i) for i in range(self.reps))]
        roles += [self._shipper() for _ in range(self.shippers)]
        roles += [self._returns(), self._edi(), self._reader(), self._health()]
        if import_file is not None:
            roles.append(self._importer(import_file))
        threads = [threading.Thread(target=self._guarded(role), daemon=True) for role in roles]
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        assert not [t for t in threads if t.is_alive()], "a client never got its answer"
        return self.journal

    def _guarded(self, role: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                role()
            except Exception as exc:  # kept for the test to report, never swallowed
                with self.journal.lock:
                    self.journal.errors.append(f"{type(exc).__name__}: {exc}")

        return run

    def _client(self, headers: dict[str, str]) -> httpx.Client:
        return httpx.Client(base_url=self.server.base, headers=headers, timeout=30)

    def _send(self, client: httpx.Client, route: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        while True:
            started = time.perf_counter()
            try:
                response = client.request(method, url, **kwargs)
            except httpx.TransportError:
                self.journal.record(route, None, time.perf_counter() - started)
                if not self.retry:
                    raise
                time.sleep(0.05)  # the server is restarting: nothing to wait on but time
                continue
            self.journal.record(route, response.status_code, time.perf_counter() - started)
            return response

    def _rep(self, index: int) -> Callable[[], None]:
        def run() -> None:
            cast, n = self.cast, 0
            with self._client({"Authorization": f"Bearer {cast.rep}"}) as client:
                while not self.stop.is_set():
                    n += 1
                    key = f"rep{index}-{n}"
                    lines = [
                        {
                            "product_code": cast.products[(n * 7 + k * 3 + index) % len(cast.products)],
                            "quantity": 1 + k,
                        }
                        for k in range(3)
                    ]
                    body = {
                        "customer_code": cast.customers[(n + index) % (len(cast.customers) - 1)],
                        "channel": "phone",
                        "customer_reference": key,
                        "lines": lines,
                    }
                    answer = self._send(
                        client,
                        "capture",
                        "POST",
                        "/api/v1/orders",
                        json=body,
                        headers={"Idempotency-Key": key},
                    )
                    if answer.status_code in (200, 201):
                        number = answer.json()["number"]
                        with self.journal.lock:
                            self.journal.orders[key] = number
                        self.to_ship.put(number)

        return run

    def _shipper(self) -> Callable[[], None]:
        def run() -> None:
            with self._client({"Authorization": f"Bearer {self.cast.warehouse}"}) as client:
                while not self.stop.is_set():
                    try:
                        number = self.to_ship.get(timeout=0.2)
                    except Empty:
                        continue
                    answer = self._send(
                        client,
                        "ship",
                        "POST",
                        f"/api/v1/orders/{number}/deliveries",
                        headers={"Idempotency-Key": f"ship-{number}"},
                    )
                    if answer.status_code in (200, 201):
                        note = answer.json()["number"]
                        with self.journal.lock:
                            self.journal.notes[number] = note
                        self.to_return.put(note)

        return run

    def _returns(self) -> Callable[[], None]:
        def run() -> None:
            with self._client({"Authorization": f"Bearer {self.cast.rep}"}) as client:
                while not self.stop.is_set():
                    try:
                        note = self.to_return.get(timeout=0.2)
                    except Empty:
                        continue
                    detail = self._send(client, "read", "GET", f"/api/v1/delivery-notes/{note}")
                    if detail.status_code != 200:
                        continue
                    shipped = detail.json()
                    line = shipped["lines"][0]
                    body = {
                        "customer_code": shipped["customer_code"],
                        "delivery_note_number": note,
                        "lines": [{"product_code": line["product_code"], "quantity": 1, "reason": "unsold"}],
                    }
                    answer = self._send(
                        client,
                        "return",
                        "POST",
                        "/api/v1/returns",
                        json=body,
                        headers={"Idempotency-Key": f"ret-{note}"},
                    )
                    if answer.status_code in (200, 201):
                        with self.journal.lock:
                            self.journal.returns[note] = answer.json()["number"]
                    # about one note in four comes back: leave the returns client idle in between
                    for _ in range(3):
                        try:
                            self.to_return.get_nowait()
                        except Empty:
                            break

        return run

    def _edi(self) -> Callable[[], None]:
        def run() -> None:
            cast, n = self.cast, 0
            headers = {"X-API-Key": cast.partner_key, "Content-Type": "application/EDIFACT"}
            with self._client(headers) as client:
                while not self.stop.is_set():
                    n += 1
                    lines = [Line(cast.gtins[(n + k) % len(cast.gtins)], quantity=1 + k) for k in range(4)]
                    data = order_edifact(lines, po_number=f"EDI-{n}", control_ref=f"{n:08d}")
                    answer = self._send(client, "edi", "POST", "/api/v1/edi/interchanges", content=data)
                    if answer.status_code in (200, 201):
                        with self.journal.lock:
                            self.journal.edi_orders += answer.json()["orders"]
                    self.stop.wait(0.2)

        return run

    def _reader(self) -> Callable[[], None]:
        def run() -> None:
            pages = [
                (self.cast.rep, "/api/v1/orders?limit=20"),
                (self.cast.warehouse, "/api/v1/backorders?limit=20"),
                (self.cast.finance, "/api/v1/deferred-documents?limit=20"),
                (self.cast.rep, "/api/v1/products?limit=20"),
            ]
            with self._client({}) as client:
                n = 0
                while not self.stop.is_set():
                    token, url = pages[n % len(pages)]
                    n += 1
                    self._send(client, "read", "GET", url, headers={"Authorization": f"Bearer {token}"})

        return run

    def _health(self) -> Callable[[], None]:
        def run() -> None:
            with self._client({}) as client:
                while not self.stop.is_set():
                    started = time.perf_counter()
                    try:
                        client.get("/healthz", timeout=5)
                    except httpx.TransportError:
                        if not self.retry:
                            raise
                    else:
                        self.health_worst = max(self.health_worst, time.perf_counter() - started)
                    self.stop.wait(0.1)

        return run

    def _importer(self, path: Path) -> Callable[[], None]:
        def run() -> None:
            env = {**os.environ, "CARNET_DATABASE_URL": self.server.url}
            while not self.stop.is_set():
                done = subprocess.run(
                    [sys.executable, "-m", "app", "import", "stock", str(path)],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    timeout=120,
                )
                with self.journal.lock:
                    self.journal.imports.append(done.returncode)
                    if done.returncode != 0:
                        self.journal.errors.append(done.stderr.decode()[-500:])
                self.stop.wait(2)

        return run


def stock_file(directory: Path, cast: Cast) -> Path:
    path = directory / "stock.csv"
    path.write_text("code;stock\n" + "".join(f"{code};1000000\n" for code in cast.products[::2]))
    return path


def check_database(engine: Engine, journal: Journal) -> list[str]:
    """What the clients were told against what the database holds: every answered order, note and
    return exists once, with the number given; every document series has no gap and no double; the
    audit trail's chain holds, and each order, note and return has its one record."""
    problems: list[str] = []
    with session_scope(engine, write=False) as session:
        problems += [f"audit record {b.record_id}: {b.reason}" for b in verify(session).breaks]
        for action, documents in (
            (Action.ORDER_CAPTURED, select(SaleOrder.number)),
            (Action.DELIVERY_NOTE_ISSUED, select(DeliveryNote.number)),
            (Action.RETURN_RECORDED, select(GoodsReturn.number)),
        ):
            records = select(AuditRecord.subject_ref).where(AuditRecord.action == action)
            recorded = sorted(session.scalars(records))
            if recorded != sorted(session.scalars(documents)):
                problems.append(f"{action}: {len(recorded)} audit records for these documents")
        by_reference = dict(
            session.execute(
                select(SaleOrder.customer_reference, func.count())
                .where(SaleOrder.customer_reference.in_(list(journal.orders)))
                .group_by(SaleOrder.customer_reference)
            ).all()
        )
        numbers = dict(session.execute(select(SaleOrder.customer_reference, SaleOrder.number)).all())
        for key, number in journal.orders.items():
            if by_reference.get(key) != 1:
                problems.append(f"order {key}: {by_reference.get(key, 0)} orders instead of 1")
            elif numbers.get(key) != number:
                problems.append(f"order {key}: answered {number}, stored {numbers.get(key)}")
        series: dict[str, list[str]] = {
            "order": list(session.execute(select(SaleOrder.number)).scalars()),
            "delivery note": list(session.execute(select(DeliveryNote.number)).scalars()),
            "return": list(session.execute(select(GoodsReturn.number)).scalars()),
            "deferred document": list(session.execute(select(DeferredDocument.reference)).scalars()),
        }
        for label, wanted in (
            ("delivery note", set(journal.notes.values())),
            ("return", set(journal.returns.values())),
            ("order", set(journal.edi_orders)),
        ):
            missing = wanted - set(series[label])
            if missing:
                problems.append(f"{len(missing)} answered {label}s missing, e.g. {sorted(missing)[:3]}")
        notes_per_order = dict(
            session.execute(
                select(SaleOrder.number, func.count(DeliveryNote.id))
                .join(DeliveryNote, DeliveryNote.order_id == SaleOrder.id)
                .where(SaleOrder.number.in_(list(journal.notes)))
                .group_by(SaleOrder.number)
            ).all()
        )
        doubled = {number: n for number, n in notes_per_order.items() if n != 1}
        if doubled:
            problems.append(f"orders shipped once by the clients but with several notes: {doubled}")
        counters = dict(session.execute(select(DocumentCounter.name, DocumentCounter.next_value)).all())
    for label, values in series.items():
        by_series: dict[str, list[int]] = defaultdict(list)
        for value in values:
            match = NUMBER.match(value)
            if match is None:
                problems.append(f"{label} number {value!r} is not a series number")
                continue
            by_series[match["series"]].append(int(match["value"]))
        for name, taken in by_series.items():
            if sorted(taken) != list(range(1, len(taken) + 1)):
                problems.append(f"series {name} has gaps or doubles: {len(taken)} numbers up to {max(taken)}")
            prefix, year = name.rsplit("-", 1)
            if counters.get(f"{prefix}:{year}", 1) - 1 != len(taken):
                problems.append(
                    f"series {name}: counter at {counters.get(f'{prefix}:{year}')}, {len(taken)} documents"
                )
    return problems


def totals(engine: Engine) -> dict[str, int]:
    with session_scope(engine, write=False) as session:
        return {
            "orders": session.execute(select(func.count()).select_from(SaleOrder)).scalar_one(),
            "notes": session.execute(select(func.count()).select_from(DeliveryNote)).scalar_one(),
            "returns": session.execute(select(func.count()).select_from(GoodsReturn)).scalar_one(),
            "customers": session.execute(select(func.count()).select_from(Customer)).scalar_one(),
            "products": session.execute(select(func.count()).select_from(Product)).scalar_one(),
        }


@dataclass
class Killer:
    """Kills the server with SIGKILL every `every` seconds and starts it again, `times` times, then
    lets the clients work `settle` seconds more and stops them."""

    server: Server
    times: int
    every: float
    stop: threading.Event
    settle: float = 3.0
    kills: int = 0

    def __call__(self) -> None:
        try:
            for _ in range(self.times):
                if self.stop.wait(self.every):
                    return
                self.server.kill()
                self.kills += 1
                self.server.start()
            self.stop.wait(self.settle)
        finally:
            self.stop.set()
