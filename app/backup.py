"""`carnet export` (every table as JSON, without credentials), `carnet backup` (a consistent copy of the
database) and `carnet restore` (that copy put back).

SQLite is copied both ways with its online backup API, consistent while the service runs; PostgreSQL
with `pg_dump` in its custom format and `pg_restore`, in one transaction. A restore refuses to replace
a database that holds data unless forced, and refuses a backup made at a migration this code does not
know; a backup from an older migration is restored, then migrated to the code's.
"""

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect, literal, select
from sqlalchemy.engine import URL, make_url

from app.db import writer_turn
from app.migrate import alembic_config, upgrade
from app.models import Base

EXPORT_FORMAT: Final = "carnet-export-2"
# Credentials never leave the database in an export: it is the copy that travels on a USB stick to an
# isolated laptop. A new column that looks like one must be listed here (tests/test_backup.py).
SECRET_COLUMNS: Final = frozenset(
    {
        ("app_user", "password_hash"),
        ("partner", "api_key_hash"),
        ("partner", "api_key_prefix"),
        ("order_status_link", "token"),  # a customer's status link: whoever has it reads the order
    }
)
PG_DUMP_MAGIC: Final = b"PGDMP"


class BackupError(Exception):
    """What the person at the command line must know: nothing was changed."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot export {type(value).__name__}")


def export_json(engine: Engine, target: BinaryIO) -> dict[str, int]:
    """Write `{"format": ..., "omitted": [...], "tables": {name: [rows]}}`, streaming table by table in
    a single snapshot transaction, without the columns in `SECRET_COLUMNS`; returns the number of rows
    per table."""
    counts: dict[str, int] = {}
    omitted = sorted(f"{table}.{column}" for table, column in SECRET_COLUMNS)
    target.write(b'{"format":"%s","omitted":%s,"tables":{' % (EXPORT_FORMAT.encode(), orjson.dumps(omitted)))
    with engine.connect() as connection, connection.begin():
        for index, table in enumerate(Base.metadata.sorted_tables):
            target.write(b"," if index else b"")
            target.write(orjson.dumps(table.name) + b":[")
            count = 0
            columns = [c for c in table.columns if (table.name, c.name) not in SECRET_COLUMNS]
            rows: Iterator[Any] = (
                connection.execution_options(yield_per=1000)
                .execute(select(*columns).order_by(*table.primary_key.columns))
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
        _sqlite_copy(Path(url.database or ""), target, single_file=True)
        return
    _run_pg_tool("pg_dump", url, ["--format=custom", f"--file={target}"])


@dataclass(frozen=True)
class Restored:
    backup_revision: str
    revision: str  # the database's migration now: the code's


def restore(engine: Engine, source: Path, *, force: bool = False) -> Restored:
    """Put a backup made by `backup` back into the engine's database, then migrate it to the code's
    migration when the backup is older. Raises `BackupError` before changing anything when the file is
    not a backup for this engine, comes from a newer version of Carnet, or when the database holds
    data and `force` is not given."""
    url = make_url(engine.url)
    sqlite = url.get_backend_name() == "sqlite"
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    with source.open("rb") as file:
        is_pg_dump = file.read(len(PG_DUMP_MAGIC)) == PG_DUMP_MAGIC
    if sqlite == is_pg_dump:
        made_on, into = ("PostgreSQL", "SQLite") if is_pg_dump else ("SQLite", "PostgreSQL")
        raise BackupError(f"{source} is a backup of a {made_on} database: it cannot go into {into}")
    revision = _sqlite_revision(source) if sqlite else _pg_dump_revision(url, source)
    script = ScriptDirectory.from_config(alembic_config(engine))
    try:
        known = script.get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            f"{source} was made at migration {revision}, which this version of Carnet does not know: "
            "restore it with the version that made it, or a newer one"
        )
    holding = tables_with_rows(engine)
    if holding and not force:
        raise BackupError(
            f"the database holds data ({len(holding)} tables with rows, {', '.join(holding[:3])}...): "
            "a restore replaces all of it; give --force to do so"
        )
    engine.dispose()
    if sqlite:
        with writer_turn(engine):
            _sqlite_copy(source, Path(url.database or ""))
    else:
        _run_pg_tool(
            "pg_restore",
            url,
            [
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                str(source),
            ],
            database_option="--dbname=",
        )
    engine.dispose()
    head = script.get_current_head() or revision
    if revision != head:
        upgrade(engine)
        engine.dispose()
    return Restored(backup_revision=revision, revision=head)


# Rows a migration writes itself, in a database that holds nothing yet: the audit chain's head (its
# records are in `audit_record`, which counts).
_MIGRATION_ROWS: Final = frozenset({"audit_chain_head"})


def tables_with_rows(engine: Engine) -> list[str]:
    """Carnet's tables that hold at least one row: none in a new database or one just migrated."""
    present = set(inspect(engine).get_table_names()) - _MIGRATION_ROWS
    with engine.connect() as connection:
        return [
            table.name
            for table in Base.metadata.sorted_tables
            if table.name in present
            and connection.execute(select(literal(1)).select_from(table).limit(1)).first() is not None
        ]


def _sqlite_copy(source: Path, target: Path, *, single_file: bool = False) -> None:
    """Page by page; `single_file`: the copy in rollback-journal mode, one file with nothing beside it
    (a WAL database wants its `-wal` and `-shm` files next to it, even to be read)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    reading = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    writing = sqlite3.connect(target)
    try:
        reading.backup(writing)
        if single_file:
            writing.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"copying {source} to {target}: {exc}") from exc
    finally:
        writing.close()
        reading.close()


def _sqlite_revision(source: Path) -> str:
    try:
        copy = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            copy.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a backup of a Carnet SQLite database ({exc})") from exc
    if row is None:
        raise BackupError(f"{source} holds no migration revision: not a backup of a Carnet database")
    return str(row[0])


def _pg_dump_revision(url: URL, source: Path) -> str:
    """The revision in the dump's `alembic_version` table, read without restoring anything."""
    script = _run_pg_tool(
        "pg_restore",
        url,
        ["--data-only", "--table=alembic_version", "--file=-", str(source)],
        database_option=None,
    )
    lines = script.splitlines()
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else "\\."
        if line.startswith("COPY ") and "alembic_version" in line and following != "\\.":
            return following.strip()
    raise BackupError(f"{source} holds no migration revision: not a backup of a Carnet database")


def _run_pg_tool(tool: str, url: URL, arguments: list[str], database_option: str | None = "") -> str:
    """Run pg_dump or pg_restore on the database at `url`; the password goes in the environment, not on
    the command line (where `ps` shows it). Its standard output is returned."""
    if shutil.which(tool) is None:
        raise BackupError(
            f"{tool} is needed for a PostgreSQL database and is not on the PATH: install the PostgreSQL "
            "client tools of the server's major version (Debian: postgresql-client)"
        )
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    libpq_url = url._replace(drivername="postgresql", password=None).render_as_string(hide_password=False)
    database = [] if database_option is None else [f"{database_option}{libpq_url}"]
    done = subprocess.run(
        [tool, *arguments, *database], env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout
