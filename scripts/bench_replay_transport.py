"""Benchmark of the replay transport: documents/s sent by the HTTP connector to the reference ERP.

The reference ERP runs in its own process (as a real ERP would, and so that it does not share the
client's interpreter lock), on loopback, no faults, a fresh state file per measurement. Documents are
a whole replay (orders, then recap invoices, then credit notes), built before the clock starts and
sent kind by kind, as the engine does to respect dependencies. Then, when wrk is installed, the
reference ERP's own capacity: wrk (one thread, 8 kept-alive connections) posts pre-signed orders, all
new, so every request is verified, stored and committed. Prints `name value unit` lines.
"""

import re
import shutil
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
from app.replay.connectors.signing import signature  # noqa: E402
from app.replay.documents import ErpDocument  # noqa: E402
from app.replay.formats.samples import sample_order, sample_replay  # noqa: E402

SECRET = "bench-secret"
ORDERS = 2_000  # with their invoices and credit notes: 3,500 documents
THREADS = 8
WRK_ORDERS = 12_000  # signed orders wrk cycles through
WRK_SECONDS = 2


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


def wrk_script(path: Path) -> None:
    """A wrk Lua script cycling through signed requests (signatures stay valid for 5 minutes)."""
    timestamp = str(int(time.time()))
    lines = ["requests = {}"]
    for n in range(1, WRK_ORDERS + 1):
        order = sample_order(n, lines=3)
        body = order.to_json()
        signed = signature(SECRET, timestamp, body)
        headers = (
            f'["Content-Type"]="application/json", ["Idempotency-Key"]="{order.idempotency_key}", '
            f'["X-Carnet-Timestamp"]="{timestamp}", ["X-Carnet-Signature"]="{signed}"'
        )
        lines.append(f'requests[{n}] = wrk.format("POST", "/orders", {{{headers}}}, [==[{body.decode()}]==])')
    lines.append("counter = 0")
    lines.append(
        "request = function() counter = counter + 1; return requests[(counter - 1) % #requests + 1] end"
    )
    path.write_text("\n".join(lines))


def erp_capacity(workdir: Path) -> float:
    """Documents stored per second. Once wrk has gone through the signed orders it sends them again,
    and the ERP answers those 409 (already stored): they are not counted, so when every order got
    stored before the end the figure is a lower bound."""
    script = workdir / "replay.lua"
    wrk_script(script)
    with reference_erp(workdir, "capacity") as url:
        command = ["wrk", "-t1", "-c8", f"-d{WRK_SECONDS}s", "-s", str(script), url]
        report = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in ([\d.]+)s", report)
    assert total, report
    repeated = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    stored = int(total.group(1)) - (int(repeated.group(1)) if repeated else 0)
    return stored / float(total.group(2))


def main() -> None:
    documents = sample_replay(ORDERS)
    with tempfile.TemporaryDirectory() as workdir:
        for name, threads in (("sequential", 1), (f"threads{THREADS}", THREADS)):
            with reference_erp(Path(workdir), name) as url:
                elapsed = replay(url, documents, threads)
            print(f"replay_http_{name}_rate {len(documents) / elapsed:.0f} documents/s")
        if shutil.which("wrk"):
            print(f"reference_erp_capacity {erp_capacity(Path(workdir)):.0f} documents/s")


if __name__ == "__main__":
    main()
