"""Incidents: admins declare and end ERP outages; the system mode follows (degraded, recovering until
the replay completed, normal); finance is warned of past months' delivery notes not yet invoiced."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from app import cli
from app.clock import utcnow
from app.config import get_settings
from app.db import get_engine, session_scope
from app.delivery.models import DeliveryNote
from app.incidents import service as incidents
from app.incidents.service import Mode, current_mode
from app.invoicing.models import DeferredDocument
from app.orders.models import SaleOrder
from tests.builders import auth_headers
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import ADMIN, capture, catalogue
from tests.replay.test_engine import settings


def declare(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    answer = client.post("/api/v1/incidents", json={"reason": "ERP down", **body}, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


class TestDeclaringAndEnding:
    def test_an_admin_declares_an_outage_that_started_hours_ago(
        self, client: TestClient, session: Session
    ) -> None:
        admin = auth_headers(session, role="admin")
        assert client.get("/api/v1/system").json()["mode"] == "normal"
        started = (utcnow() - timedelta(hours=5)).isoformat()
        incident = declare(client, admin, started_at=started)
        assert incident["state"] == "open" and incident["started_at"][:16] == started[:16]

        system = client.get("/api/v1/system", headers=admin).json()
        assert system["mode"] == "degraded"
        assert system["incident"]["id"] == incident["id"]
        assert system["banner"].startswith("ERP indisponible")
        assert {"snapshot_as_of", "snapshot_age_seconds", "warnings"} <= set(system)

        ended = client.post(f"/api/v1/incidents/{incident['id']}/end", headers=admin)
        assert ended.status_code == 200 and ended.json()["state"] == "ended"
        system = client.get("/api/v1/system").json()
        assert (system["mode"], system["incident"]["id"]) == ("recovering", incident["id"])
        listed = client.get("/api/v1/incidents", headers=admin).json()["items"]
        assert [i["id"] for i in listed] == [incident["id"]]

    def test_only_admins_declare_and_end(self, client: TestClient, session: Session) -> None:
        for role in ("rep", "warehouse", "finance"):
            answer = client.post(
                "/api/v1/incidents", json={"reason": "x"}, headers=auth_headers(session, role=role)
            )
            assert answer.status_code == 403, role
        incident = declare(client, auth_headers(session, role="admin"))
        answer = client.post(
            f"/api/v1/incidents/{incident['id']}/end", headers=auth_headers(session, role="finance")
        )
        assert answer.status_code == 403

    def test_one_incident_at_a_time_and_windows_never_overlap(
        self, client: TestClient, session: Session
    ) -> None:
        admin = auth_headers(session, role="admin")
        first = declare(client, admin, started_at=(utcnow() - timedelta(hours=3)).isoformat())
        assert client.post("/api/v1/incidents", json={"reason": "again"}, headers=admin).status_code == 409
        client.post(f"/api/v1/incidents/{first['id']}/end", headers=admin)
        assert client.post(f"/api/v1/incidents/{first['id']}/end", headers=admin).status_code == 409
        overlapping = {"reason": "y", "started_at": (utcnow() - timedelta(hours=4)).isoformat()}
        answer = client.post("/api/v1/incidents", json=overlapping, headers=admin)
        assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "started_at"]
        future = {"reason": "z", "started_at": (utcnow() + timedelta(hours=1)).isoformat()}
        assert client.post("/api/v1/incidents", json=future, headers=admin).status_code == 422
        assert client.post("/api/v1/incidents/999/end", headers=admin).status_code == 404


class TestRecovery:
    def test_the_system_is_normal_again_once_the_incidents_replay_completed(
        self, fresh_engine: Engine
    ) -> None:
        with session_scope(fresh_engine) as session:
            incident = incidents.declare_incident(
                session, reason="ERP down", started_at=utcnow() - timedelta(minutes=1), actor=ADMIN
            )
            capture(session, catalogue(session), orders=2, credit_every=2)
        with session_scope(fresh_engine) as session:
            incidents.end_incident(session, incident_id=incident.id, ended_at=None, actor=ADMIN)
        with session_scope(fresh_engine, write=False) as session:
            assert current_mode(session)[0] == Mode.RECOVERING

        _, status = replay_incident(fresh_engine, incident.id)
        assert status == "completed"
        with session_scope(fresh_engine, write=False) as session:
            mode, about = current_mode(session)
        assert (mode, about) == (Mode.NORMAL, None)

    def test_an_order_waiting_for_review_keeps_the_system_recovering(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            incident = incidents.declare_incident(
                session, reason="ERP down", started_at=utcnow() - timedelta(minutes=1), actor=ADMIN
            )
            data = capture(session, catalogue(session), orders=2, credit_every=0)
            held = capture(session, data, orders=1, ship=False).orders[-1]
            session.execute(update(SaleOrder).where(SaleOrder.number == held).values(status="needs_review"))
        with session_scope(fresh_engine) as session:
            incidents.end_incident(session, incident_id=incident.id, ended_at=None, actor=ADMIN)
        replay_incident(fresh_engine, incident.id)
        with session_scope(fresh_engine, write=False) as session:
            assert current_mode(session)[0] == Mode.RECOVERING


def replay_incident(engine: Engine, incident_id: int) -> tuple[int, str]:
    from app.replay.runs import execute_run, start_run
    from tests.replay.replay_data import FINANCE

    with session_scope(engine) as session:
        run = start_run(session, actor=FINANCE, settings=settings(), incident_id=incident_id)
    erp = ErpDouble()
    return run.id, execute_run(run.id, engine=engine, settings=settings(), connector_factory=erp.connector)


class TestUninvoicedMonths:
    def test_notes_of_a_past_month_not_yet_in_the_erp_raise_a_warning(
        self, client: TestClient, session: Session
    ) -> None:
        data = capture(session, catalogue(session), orders=2, credit_every=0)
        session.execute(
            update(DeliveryNote)
            .where(DeliveryNote.number.in_(data.notes))
            .values(issue_date=utcnow().date().replace(day=1) - timedelta(days=3))
        )
        finance = auth_headers(session, role="finance")
        system = client.get("/api/v1/system", headers=finance).json()
        assert [(w["code"], w["count"]) for w in system["warnings"]] == [
            ("uninvoiced_past_month", 2),
            ("uninvoiced_delivery", 2),
        ]
        assert system["banner"] == system["warnings"][0]["detail"]
        assert "carnet_uninvoiced_past_month_delivery_notes 2" in client.get("/api/v1/metrics").text

        session.execute(update(DeferredDocument).values(status="replayed"))
        assert client.get("/api/v1/system", headers=finance).json()["warnings"] == []
        metrics = client.get("/api/v1/metrics").text
        assert "carnet_uninvoiced_past_month_delivery_notes 0" in metrics
        assert 'carnet_mode{mode="normal"} 1' in metrics


@pytest.fixture
def cli_database(fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("CARNET_DATABASE_URL", fresh_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield fresh_engine
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


def test_incidents_from_the_command_line(cli_database: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    started = (utcnow() - timedelta(hours=2)).replace(microsecond=0).isoformat()
    assert cli.main(["incidents", "start", "--reason", "ERP down since 3am", "--started-at", started]) == 0
    declared = capsys.readouterr().out
    assert declared.startswith("incident ") and " declared, started " in declared
    incident_id = declared.split()[1]
    assert cli.main(["incidents", "start", "--reason", "again"]) == 2
    assert "still open" in capsys.readouterr().err
    assert cli.main(["incidents", "end", incident_id]) == 0
    assert cli.main(["incidents", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()[-1]
    assert "ended" in listed and "ERP down since 3am" in listed
