"""Benchmark of the reconciliation report: the time to build it over 10,000 replayed documents, as JSON
(what the API answers) and as PDF (what the auditor prints).

A SQLite file database holds 4,286 shipped orders with their deferred invoices and, for every third, a
credit note (10,001 documents), replayed once into the reference ERP (its own process) before the
clock starts. The clock covers building the report from the database and serialising it: JSON as the
API sends it, and the PDF rendered by WeasyPrint. Three measurements each, the median is printed.
Prints `name value unit` lines.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_replay import SECRET, reference_erp  # noqa: E402

from app.clock import utcnow  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import make_engine, session_scope, writing_engine  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.replay.report_formats import report_pdf  # noqa: E402
from app.replay.reports import reconciliation  # noqa: E402
from app.replay.runs import execute_run, start_run  # noqa: E402
from tests.replay.bulk_data import bulk_capture  # noqa: E402
from tests.replay.replay_data import FINANCE  # noqa: E402

ORDERS = 4_286
REPEATS = 3


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(f"sqlite:///{Path(workdir) / 'carnet.db'}", synchronous="FULL")
        upgrade(engine)
        with writing_engine(engine).begin() as connection:
            documents = bulk_capture(connection, orders=ORDERS).documents
        with reference_erp(Path(workdir) / "erp.db") as url:
            settings = Settings(erp_url=url, erp_secret=SECRET)
            with session_scope(engine) as session:
                run = start_run(session, actor=FINANCE, settings=settings, all_incidents=True)
            assert execute_run(run.id, engine=engine, settings=settings) == "completed"
        json_seconds, pdf_seconds = [], []
        for _ in range(REPEATS):
            started = time.perf_counter()
            with session_scope(engine, write=False) as session:
                report = reconciliation(
                    session, incident=None, settings=settings, now=utcnow(), run_id=run.id
                )
            body = report.model_dump_json()
            built = time.perf_counter()
            pdf = report_pdf(report)
            json_seconds.append(built - started)
            pdf_seconds.append(time.perf_counter() - built)
        assert report.balanced and sum(k.captured.count for k in report.kinds) == documents
        engine.dispose()
    print(f"reconciliation_documents {documents} documents")
    print(f"reconciliation_json_seconds {statistics.median(json_seconds):.2f} s")
    print(f"reconciliation_pdf_seconds {statistics.median(pdf_seconds):.2f} s")
    print(f"reconciliation_json_bytes {len(body)} bytes")
    print(f"reconciliation_pdf_bytes {len(pdf)} bytes")


if __name__ == "__main__":
    main()
