"""Run Alembic migrations from code (CLI, tests, service start)."""

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from app.db import writer_turn, writing_engine
from app.paths import REPO_ROOT


def alembic_config(engine: Engine) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config(engine)
    with writer_turn(engine), writing_engine(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
