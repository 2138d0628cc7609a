"""`carnet export`, `carnet backup` and `carnet restore`, on both engines."""

import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from app.backup import SECRET_COLUMNS, BackupError, backup, export_json, restore, tables_with_rows
from app.cli import main
from app.db import get_engine, session_scope, writer_turn, writing_engine
from app.delivery.models import DeliveryNote
from app.edi.partners import create_partner
from app.fulfilment.service import ship_order
from app.health import current_revision, head_revision
from app.invoicing.models import DeferredDocument
from app.migrate import alembic_config
from app.models import Base
from app.numbering import DocumentCounter
from app.orders.models import SaleOrder
from app.tracking.service import issue_link
from tests.builders import make_customer, make_product, make_user
from tests.delivery.fulfilment import WAREHOUSE, order_of


def test_export_holds_every_table_and_exact_amounts(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        make_customer(session, code="EXP1", discount_percent="12.5")
        make_product(session, code="EXPP", price="19.9900")
    buffer = io.BytesIO()
    counts = export_json(fresh_engine, buffer)
    exported = orjson.loads(buffer.getvalue())
    assert exported["format"] == "carnet-export-2"
    assert counts["customer"] == 1 and counts["product"] == 1
    assert set(exported["tables"]) == {table.name for table in Base.metadata.sorted_tables}
    customer = exported["tables"]["customer"][0]
    assert (customer["code"], customer["discount_percent"]) == ("EXP1", "12.50")
    assert exported["tables"]["product"][0]["unit_price"] == "19.9900"


def test_export_leaves_out_passwords_api_keys_and_status_links(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        user = make_user(session, username="mireille", role="finance")
        customer = make_customer(session, code="USB1")
        product = make_product(session)
        _, api_key = create_partner(session, name="Centrale", customer_codes=["USB1"])
        number = order_of(session, customer, (product, 1))
        status_token = issue_link(session, order_number=number, issued_by="rep")
        password_hash = user.password_hash
    buffer = io.BytesIO()
    export_json(fresh_engine, buffer)
    exported = orjson.loads(buffer.getvalue())

    for secret in (password_hash, api_key, api_key[:12], status_token):
        assert secret.encode() not in buffer.getvalue()
    assert exported["omitted"] == sorted(f"{t}.{c}" for t, c in SECRET_COLUMNS)
    # The records themselves travel: who the users and partners are, which order a link was for.
    assert [(u["username"], u["role"]) for u in exported["tables"]["app_user"]] == [("mireille", "finance")]
    assert "password_hash" not in exported["tables"]["app_user"][0]
    assert [p["name"] for p in exported["tables"]["partner"]] == ["Centrale"]
    assert "token" not in exported["tables"]["order_status_link"][0]


def test_every_column_that_looks_like_a_credential_is_left_out_of_exports() -> None:
    """A new column holding a password, key, token or secret must be added to SECRET_COLUMNS (or, if it
    is none, this rule narrowed with a reason)."""
    looks_secret = re.compile(r"password|secret|token|api_key|salt|otp|credential")
    credential_like = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if looks_secret.search(column.name)
    }
    assert credential_like <= SECRET_COLUMNS, credential_like - SECRET_COLUMNS


def test_backup_of_sqlite_is_one_self_contained_file(fresh_engine: Engine, tmp_path: Path) -> None:
    with session_scope(fresh_engine) as session:
        make_customer(session, code="BCK1")
    target = tmp_path / "copy.bin"
    backup(fresh_engine, target)
    if fresh_engine.dialect.name == "sqlite":
        assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.bin"]  # no -wal, no -shm
        copy = sqlite3.connect(target)
        assert copy.execute("SELECT code FROM customer").fetchall() == [("BCK1",)]
        copy.close()
    else:
        assert target.read_bytes().startswith(b"PGDMP")


def what_a_restore_must_bring_back(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        return {
            "orders": sorted(session.execute(select(SaleOrder.number, SaleOrder.status, SaleOrder.channel))),
            "notes": sorted(session.execute(select(DeliveryNote.number, DeliveryNote.status))),
            "documents": sorted(session.execute(select(DeferredDocument.reference, DeferredDocument.kind))),
            "counters": sorted(session.execute(select(DocumentCounter.name, DocumentCounter.next_value))),
        }


def some_business(engine: Engine, orders: int = 3) -> None:
    """Orders captured, some shipped: notes, deferred invoices and their series' counters."""
    with session_scope(engine) as session:
        customer = make_customer(session)
        product = make_product(session, stock="100")
        numbers = [order_of(session, customer, (product, 2)) for _ in range(orders)]
        for number in numbers[:2]:
            ship_order(session, number=number, lines=None, actor=WAREHOUSE)


def wipe(engine: Engine) -> None:
    """Lose the database: its file deleted, or its schema dropped with everything in it."""
    engine.dispose()
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database or "")
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        return
    with writing_engine(engine).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


class TestRestore:
    def test_a_lost_database_comes_back_with_its_orders_notes_and_number_series(
        self, fresh_engine: Engine, tmp_path: Path
    ) -> None:
        some_business(fresh_engine)
        before = what_a_restore_must_bring_back(fresh_engine)
        assert len(before["orders"]) == 3 and len(before["notes"]) == 2 and before["counters"]
        backup(fresh_engine, tmp_path / "carnet.backup")
        wipe(fresh_engine)
        assert tables_with_rows(fresh_engine) == []

        restored = restore(fresh_engine, tmp_path / "carnet.backup")

        assert restored.revision == head_revision() == current_revision(fresh_engine)
        assert what_a_restore_must_bring_back(fresh_engine) == before
        # The series go on from where they were: the next order takes the next number.
        some_business(fresh_engine, orders=1)
        after = what_a_restore_must_bring_back(fresh_engine)
        new_order = (set(after["orders"]) - set(before["orders"])).pop()
        assert int(new_order[0][-6:]) == int(before["orders"][-1][0][-6:]) + 1

    def test_a_database_holding_data_is_replaced_only_when_forced(
        self, fresh_engine: Engine, tmp_path: Path
    ) -> None:
        some_business(fresh_engine, orders=1)
        backed_up = what_a_restore_must_bring_back(fresh_engine)
        backup(fresh_engine, tmp_path / "carnet.backup")
        some_business(fresh_engine, orders=2)  # work done after the backup
        later = what_a_restore_must_bring_back(fresh_engine)

        with pytest.raises(BackupError, match=r"holds data.*--force"):
            restore(fresh_engine, tmp_path / "carnet.backup")
        assert what_a_restore_must_bring_back(fresh_engine) == later

        restore(fresh_engine, tmp_path / "carnet.backup", force=True)
        assert what_a_restore_must_bring_back(fresh_engine) == backed_up

    def test_a_backup_from_an_older_version_is_restored_then_migrated(
        self, fresh_engine: Engine, tmp_path: Path
    ) -> None:
        config = alembic_config(fresh_engine)
        with writer_turn(fresh_engine), writing_engine(fresh_engine).begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
        older = current_revision(fresh_engine)
        assert older != head_revision()
        backup(fresh_engine, tmp_path / "older.backup")
        assert tables_with_rows(fresh_engine) == []  # migrated, nothing captured: no --force needed

        restored = restore(fresh_engine, tmp_path / "older.backup")

        assert (restored.backup_revision, restored.revision) == (older, head_revision())
        assert current_revision(fresh_engine) == head_revision()

    def test_a_backup_from_a_newer_version_is_refused(self, fresh_engine: Engine, tmp_path: Path) -> None:
        some_business(fresh_engine, orders=1)
        with session_scope(fresh_engine) as session:
            session.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        backup(fresh_engine, tmp_path / "newer.backup")
        wipe(fresh_engine)

        with pytest.raises(BackupError, match=r"9999_from_the_future.*does not know"):
            restore(fresh_engine, tmp_path / "newer.backup")
        assert tables_with_rows(fresh_engine) == []

    def test_a_backup_of_the_other_engine_is_refused(self, fresh_engine: Engine, tmp_path: Path) -> None:
        other = tmp_path / "other.backup"
        sqlite = fresh_engine.dialect.name == "sqlite"
        other.write_bytes(b"PGDMP\x01\x0e" if sqlite else b"SQLite format 3\x00")
        with pytest.raises(BackupError, match="cannot go into " + ("SQLite" if sqlite else "PostgreSQL")):
            restore(fresh_engine, other)

    def test_without_the_postgresql_tools_it_says_what_to_install(
        self, fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        if fresh_engine.dialect.name == "sqlite":
            pytest.skip("SQLite needs no outside tool")
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(BackupError, match=r"pg_dump is needed.*postgresql-client"):
            backup(fresh_engine, tmp_path / "carnet.backup")


def test_carnet_backup_and_restore_at_the_command_line(
    cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    some_business(cli_engine, orders=1)
    before = what_a_restore_must_bring_back(cli_engine)
    file = str(tmp_path / "carnet.backup")
    assert main(["backup", file]) == 0

    assert main(["restore", file]) == 2
    assert "holds data" in capsys.readouterr().err
    get_engine().dispose()
    assert main(["restore", file, "--force"]) == 0
    assert f"restored from {file}" in capsys.readouterr().out
    assert what_a_restore_must_bring_back(cli_engine) == before


def test_carnet_export_at_the_command_line_says_what_it_left_out(
    cli_engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_scope(cli_engine) as session:
        make_user(session)
    assert main(["export", str(tmp_path / "usb.json")]) == 0
    assert "without passwords" in capsys.readouterr().out
    exported = orjson.loads((tmp_path / "usb.json").read_bytes())
    assert exported["tables"]["app_user"] and "password_hash" not in exported["tables"]["app_user"][0]
