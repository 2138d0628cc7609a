"""Benchmark of the replay engine: documents/s from Carnet's database into the reference ERP.

A SQLite file database (WAL, synchronous FULL as in production) holds 1,300 shipped orders with their
deferred invoices and, for every third, a deferred credit note: 3,034 documents, written with Core
inserts before the clock starts. The reference ERP runs in its own process on loopback, without
faults, a fresh state file per measurement. The clock covers a whole run as `carnet replay` does it:
filling the outbox, claiming and freezing documents in batches, sending them through the HTTP
connector's pool, recording outcomes, finishing the run. Three measurements, the median is printed,
with where the engine's time went (the split, from the run's own timings; sending overlaps the other
steps, so `wait` is only the time spent waiting for answers). Prints `name value unit` lines.
"""

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.db import make_engine, session_scope, writing_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.replay import service  # noqa: E402
from app.replay.runs import execute_run, start_run  # noqa: E402
from tests.replay.bulk_data import bulk_capture  # noqa: E402
from tests.replay.replay_data import FINANCE  # noqa: E402

SECRET = "bench-secret"
ORDERS = 1_300
REPEATS = 3


@contextmanager
def reference_erp(state: Path) -> Iterator[str]:
    command = [sys.executable, "-m", "app.replay.reference_erp", "--port", "0", "--state", str(state)]
    with subprocess.Popen(
        [*command, "--secret", SECRET], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().split()[-1]
        finally:
            process.terminate()
            process.stdout.close()  # type: ignore[union-attr]


def measure(workdir: Path, index: int) -> tuple[int, float, dict[str, float]]:
    engine = make_engine(f"sqlite:///{workdir / f'carnet{index}.db'}", synchronous="FULL")
    upgrade(engine)
    with writing_engine(engine).begin() as connection:
        documents = bulk_capture(connection, orders=ORDERS).documents
    with reference_erp(workdir / f"erp{index}.db") as url:
        settings = Settings(erp_url=url, erp_secret=SECRET)
        with session_scope(engine) as session:
            run = start_run(session, actor=FINANCE, settings=settings, all_incidents=True)
        started = time.perf_counter()
        status = execute_run(run.id, engine=engine, settings=settings)
        elapsed = time.perf_counter() - started
    assert status == "completed", status
    with session_scope(engine, write=False) as session:
        read = service.get_run(session, run_id=run.id, actor=FINANCE)
    assert read.acknowledged == documents and read.already_received == 0, read
    engine.dispose()
    timings: dict[str, float] = dict(read.summary["timings"])  # type: ignore[index, arg-type]
    return documents, elapsed, timings


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        runs = [measure(Path(workdir), index) for index in range(REPEATS)]
    documents = runs[0][0]
    rates = [documents / elapsed for _, elapsed, _ in runs]
    median = statistics.median(rates)
    _, elapsed, timings = runs[rates.index(median)]
    print(f"replay_documents_per_s {median:.0f} documents/s")
    print(f"replay_documents {documents} documents")
    print(f"replay_run_seconds {elapsed:.2f} s")
    for name, seconds in timings.items():
        print(f"replay_split_{name.removesuffix('_seconds')} {seconds:.2f} s")


if __name__ == "__main__":
    main()
