"""`carnet export` and `carnet backup`."""

import io
import sqlite3
from pathlib import Path

import orjson
from sqlalchemy import Engine

from app.backup import backup, export_json
from app.db import session_scope
from tests.builders import make_customer, make_product


def test_export_holds_every_table_and_exact_amounts(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        make_customer(session, code="EXP1", discount_percent="12.5")
        make_product(session, code="EXPP", price="19.9900")
    buffer = io.BytesIO()
    counts = export_json(fresh_engine, buffer)
    exported = orjson.loads(buffer.getvalue())
    assert exported["format"] == "carnet-export-1"
    assert counts["customer"] == 1 and counts["product"] == 1
    assert set(exported["tables"]) >= {"customer", "product", "sale_order", "app_user"}
    customer = exported["tables"]["customer"][0]
    assert (customer["code"], customer["discount_percent"]) == ("EXP1", "12.50")
    assert exported["tables"]["product"][0]["unit_price"] == "19.9900"


def test_backup_is_a_usable_copy(fresh_engine: Engine, tmp_path: Path) -> None:
    with session_scope(fresh_engine) as session:
        make_customer(session, code="BCK1")
    target = tmp_path / "copy.bin"
    backup(fresh_engine, target)
    assert target.stat().st_size > 0
    if fresh_engine.dialect.name == "sqlite":
        copy = sqlite3.connect(target)
        assert copy.execute("SELECT code FROM customer").fetchall() == [("BCK1",)]
        copy.close()
    else:
        assert target.read_bytes().startswith(b"PGDMP")
