"""Replay into a folder, for an ERP that imports files (or for finance to archive what was sent).

Layout under the configured folder:
- `runs/<run id>.jsonl`: one line per document, the same JSON as the HTTP body;
- `runs/<run id>.csv`: one row per document line, with the document's figures repeated;
- `ubl/<reference>.xml` and `factur-x/<reference>.xml`: UBL 2.1 and CII (EN 16931) for every invoice
  and credit note;
- `index.jsonl`: the commit log, one line per document written, with the sizes of its run's files.

Exactly once across crashes and runs: a document counts as written only once its index line is on
disk. On opening, everything past the last committed size of each run file is cut off (a crash
between the run files and the index leaves such a tail), so a re-send after a crash appends the
lines once; a key already in the index is acknowledged without writing anything. XML files are
replaced atomically and are identical on a re-send. One process at a time per folder (flock).
"""

import csv
import fcntl
import io
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import orjson

from app.money import money_str, price_str, rate_str
from app.replay.connectors.base import Acknowledged, Failed, Retryable, SendOutcome
from app.replay.documents import DocumentKind, ErpDocument
from app.replay.formats import UnsupportedDocument, cii_bytes, ubl_bytes

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
CSV_HEADER = (
    "kind",
    "reference",
    "invoice_number",
    "idempotency_key",
    "issue_date",
    "currency",
    "buyer_code",
    "buyer_name",
    "buyer_vat_number",
    "order_numbers",
    "delivery_note_numbers",
    "corrected_invoice",
    "line_no",
    "product_code",
    "gtin",
    "description",
    "quantity",
    "unit_code",
    "unit_price",
    "price_includes_vat",
    "discount_percent",
    "vat_rate",
    "line_net_amount",
    "document_net",
    "document_vat",
    "document_gross",
)


class FolderInUse(Exception):
    """Another replay holds the folder: two writers would interleave their lines."""


@dataclass(frozen=True, slots=True)
class FilesConnectorConfig:
    """`folder` is where the ERP picks files up. `fsync=False` only for tests that do not care
    about power cuts."""

    folder: Path
    fsync: bool = True


@dataclass(frozen=True, slots=True)
class _RunSizes:
    jsonl: int
    csv: int


