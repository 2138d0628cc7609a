"""`carnet replay` from the command line, into the reference ERP over HTTP: dry runs, kinds, one run
at a time, failed items sent again, joining refused on SQLite; the summary and the exit status."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from app import cli
from app.config import get_settings
from app.db import get_engine, session_scope
from app.replay.models import ItemStatus, ReplayItem, ReplayRun
from app.replay.reference_erp import ReferenceErp, running_reference_erp
from app.replay.runs import start_run
from tests.replay.replay_data import FINANCE
from tests.replay.test_engine import committed, outbox, settings

SECRET = "cli-erp-secret"


@pytest.fixture
def erp(fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReferenceErp]:
    with running_reference_erp(state=tmp_path / "erp.db", secret=SECRET) as server:
        monkeypatch.setenv("CARNET_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
        monkeypatch.setenv("CARNET_ERP_URL", server.url)
        monkeypatch.setenv("CARNET_ERP_SECRET", SECRET)
        get_settings.cache_clear()
        get_engine.cache_clear()
        yield server
        get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_replay_from_the_command_line(
    fresh_engine: Engine, erp: ReferenceErp, capsys: pytest.CaptureFixture[str]
) -> None:
    data = committed(fresh_engine, orders=3, credit_every=2)

    assert cli.main(["replay", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert " completed " in out and "would send 3 order" in out and erp.store.documents() == []

    assert cli.main(["replay", "--kind", "order"]) == 0
    assert [d["kind"] for d in erp.store.documents()] == ["order"] * 3
    assert "order        3/3 acknowledged" in capsys.readouterr().out

    with session_scope(fresh_engine) as session:
        running = start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)
    assert cli.main(["replay"]) == 2
    assert f"replay run {running.id} is running" in capsys.readouterr().err
    if fresh_engine.dialect.name == "postgresql":
        # Another process lends its workers to the running run: the rest goes.
        assert cli.main(["replay", "--join", str(running.id)]) == 0
        assert f"joined replay run {running.id}: 5 sent, 5 acknowledged" in capsys.readouterr().out
    else:
        assert cli.main(["replay", "--join", str(running.id)]) == 2
        assert "only PostgreSQL" in capsys.readouterr().err
    with session_scope(fresh_engine) as session:
        session.execute(update(ReplayItem).values(status=ItemStatus.FAILED, last_error="refused (422)"))
        session.execute(update(ReplayRun).where(ReplayRun.id == running.id).values(status="abandoned"))

    assert cli.main(["replay", "--retry-failed"]) == 0
    captured = capsys.readouterr()
    # Every item marked failed goes again; the orders the ERP already holds are recognised.
    assert f"{data.documents} failed or dead item(s) to send again" in captured.err
    already = data.documents if fresh_engine.dialect.name == "postgresql" else 3
    assert f"({already} already received)" in captured.out
    assert {i.status for i in outbox(fresh_engine)} == {ItemStatus.ACKNOWLEDGED}
    assert len(erp.store.documents()) == data.documents
