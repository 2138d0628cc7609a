"""Before the first real run, finance sees the scope (the incident's window, what it sweeps in, what
falls outside) and may include or exclude documents; nothing captured is outside every possible run."""

from sqlalchemy import Engine

from app.clock import utcnow
from app.db import session_scope
from app.incidents import service as incidents
from app.replay import service
from app.replay.reports import reconciliation
from app.replay.runs import execute_run, start_run
from app.replay.schemas import ScopeChange
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import ADMIN, FINANCE, capture, catalogue
from tests.replay.test_engine import settings


def run(engine: Engine, erp: ErpDouble, incident_id: int, *, dry_run: bool = False) -> dict[str, object]:
    with session_scope(engine) as session:
        started = start_run(
            session, actor=FINANCE, settings=settings(), incident_id=incident_id, dry_run=dry_run
        )
    execute_run(started.id, engine=engine, settings=settings(), connector_factory=erp.connector)
    with session_scope(engine, write=False) as session:
        read = service.get_run(session, run_id=started.id, actor=FINANCE)
    assert read.summary is not None
    return read.summary


def test_the_dry_run_shows_the_scope_and_finance_includes_and_excludes_before_the_real_run(
    fresh_engine: Engine,
) -> None:
    with session_scope(fresh_engine) as session:
        data = catalogue(session)
        before = capture(session, data, orders=1, ship=False).orders[-1]
        incident = incidents.declare_incident(session, reason="ERP down", started_at=utcnow(), actor=ADMIN)
        during = capture(session, data, orders=2, ship=False).orders[-2:]
        incidents.end_incident(session, incident_id=incident.id, ended_at=utcnow(), actor=ADMIN)
        after = capture(session, data, orders=1, ship=False).orders[-1]
    erp = ErpDouble()

    plan = run(fresh_engine, erp, incident.id, dry_run=True)

    assert erp.arrivals == []
    window = plan["window"]
    assert isinstance(window, dict) and window["incident_id"] == incident.id and window["ended_at"]
    scope = plan["scope"]
    assert isinstance(scope, dict)
    assert scope["in_window"]["references"] == during
    assert scope["before_window"]["references"] == [before]  # earlier, never replayed: swept in
    assert scope["after_window"]["references"] == [after]  # outside: shown, with its amount
    assert scope["after_window"]["figures"]["order"]["count"] == 1
    assert plan["would_send_count"] == 3

    with session_scope(fresh_engine) as session:
        changed = service.change_scope(
            session,
            change=ScopeChange(include=[after], exclude=[during[0]], reset=["CMD-NONE"]),
            actor=FINANCE,
        )
    assert (changed.included, changed.excluded, changed.not_changed) == ([after], [during[0]], ["CMD-NONE"])

    run(fresh_engine, erp, incident.id)
    sent = {held.reference for held in erp.stored()}
    assert sent == {before, during[1], after}
    with session_scope(fresh_engine, write=False) as session:
        report = reconciliation(session, incident=None, settings=settings(), now=utcnow())
    # The excluded order is not dropped: it waits, listed with the reason, and nothing balances yet.
    assert [(d.reference, d.reason_code) for d in report.outstanding] == [(during[0], "excluded_by_finance")]
    assert not report.balanced

    with session_scope(fresh_engine) as session:
        service.change_scope(session, change=ScopeChange(reset=[during[0]]), actor=FINANCE)
    run(fresh_engine, erp, incident.id)
    with session_scope(fresh_engine, write=False) as session:
        report = reconciliation(session, incident=None, settings=settings(), now=utcnow())
    assert report.balanced and len(erp.stored()) == 4
