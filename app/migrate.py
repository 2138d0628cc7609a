"""Run Alembic migrations from code (CLI, tests, service start)."""

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from app.db import writer_turn, writing_engine
from app.paths import ALEMBIC_INI, MIGRATIONS_DIR

# The desk's title search index lives beside the tables: SQLite's FTS5 table (and its shadow tables)
# and PostgreSQL's trigram index (migration 0010). No model describes them.
SEARCH_INDEX = ("product_search", "ix_product_name_trigram")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """What comparing the models with the database looks at: all but the search index."""
    return not (name and name.startswith(SEARCH_INDEX))


def alembic_config(engine: Engine) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with writer_turn(engine), writing_engine(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
