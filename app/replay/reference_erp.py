"""A reference ERP endpoint for replay tests and benchmarks: what a real ERP would do, on loopback.

It checks the HMAC signature (401), stores each document once per idempotency key in SQLite (so a
restarted ERP keeps its state), numbers them (`ERP-ORD-000001`, `ERP-INV-000001`, `ERP-CN-000001`),
answers a repeated key with 409 and the same number, and refuses documents whose dependency it has
not received (an invoice's orders, a credit note's invoice: 422). It can be told to misbehave, by
CLI flags or `POST /_control {"fail_rate", "modes", "hang_seconds", "slow_seconds", "seed"}`:
`error` (500, nothing stored), `unavailable` (503 + Retry-After, nothing stored), `timeout` (stores
after `hang_seconds`, past the client's patience), `drop` (stores, then closes the socket without an
answer), `slow` (answers after `slow_seconds`). `GET /_documents` lists what it holds, in arrival order.

A minimal HTTP/1.1 server on asyncio streams rather than a framework: it must sustain thousands of
kept-alive requests a second on two cores and be able to drop a connection mid-request, which an
ASGI server would turn into a 500.

    python -m app.replay.reference_erp --port 8900 --state var/erp.db [--fail-rate 0.2 --seed 7]
"""

import argparse
import asyncio
import hashlib
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson

from app.replay.connectors.signing import verify_signature

