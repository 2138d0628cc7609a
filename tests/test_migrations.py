"""The migrations are the schema's only source: they must produce exactly what the models describe."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, select

from app.auth.models import Partner
from app.db import make_engine, writing_engine
from app.edi.models import EdiAcknowledgment, EdiInterchange
from app.migrate import alembic_config, include_object, upgrade
from app.models import Base
from tests.conftest import Database, _create_pg_database, _drop_pg_database


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_alembic_check_command_passes(engine: Engine) -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.check(config)


@pytest.fixture
def blank_engine(database: Database, tmp_path: Path) -> Iterator[Engine]:
    """A database with no table yet, on the engine of the run."""
    if database.kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield engine
        engine.dispose()
        return
    name = f"{database.tag}_blank"
    engine = make_engine(_create_pg_database(name))
    yield engine
    engine.dispose()
    _drop_pg_database(name)


def test_the_last_migration_applies_to_a_database_holding_a_days_work(blank_engine: Engine) -> None:
    """Upgrading the service must not lose or refuse what was captured: SQLite may not drop a table
    other rows refer to, which a batch copy of the table would do."""
    upgrade(blank_engine, "0016_lines_to_come")
    now = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    with writing_engine(blank_engine).begin() as connection:
        connection.execute(
            insert(Partner.__table__).values(
                id=1, name="Hub", api_key_hash="0" * 64, api_key_prefix="ck_hub", active=True, created_at=now
            )
        )
        connection.execute(
            insert(EdiInterchange.__table__).values(
                id=1,
                partner_id=1,
                received_at=now,
                received_by="partner:1",
                size=3,
                sha256="0" * 64,
                raw=b"UNA",
                status="rejected",
                test=False,
                order_numbers=[],
                errors=[],
                warnings=[],
                messages=[],
            )
        )
        connection.execute(
            insert(EdiAcknowledgment.__table__).values(
                interchange_id=1,
                kind="CONTRL",
                control_ref="1",
                content_type="application/EDIFACT",
                body=b"UNB",
                created_at=now,
                partner_id=1,
            )
        )
    upgrade(blank_engine)
    with blank_engine.connect() as connection:
        kept = connection.execute(
            select(EdiInterchange.__table__.c.status, EdiInterchange.resubmitted_as_id)
        ).all()
        acknowledgments = connection.execute(select(func.count()).select_from(EdiAcknowledgment.__table__))
        assert kept == [("rejected", None)] and acknowledgments.scalar_one() == 1
