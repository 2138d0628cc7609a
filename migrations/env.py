"""Alembic environment: the schema's only source. Runs on the connection handed in by the caller
(tests, `carnet db upgrade`) or on CARNET_DATABASE_URL."""

from typing import Any

from alembic import context
from alembic.autogenerate.api import AutogenContext

from app.config import get_settings
from app.db import ExactDecimal, UtcDateTime, make_engine
from app.migrate import include_object
from app.models import Base

config = context.config
target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    if type_ == "type" and isinstance(obj, ExactDecimal):
        autogen_context.imports.add("from app.db import ExactDecimal")
        return f"ExactDecimal({obj.precision}, {obj.scale})"
    if type_ == "type" and isinstance(obj, UtcDateTime):
        autogen_context.imports.add("from app.db import UtcDateTime")
        return "UtcDateTime()"
    return False


def run_on(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    engine = make_engine(get_settings().database_url)
    with engine.connect() as conn:
        run_on(conn)
    engine.dispose()
