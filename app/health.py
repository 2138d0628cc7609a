"""Liveness, readiness and a few Prometheus counters."""

from typing import Annotated

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Depends, Response
from sqlalchemy import Engine, text

from app.db import get_engine
from app.paths import ALEMBIC_INI, MIGRATIONS_DIR
from app.problems import problem_response

router = APIRouter(tags=["health"])


def head_revision() -> str | None:
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(engine: Annotated[Engine, Depends(get_engine)]) -> Response:
    try:
        current = current_revision(engine)
    except Exception as exc:  # any database failure means: not ready
        return problem_response(503, "not-ready", "Not ready", f"database unreachable: {type(exc).__name__}")
    head = head_revision()
    if current != head:
        return problem_response(
            503, "not-ready", "Not ready", f"database at migration {current}, code at {head}"
        )
    return Response(
        b'{"status":"ready","migration":"%s"}' % (current or "").encode(), media_type="application/json"
    )
