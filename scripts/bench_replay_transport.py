"""Benchmark of the replay transport: documents/s sent by the HTTP connector to the reference ERP.

The reference ERP runs in its own process (as a real ERP would, and so that it does not share the
client's interpreter lock), on loopback, no faults, a fresh state file per measurement. Documents are
a whole replay (orders, then recap invoices, then credit notes), built before the clock starts and
sent kind by kind, as the engine does to respect dependencies. Prints `name value unit` lines.
"""

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.replay.connectors import Acknowledged  # noqa: E402
from app.replay.connectors.http import HttpConnector, HttpConnectorConfig  # noqa: E402
from app.replay.documents import ErpDocument  # noqa: E402
from app.replay.formats.samples import sample_replay  # noqa: E402

SECRET = "bench-secret"
ORDERS = 2_000  # with their invoices and credit notes: 3,500 documents
THREADS = 8


@contextmanager
def reference_erp(workdir: Path, name: str) -> Iterator[str]:
    command = [
        sys.executable,
        "-m",
        "app.replay.reference_erp",
        "--port",
        "0",
        "--state",
        str(workdir / f"{name}.db"),
        "--secret",
        SECRET,
    ]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().split()[-1]
        finally:
            process.terminate()


def replay(url: str, documents: list[ErpDocument], threads: int) -> float:
    """Seconds to send every document; each kind finishes before the next starts."""
    connector = HttpConnector(HttpConnectorConfig(base_url=url, secret=SECRET, max_connections=threads))
    started = time.perf_counter()
    if threads == 1:
        outcomes = [connector.send(document) for document in documents]
    else:
        outcomes = []
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for _, batch in groupby(documents, key=lambda d: d.kind):
                outcomes.extend(pool.map(connector.send, batch))
    elapsed = time.perf_counter() - started
    connector.close()
    refused = [o for o in outcomes if not isinstance(o, Acknowledged) or o.already_received]
    assert not refused, refused[:3]
    return elapsed


def main() -> None:
    documents = sample_replay(ORDERS)
    with tempfile.TemporaryDirectory() as workdir:
        for name, threads in (("sequential", 1), (f"threads{THREADS}", THREADS)):
            with reference_erp(Path(workdir), name) as url:
                elapsed = replay(url, documents, threads)
            print(f"replay_http_{name}_rate {len(documents) / elapsed:.0f} documents/s")
            print(f"replay_http_{name}_latency {elapsed / len(documents) * 1e6 * threads:.0f} us/document")


if __name__ == "__main__":
    main()
