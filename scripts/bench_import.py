"""Benchmark of the master-data import: 100,000 products from CSV into a fresh SQLite file database.

Prints `name value unit` lines (see ./scripts/bench): the first import (all new rows), then the same
file again (all updates).
"""

import random
import sys
import tempfile
import time
from pathlib import Path

from stdnum import ean

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.catalog.importing import import_file  # noqa: E402
from app.db import make_engine, session_scope  # noqa: E402
from app.migrate import upgrade  # noqa: E402

ROWS = 100_000


def write_products_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A products export as a French ERP writes it: `;`, decimal comma, Windows-1252."""
    rng = random.Random(seed)
    lines = ["Code;Libellé;EAN;Prix;TTC;TVA;Stock"]
    for n in range(rows):
        body = f"3{n:011d}"
        if n % 3 == 0:
            lines.append(
                f"LIV-{n:06d};Livre n° {n};{body}{ean.calc_check_digit(body)};"
                f"{rng.randint(500, 4500) / 100:.2f}".replace(".", ",")
                + f";oui;5,5;{rng.randint(0, 400)}"
            )
        else:
            lines.append(
                f"ELE-{n:06d};Câble réseau {n} m;{body}{ean.calc_check_digit(body)};"
                f"{rng.randint(100, 90000) / 100:.2f}".replace(".", ",")
                + f";non;20;{rng.randint(0, 400)}"
            )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        csv_path = Path(workdir) / "products.csv"
        write_products_csv(csv_path, ROWS)
        engine = make_engine(f"sqlite:///{Path(workdir) / 'bench.db'}")
        upgrade(engine)
        for name in ("import_products_100k", "reimport_products_100k"):
            started = time.perf_counter()
            with session_scope(engine) as session:
                result = import_file(session, kind="products", path=csv_path)
            elapsed = time.perf_counter() - started
            assert result.rows_accepted == ROWS and result.rows_rejected == 0, result.report
            print(f"{name} {elapsed:.2f} seconds")
            print(f"{name}_rate {ROWS / elapsed:.0f} rows/s")
        engine.dispose()


if __name__ == "__main__":
    main()