FAULT_MODES = ("error", "unavailable", "timeout", "drop", "slow")
KIND_BY_PATH = {"/orders": "order", "/invoices": "invoice", "/credit-notes": "credit_note"}
NUMBER_PREFIX = {"order": "ERP-ORD-", "invoice": "ERP-INV-", "credit_note": "ERP-CN-"}
MAX_BODY_BYTES = 10 * 1_048_576
SCHEMA = """
CREATE TABLE IF NOT EXISTS document (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    reference TEXT NOT NULL,
    erp_number TEXT NOT NULL UNIQUE,
    body_sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    received_count INTEGER NOT NULL DEFAULT 1,
    received_at REAL NOT NULL,
    UNIQUE (kind, reference)
);
CREATE TABLE IF NOT EXISTS counter (kind TEXT PRIMARY KEY, next INTEGER NOT NULL);
"""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the store made of one document: HTTP status, the ERP number when it holds it, why not."""

    status: int
    erp_number: str | None = None
    detail: str | None = None


class ErpStore:
    """The ERP's durable state. One lock and `BEGIN IMMEDIATE` make each receipt atomic between the
    server thread, a test reading it and another process on the same file."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a crash of the process, which is what a restart test needs.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def receive(self, *, kind: str, key: str, reference: str, body: bytes, depends_on: list[str]) -> Receipt:
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                receipt = self._receive(db, kind, key, reference, body, digest, depends_on)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return receipt

    def _receive(
        self,
        db: sqlite3.Connection,
        kind: str,
        key: str,
        reference: str,
        body: bytes,
        digest: str,
        depends_on: list[str],
    ) -> Receipt:
        known = db.execute(
            "SELECT erp_number, body_sha256 FROM document WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if known is not None:
            if known[1] != digest:
                return Receipt(422, detail=f"idempotency key {key} was used for another document")
            db.execute(
                "UPDATE document SET received_count = received_count + 1 WHERE idempotency_key = ?", (key,)
            )
            return Receipt(409, erp_number=known[0], detail="already received")
        if db.execute(
            "SELECT 1 FROM document WHERE kind = ? AND reference = ?", (kind, reference)
        ).fetchone():
            return Receipt(422, detail=f"{kind} {reference} was received under another idempotency key")
        dependency_kind = "invoice" if kind == "credit_note" else "order"
        for needed in depends_on:
            # Two indexed lookups: an OR of both columns would scan the whole table on every invoice.
            found = (
                db.execute(
                    "SELECT 1 FROM document WHERE kind = ? AND reference = ?", (dependency_kind, needed)
                ).fetchone()
                or db.execute(
                    "SELECT 1 FROM document WHERE kind = ? AND erp_number = ?", (dependency_kind, needed)
                ).fetchone()
            )
            if found is None:
                return Receipt(422, detail=f"unknown {dependency_kind} {needed}")
        db.execute("INSERT INTO counter (kind, next) VALUES (?, 1) ON CONFLICT (kind) DO NOTHING", (kind,))
        (number,) = db.execute(
            "UPDATE counter SET next = next + 1 WHERE kind = ? RETURNING next - 1", (kind,)
        ).fetchone()
        erp_number = f"{NUMBER_PREFIX[kind]}{number:06d}"
        db.execute(
            "INSERT INTO document (idempotency_key, kind, reference, erp_number, body_sha256, body,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key, kind, reference, erp_number, digest, body, time.time()),
        )
        return Receipt(201, erp_number=erp_number)

    def hold_existing(self, *, kind: str, erp_number: str) -> None:
        """A document the ERP held before Carnet replayed anything (an invoice of goods billed before
        the outage), known by its ERP number only: what a credit note may name as corrected."""
        with self._lock:
            self._db.execute(
                "INSERT INTO document (idempotency_key, kind, reference, erp_number, body_sha256, body,"
                " received_at) VALUES (?, ?, ?, ?, '', x'', ?)",
                (f"existing:{erp_number}", kind, erp_number, erp_number, time.time()),
            )

    def documents(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, idempotency_key, reference, erp_number, received_count"
                " FROM document ORDER BY seq"
            ).fetchall()
        keys = ("kind", "idempotency_key", "reference", "erp_number", "received_count")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class FaultPolicy:
    """How often and how the ERP misbehaves; changed at run time by `POST /_control`."""

    def __init__(
        self,
        *,
        fail_rate: float = 0.0,
        modes: tuple[str, ...] = ("error",),
        hang_seconds: float = 30.0,
        slow_seconds: float = 0.2,
        seed: int | None = None,
    ) -> None:
        self.fail_rate = fail_rate
        self.modes = modes
        self.hang_seconds = hang_seconds
        self.slow_seconds = slow_seconds
        self._rng = random.Random(seed)

    def update(self, settings: dict[str, Any]) -> None:
        modes = tuple(settings.get("modes", self.modes))
        unknown = set(modes) - set(FAULT_MODES)
        if unknown or not modes:
            raise ValueError(f"modes must be among {', '.join(FAULT_MODES)}")
        fail_rate = float(settings.get("fail_rate", self.fail_rate))
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self.fail_rate, self.modes = fail_rate, modes
        self.hang_seconds = float(settings.get("hang_seconds", self.hang_seconds))
        self.slow_seconds = float(settings.get("slow_seconds", self.slow_seconds))
        if "seed" in settings:
            self._rng.seed(settings["seed"])

    def draw(self) -> str | None:
        """The fault for this request, or None to behave."""
        if self.fail_rate and self._rng.random() < self.fail_rate:
            return self._rng.choice(self.modes)
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fail_rate": self.fail_rate,
            "modes": list(self.modes),
            "hang_seconds": self.hang_seconds,
            "slow_seconds": self.slow_seconds,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    retry_after: int | None = None

    def encode(self, *, keep_alive: bool) -> bytes:
        head = [
            f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
        ]
        if self.retry_after is not None:
            head.append(f"Retry-After: {self.retry_after}")
        if not keep_alive:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + self.body


DROP = Answer(0)  # close the connection without answering


def _json(status: int, data: Any) -> Answer:
    return Answer(status, orjson.dumps(data))


def _problem(status: int, detail: str, *, retry_after: int | None = None) -> Answer:
    title = HTTPStatus(status).phrase
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Answer(status, orjson.dumps(body), "application/problem+json", retry_after)


class ReferenceErp:
    """The server. `start()` runs it on its own event loop in a daemon thread (for tests and
    benchmarks); `serve_forever()` runs it in the calling thread (for the CLI)."""

    def __init__(
        self,
        *,
        state: Path,
        secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = ErpStore(state)
        self.faults = faults or FaultPolicy()
        self._secret = secret
        self._host = host
        self._port = port
        self._clock = clock
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def start(self) -> "ReferenceErp":
        self._thread = threading.Thread(target=self.serve_forever, name="reference-erp", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the reference ERP did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)
        self.store.close()

    def serve_forever(self, on_ready: Callable[[str], None] | None = None) -> None:
        asyncio.run(self._serve(on_ready))

    async def _serve(self, on_ready: Callable[[str], None] | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, self._host, self._port, backlog=1024)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        if on_ready is not None:
            on_ready(self.url)
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # Without it a kept-alive client waits for a delayed ACK on every request (see PERF_NOTES).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._exchange(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # the client went away, or sent something that is not HTTP/1.1: close
        except asyncio.CancelledError:
            # Cancelled by stop(): end quietly (on 3.11 a connection task ending cancelled is logged as
            # an error by asyncio's stream callback).
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """One request and its answer; False when the connection must end."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if length > MAX_BODY_BYTES or "transfer-encoding" in headers:
            writer.write(_problem(413, "send one document with a Content-Length").encode(keep_alive=False))
            return False
        body = await reader.readexactly(length) if length else b""
        answer = await self._answer(method, target.split("?", 1)[0], headers, body)
        if answer is DROP:
            writer.transport.abort()
            return False
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        writer.write(answer.encode(keep_alive=keep_alive))
        await writer.drain()
        return keep_alive

    async def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        if path in KIND_BY_PATH:
            if method != "POST":
                return _problem(405, "POST a document")
            return await self._receive(KIND_BY_PATH[path], headers, body)
        if path == "/_documents" and method == "GET":
            return _json(200, self.store.documents())
        if path == "/_control" and method == "POST":
            try:
                self.faults.update(orjson.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                return _problem(400, str(exc))
            return _json(200, self.faults.as_dict())
        if path == "/_health":
            return _json(200, {"status": "ok"})
        return _problem(404, f"no {method} {path} here")

    async def _receive(self, kind: str, headers: dict[str, str], body: bytes) -> Answer:
        refused = verify_signature(
            self._secret,
            timestamp=headers.get("x-carnet-timestamp"),
            signature_header=headers.get("x-carnet-signature"),
            body=body,
            now=self._clock(),
        )
        if refused:
            return _problem(401, refused)
        key = headers.get("idempotency-key")
        if not key:
            return _problem(400, "the Idempotency-Key header is required")
        try:
            document = orjson.loads(body)
            reference = document["reference"]
            depends_on = _dependencies(kind, document)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            return _problem(400, f"not a Carnet document: {exc}")
        if document.get("kind") != kind:
            return _problem(422, f"a {document.get('kind')} was sent to the {kind} endpoint")

        fault = self.faults.draw()
        if fault == "error":
            return _problem(500, "injected failure")
        if fault == "unavailable":
            return _problem(503, "injected unavailability", retry_after=1)
        if fault in ("slow", "timeout"):
            await asyncio.sleep(self.faults.slow_seconds if fault == "slow" else self.faults.hang_seconds)
        receipt = self.store.receive(
            kind=kind, key=key, reference=reference, body=body, depends_on=depends_on
        )
        if fault == "drop":
            return DROP
        if receipt.erp_number is not None:
            return _json(receipt.status, {"reference": receipt.erp_number, "detail": receipt.detail})
        return _problem(receipt.status, receipt.detail or "refused")


def _dependencies(kind: str, document: dict[str, Any]) -> list[str]:
    """The references this document needs the ERP to hold already."""
    references = document.get("references") or {}
    if kind == "invoice":
        return list(references.get("order_numbers") or [])
    if kind == "credit_note":
        first = references.get("corrected_invoice")
        corrected = ([first] if first else []) + list(references.get("further_corrected_invoices") or [])
        return [invoice["erp_number"] or invoice["reference"] for invoice in corrected]
    return []


@contextmanager
def running_reference_erp(
    *, state: Path, secret: str, faults: FaultPolicy | None = None
) -> Iterator[ReferenceErp]:
    """A reference ERP on a free loopback port for the duration of a `with` block."""
    erp = ReferenceErp(state=state, secret=secret, faults=faults).start()
    try:
        yield erp
    finally:
        erp.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app.replay.reference_erp", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port (printed on start)")
    parser.add_argument("--state", type=Path, required=True, help="SQLite file; kept across restarts")
    parser.add_argument(
        "--secret", default=os.environ.get("CARNET_ERP_SECRET"), help="default: $CARNET_ERP_SECRET"
    )
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--modes", default="error", help=f"comma-separated among {','.join(FAULT_MODES)}")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--slow-seconds", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    if not args.secret:
        parser.error("--secret or CARNET_ERP_SECRET is required")
    faults = FaultPolicy(seed=args.seed)
    try:
        faults.update(
            {
                "fail_rate": args.fail_rate,
                "modes": args.modes.split(","),
                "hang_seconds": args.hang_seconds,
                "slow_seconds": args.slow_seconds,
            }
        )
    except ValueError as exc:
        parser.error(str(exc))
    erp = ReferenceErp(state=args.state, secret=args.secret, host=args.host, port=args.port, faults=faults)
    try:
        erp.serve_forever(on_ready=lambda url: print(f"reference ERP listening on {url}", flush=True))
    except KeyboardInterrupt:
        pass
    finally:
        erp.store.close()


if __name__ == "__main__":
    main()