class FilesConnector:
    def __init__(self, config: FilesConnectorConfig, *, run_id: str) -> None:
        if not run_id or SAFE_NAME.search(run_id):
            raise ValueError(f"run id {run_id!r} must be letters, digits, '.', '_' or '-'")
        self._config = config
        self._run_id = run_id
        self._lock = threading.Lock()
        folder = config.folder
        for sub in ("runs", "ubl", "factur-x"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        self._folder_lock = open(folder / ".lock", "a+b")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(self._folder_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self._folder_lock.close()
            raise FolderInUse(f"{folder} is being written by another replay") from exc
        self._jsonl_path = folder / "runs" / f"{run_id}.jsonl"
        self._csv_path = folder / "runs" / f"{run_id}.csv"
        self._index_path = folder / "index.jsonl"
        self._sent: dict[str, str] = {}
        self._references: set[str] = set()
        self._committed: dict[str, _RunSizes] = {}
        self._recover()

    def send(self, document: ErpDocument) -> SendOutcome:
        stem = SAFE_NAME.sub("_", document.reference)
        with self._lock:
            if document.idempotency_key in self._sent:
                return Acknowledged(self._sent[document.idempotency_key], already_received=True)
            if stem in self._references:
                return Failed(f"{document.reference} was already written under another idempotency key")
            try:
                self._write_xml(document, stem)
                self._append_run_lines(document)
                self._commit(document.idempotency_key, stem)
            except UnsupportedDocument as exc:
                return Failed(str(exc))
            except OSError as exc:
                # Disk full, permissions, unmounted share: cut what was half-written, then try later.
                self._cut_uncommitted_tails()
                return Retryable(f"cannot write to {self._config.folder}: {exc}")
            self._sent[document.idempotency_key] = stem
            self._references.add(stem)
            return Acknowledged(stem)

    def close(self) -> None:
        with self._lock:
            fcntl.flock(self._folder_lock, fcntl.LOCK_UN)
            self._folder_lock.close()

    def _recover(self) -> None:
        """Load the commit log, drop a torn last entry, then cut every run file to its committed size."""
        good_size = 0
        if self._index_path.exists():
            with self._index_path.open("rb") as index:
                for raw in index:
                    try:
                        entry = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        break
                    if not raw.endswith(b"\n"):
                        break
                    good_size += len(raw)
                    self._sent[entry["key"]] = entry["reference"]
                    self._references.add(entry["reference"])
                    self._committed[entry["run"]] = _RunSizes(entry["jsonl_size"], entry["csv_size"])
            os.truncate(self._index_path, good_size)
        self._cut_uncommitted_tails()

    def _cut_uncommitted_tails(self) -> None:
        for path in (self._config.folder / "runs").iterdir():
            if path.suffix not in (".jsonl", ".csv"):
                continue
            sizes = self._committed.get(path.stem, _RunSizes(0, 0))
            committed = sizes.jsonl if path.suffix == ".jsonl" else sizes.csv
            if path.stat().st_size > committed:
                os.truncate(path, committed)

    def _write_xml(self, document: ErpDocument, stem: str) -> None:
        if document.kind is DocumentKind.ORDER:
            return
        folder = self._config.folder
        self._replace(folder / "ubl" / f"{stem}.xml", ubl_bytes(document))
        self._replace(folder / "factur-x" / f"{stem}.xml", cii_bytes(document))

    def _replace(self, path: Path, data: bytes) -> None:
        temporary = path.with_suffix(".xml.tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            self._sync(handle)
        os.replace(temporary, path)

    def _append_run_lines(self, document: ErpDocument) -> None:
        with self._jsonl_path.open("ab") as jsonl:
            jsonl.write(document.to_json() + b"\n")
            self._sync(jsonl)
        with self._csv_path.open("ab") as table:
            table.write(_csv_rows(document, with_header=table.tell() == 0))
            self._sync(table)

    def _commit(self, key: str, stem: str) -> None:
        sizes = _RunSizes(self._jsonl_path.stat().st_size, self._csv_path.stat().st_size)
        entry = {
            "key": key,
            "reference": stem,
            "run": self._run_id,
            "jsonl_size": sizes.jsonl,
            "csv_size": sizes.csv,
        }
        with self._index_path.open("ab") as index:
            index.write(orjson.dumps(entry) + b"\n")
            self._sync(index)
        self._committed[self._run_id] = sizes

    def _sync(self, handle: IO[bytes]) -> None:
        handle.flush()
        if self._config.fsync:
            os.fsync(handle.fileno())


def _csv_rows(document: ErpDocument, *, with_header: bool) -> bytes:
    """One row per line, RFC 4180 (comma, CRLF, UTF-8), money with a dot and two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if with_header:
        writer.writerow(CSV_HEADER)
    refs = document.references
    corrected = " ".join(c.number for c in refs.corrected_invoices)
    totals = document.totals
    for line in document.lines:
        writer.writerow(
            (
                document.kind.value,
                document.reference,
                document.invoice_number or "",
                document.idempotency_key,
                document.issue_date.isoformat(),
                document.currency,
                document.buyer.code,
                document.buyer.name,
                document.buyer.vat_number or "",
                " ".join(refs.order_numbers),
                " ".join(refs.delivery_note_numbers),
                corrected,
                line.line_no,
                line.product_code,
                line.gtin or "",
                line.description,
                format(line.quantity.normalize(), "f"),
                line.unit_code,
                price_str(line.unit_price),
                "true" if line.price_includes_vat else "false",
                rate_str(line.discount_percent),
                rate_str(line.vat_rate),
                money_str(line.net_amount),
                money_str(totals.net),
                money_str(totals.vat),
                money_str(totals.gross),
            )
        )
    return out.getvalue().encode("utf-8")
