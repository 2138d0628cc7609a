"""Reps, warehouse, returns, an EDI partner, readers and a stock import at once, on the real server.

The server once froze for good under exactly this load (a write waiting for the event loop while the
event loop waited for the write lock). These tests run the server as it is deployed, as a separate
process with one or two workers, and check what every client was told against the database.
"""

import os
import threading
from pathlib import Path

from sqlalchemy import Engine

from app.db import make_engine
from app.migrate import upgrade
from tests.workload import Killer, Server, Workload, check_database, database_url, seed, stock_file

SECONDS = float(os.environ.get("CARNET_MIXED_SECONDS", "12"))
KILLS = int(os.environ.get("CARNET_CRASH_KILLS", "3"))


def everybody_at_once(engine: Engine, workers: int, workdir: Path) -> None:
    cast = seed(engine)
    server = Server(database_url(engine), workers=workers, log=workdir / "server.log")
    server.start()
    try:
        workload = Workload(server, cast)
        journal = workload.run(SECONDS, import_file=stock_file(workdir, cast))
    finally:
        server.stop()
    assert journal.errors == []
    assert journal.server_errors() == [], journal.statuses()
    assert not [c for c in journal.calls if c.status is None], "requests left without an answer"
    assert workload.health_worst < 1.0, f"/healthz took {workload.health_worst:.2f} s"
    assert journal.imports and set(journal.imports) == {0}
    assert len(journal.orders) >= 30, journal.statuses()
    assert len(journal.notes) >= 10, journal.statuses()
    assert journal.returns, journal.statuses()
    assert journal.edi_orders, journal.statuses()
    assert check_database(engine, journal) == []


def test_one_worker_on_sqlite_serves_everybody_at_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
    upgrade(engine)
    try:
        everybody_at_once(engine, 1, tmp_path)
    finally:
        engine.dispose()


def test_two_workers_serve_everybody_at_once(fresh_engine: Engine, tmp_path: Path) -> None:
    everybody_at_once(fresh_engine, 2, tmp_path)


def test_a_server_killed_again_and_again_loses_and_doubles_nothing(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL under load, restart, and clients sending their unanswered requests again with the same
    keys: every order, note and return they were told of exists once, and no series has a gap."""
    cast = seed(fresh_engine)
    server = Server(database_url(fresh_engine), workers=2, log=tmp_path / "server.log")
    server.start()
    workload = Workload(server, cast, retry=True)
    every = 2.5
    killer = Killer(server, times=KILLS, every=every, stop=workload.stop)
    killing = threading.Thread(target=killer)
    try:
        killing.start()
        journal = workload.run(KILLS * 60)  # the killer stops the clients once it is done
        killing.join()
    finally:
        server.stop()
    assert killer.kills == KILLS
    assert journal.errors == []
    assert journal.server_errors() == [], journal.statuses()
    assert [c for c in journal.calls if c.status is None], "no request was cut by a kill"
    assert len(journal.orders) >= 30, journal.statuses()
    assert journal.notes, journal.statuses()
    assert check_database(fresh_engine, journal) == []
