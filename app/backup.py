"""`carnet export` (every table as JSON) and `carnet backup` (a consistent copy of the database)."""

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.engine import make_url

from app.models import Base


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot export {type(value).__name__}")


def export_json(engine: Engine, target: BinaryIO) -> dict[str, int]:
    """Write `{"format": ..., "tables": {name: [rows]}}`, streaming table by table in a single snapshot
    transaction; returns the number of rows per table."""
    counts: dict[str, int] = {}
    target.write(b'{"format":"carnet-export-1","tables":{')
    with engine.connect() as connection, connection.begin():
        for index, table in enumerate(Base.metadata.sorted_tables):
            target.write(b"," if index else b"")
            target.write(orjson.dumps(table.name) + b":[")
            count = 0
            rows: Iterator[Any] = (
                connection.execution_options(yield_per=1000)
                .execute(select(table).order_by(*table.primary_key.columns))
                .mappings()
            )
            for count, row in enumerate(rows, start=1):
                target.write(
                    (b"," if count > 1 else b"")
                    + orjson.dumps(
                        dict(row), default=_default, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
                    )
                )
            target.write(b"]")
            counts[table.name] = count
    target.write(b"}}")
    return counts


def backup(engine: Engine, target: Path) -> None:
    """SQLite: the online backup API (consistent while the service runs). PostgreSQL: pg_dump."""
    url = make_url(engine.url)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(url.database or "")
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
        finally:
            destination.close()
            source.close()
        return
    if shutil.which("pg_dump") is None:
        raise RuntimeError("pg_dump is needed to back up a PostgreSQL database")
    libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", f"--file={target}", libpq_url], check=True)
