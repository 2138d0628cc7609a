"""Acceptance: 2,000 documents replayed into a reference ERP (its own process) that fails about one
request in five in every way it can, while the Carnet replay process is killed (SIGKILL) once in the
middle and started again. At the end the ERP holds every document exactly once, each after what it
depends on, and the reconciliation shows no difference. On PostgreSQL the run has two workers."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from app.db import session_scope, writing_engine
from app.invoicing.models import DeferredDocument
from app.orders.models import SaleOrder
from app.replay.models import ReplayItem
from tests.replay.bulk_data import bulk_capture

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-test-secret"
ORDERS = 800  # with an invoice each and a credit note for every second one: 2,000 documents
KILL_AFTER = 400  # documents the ERP holds when the replay process is killed


@pytest.fixture
def reference_erp(tmp_path: Path) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "app.replay.reference_erp",
        "--port",
        "0",
        "--state",
        str(tmp_path / "erp.db"),
        "--secret",
        SECRET,
        "--fail-rate",
        "0.2",
        "--modes",
        "error,unavailable,timeout,drop,slow",
        "--hang-seconds",
        "1.0",
        "--slow-seconds",
        "0.05",
        "--seed",
        "20261126",
    ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as erp:
        try:
            assert erp.stdout is not None
            yield erp.stdout.readline().split()[-1]
        finally:
            erp.terminate()
            erp.stdout.close()  # type: ignore[union-attr]


def replay_command(*extra: str, workers: int) -> list[str]:
    return [sys.executable, "-m", "app", "replay", "--all", "--workers", str(workers), *extra]


def environment(engine: Engine, erp_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CARNET_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CARNET_ERP_URL": erp_url,
        "CARNET_ERP_SECRET": SECRET,
        # Short patience and short backoff, so that 2,000 documents through faults take seconds.
        "CARNET_ERP_READ_TIMEOUT_SECONDS": "0.3",
        "CARNET_REPLAY_BACKOFF_BASE_SECONDS": "0.05",
        "CARNET_REPLAY_BACKOFF_CAP_SECONDS": "0.5",
        "CARNET_REPLAY_MAX_ATTEMPTS": "40",
        "CARNET_REPLAY_BATCH_SIZE": "50",
        "CARNET_REPLAY_SEND_THREADS": "16",
        "CARNET_REPLAY_HEARTBEAT_SECONDS": "0.2",
        "CARNET_REPLAY_LOCK_TTL_SECONDS": "1",
        # Carnet numbers the invoices, so they go in batches: with ERP numbering each series goes one
        # document after the other and stalls on every one of this ERP's faults (tested in test_engine).
        "CARNET_INVOICE_NUMBERING": "carnet",
    }


def erp_documents(url: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = httpx.get(f"{url}/_documents", timeout=10).json()
    return documents


def wait_for(condition: Any, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # a bounded poll of an observable condition (the ERP's document count)


def test_a_replay_killed_midway_and_restarted_puts_every_document_once_in_order(
    fresh_engine: Engine, reference_erp: str, tmp_path: Path
) -> None:
    workers = 2 if fresh_engine.dialect.name == "postgresql" else 1
    with writing_engine(fresh_engine).begin() as connection:
        counts = bulk_capture(connection, orders=ORDERS, credit_every=2)
    assert counts.documents == 2_000
    env = environment(fresh_engine, reference_erp)
    started = time.monotonic()

    first = subprocess.Popen(
        replay_command(workers=workers), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_for(
            lambda: len(erp_documents(reference_erp)) >= KILL_AFTER, seconds=40, what="the first documents"
        )
    finally:
        first.send_signal(signal.SIGKILL)
        _, errors = first.communicate(timeout=10)
    assert first.returncode == -signal.SIGKILL, errors
    held_at_kill = len(erp_documents(reference_erp))
    assert held_at_kill < counts.documents

    report_path = tmp_path / "report.json"
    second = subprocess.run(
        replay_command("--wait", "30", "--report", str(report_path), workers=workers),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.monotonic() - started
    assert second.returncode == 0, second.stdout + second.stderr
    print(
        f"\n{fresh_engine.dialect.name}: {elapsed:.1f} s, killed at {held_at_kill} documents\n{second.stdout}"
    )

    documents = erp_documents(reference_erp)
    keys = [d["idempotency_key"] for d in documents]
    assert len(keys) == len(set(keys)) == counts.documents
    with session_scope(fresh_engine, write=False) as session:
        assert set(keys) == set(session.execute(select(ReplayItem.idempotency_key)).scalars())
        invoice = aliased(DeferredDocument)
        order_of_invoice = {
            reference: number
            for reference, number in session.execute(
                select(DeferredDocument.reference, SaleOrder.number)
                .join(SaleOrder, SaleOrder.id == DeferredDocument.order_id)
                .where(DeferredDocument.kind == "invoice")
            )
        }
        invoice_of_credit_note = {
            reference: corrected
            for reference, corrected in session.execute(
                select(DeferredDocument.reference, invoice.reference)
                .join(invoice, invoice.id == DeferredDocument.invoice_id)
                .where(DeferredDocument.kind == "credit_note")
            )
        }
    arrival = {d["reference"]: index for index, d in enumerate(documents)}
    for reference, order in order_of_invoice.items():
        assert arrival[order] < arrival[reference], (order, reference)
    for reference, invoice_reference in invoice_of_credit_note.items():
        assert arrival[invoice_reference] < arrival[reference], (invoice_reference, reference)
    # Repeats are only the ERP answering "already have it" to re-sends: never a second document.
    assert sum(d["received_count"] for d in documents) >= len(documents)

    report = json.loads(report_path.read_text())
    assert report["balanced"], report["outstanding"][:5]
    for figures in report["kinds"]:
        assert figures["difference"]["count"] == 0
        assert figures["difference"]["gross"] == "0.00"
    assert report["erp_check"]["with_erp_reference"] == counts.documents
