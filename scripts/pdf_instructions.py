"""Instructions executed to render one warm PDF, counted by valgrind's callgrind: a one-page delivery note
(the 20-line note of bench_pdf.py) and an invoice with its Factur-X XML.

Unlike wall or CPU time, the count does not depend on what else the machine runs, so two versions of the
code can be compared on a shared machine (it still ignores cache misses and the cost of each
instruction). Each document is rendered twice to warm caches up, then once with instrumentation on.
Needs valgrind (`apt-get install valgrind`); takes about a minute per document. Run from the repository
root: `.venv/bin/python scripts/pdf_instructions.py [note|invoice ...]`.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ("note", "invoice")


def render(document: str, ready: Path, go: Path) -> None:
    """Runs under valgrind: warm up, tell the parent, wait for instrumentation, render once."""
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]
    from bench_pdf import make_view  # type: ignore[import-not-found]

    from app.delivery.pdf import render_delivery_note
    from app.invoice_pdf.rendering import invoice_view, render_invoice_pdf
    from app.replay.formats.samples import sample_invoice

    if document == "note":
        view = make_view(1)

        def work() -> bytes:
            return render_delivery_note(view)
    else:
        invoice = invoice_view(
            sample_invoice(
                1, order_numbers=("CMD-1",), delivery_note_numbers=("BL-1",), invoice_number="FAD-1"
            )
        )

        def work() -> bytes:
            return render_invoice_pdf(invoice)

    work()
    work()
    ready.touch()
    while not go.exists():
        time.sleep(0.05)  # waiting for the parent to switch instrumentation on
    work()


def count(document: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        ready, go, out = Path(folder, "ready"), Path(folder, "go"), Path(folder, "callgrind.out")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            document,
            str(ready),
            str(go),
        ]
        child = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        while not ready.exists():
            if child.poll() is not None:
                raise SystemExit(f"the render failed: {child.stderr.read() if child.stderr else ''}")
            time.sleep(0.5)  # the warm-up renders run some 50 times slower under valgrind
        subprocess.run(["callgrind_control", "--instr=on", str(child.pid)], check=True, capture_output=True)
        go.touch()
        _, errors = child.communicate()
        found = re.search(r"Collected : (\d+)", errors)
        if child.returncode != 0 or found is None:
            raise SystemExit(f"valgrind failed: {errors[-2000:]}")
        return int(found.group(1))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        render(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    for document in sys.argv[1:] or DOCUMENTS:
        if document not in DOCUMENTS:
            raise SystemExit(f"unknown document {document!r}: one of {', '.join(DOCUMENTS)}")
        print(f"pdf_{document}_instructions {count(document) / 1e6:.0f} M")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same hash order, hence the same work, every run
    main()
