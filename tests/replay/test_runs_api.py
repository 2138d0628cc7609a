"""Replay over the API: finance starts a run (202, executed in the background), follows it, retries
what failed and reads the reconciliation; one run at a time; nobody else may touch any of it."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update

from app.catalog.models import Customer
from app.config import get_settings
from app.db import session_scope
from app.edi.partners import create_partner
from app.invoicing.models import DeferredDocument
from app.replay.routes import get_launcher
from app.replay.runs import execute_run, start_run
from tests.builders import PASSWORD, auth_headers, make_user
from tests.replay.committed_app import committed_client
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import FINANCE, Captured, capture, catalogue
from tests.replay.test_engine import settings
from tests.web.test_desk_pages import csrf_of

Headers = dict[str, str]


@pytest.fixture(autouse=True)
def erp_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARNET_ERP_URL", "http://erp.invalid")
    monkeypatch.setenv("CARNET_ERP_SECRET", "secret")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def erp() -> ErpDouble:
    return ErpDouble()


@pytest.fixture
def api(fresh_engine: Engine, erp: ErpDouble) -> Iterator[TestClient]:
    """The application on a committed database; runs execute in the request's background task."""

    def run_now(run_id: int, engine: Engine) -> None:
        execute_run(run_id, engine=engine, settings=settings(), connector_factory=erp.connector)

    with committed_client(fresh_engine, {get_launcher: lambda: run_now}) as client:
        yield client


def headers(engine: Engine, role: str) -> Headers:
    with session_scope(engine) as session:
        return auth_headers(session, role=role)


def captured(engine: Engine, orders: int = 3) -> Captured:
    with session_scope(engine) as session:
        return capture(session, catalogue(session), orders=orders, credit_every=2)


class TestRuns:
    def test_finance_starts_a_run_and_follows_it_to_the_end(
        self, api: TestClient, fresh_engine: Engine, erp: ErpDouble
    ) -> None:
        data = captured(fresh_engine)
        finance = headers(fresh_engine, "finance")
        started = api.post("/api/v1/replay-runs", json={"dry_run": False}, headers=finance)
        assert started.status_code == 202, started.text
        assert started.json()["status"] == "running"

        run = api.get(f"/api/v1/replay-runs/{started.json()['id']}", headers=finance).json()
        assert run["status"] == "completed"
        assert run["progress_percent"] == 100.0
        assert (run["sent"], run["acknowledged"], run["failed"]) == (data.documents, data.documents, 0)
        assert {c["kind"]: (c["acknowledged"], c["total"]) for c in run["counts"]} == {
            "order": (3, 3),
            "invoice": (3, 3),
            "credit_note": (2, 2),
        }
        assert run["totals"]["acknowledged"] == 8 and run["errors"] == []
        assert run["summary"]["added_to_outbox"] == {"order": 3, "invoice": 3, "credit_note": 2}
        assert len(erp.arrivals) == 8
        listed = api.get("/api/v1/replay-runs", headers=finance).json()
        assert [r["id"] for r in listed["items"]] == [run["id"]]

    def test_a_dry_run_sends_nothing(self, api: TestClient, fresh_engine: Engine, erp: ErpDouble) -> None:
        captured(fresh_engine)
        finance = headers(fresh_engine, "finance")
        started = api.post("/api/v1/replay-runs", json={"dry_run": True, "kinds": ["order"]}, headers=finance)
        run = api.get(f"/api/v1/replay-runs/{started.json()['id']}", headers=finance).json()
        assert run["dry_run"] and run["status"] == "completed" and erp.sends == {}
        assert run["summary"]["would_send"]["order"]["count"] == 3
        assert list(run["summary"]["would_send"]) == ["order"]

    def test_a_dry_run_warns_of_each_french_customer_without_siren(
        self, api: TestClient, fresh_engine: Engine
    ) -> None:
        captured(fresh_engine)
        with session_scope(fresh_engine) as session:
            documents = session.execute(
                select(Customer.code, DeferredDocument.reference)
                .join(DeferredDocument, DeferredDocument.customer_id == Customer.id)
                .order_by(Customer.code, DeferredDocument.issued_at, DeferredDocument.id)
            ).all()
            with_siren = documents[0].code
            session.execute(update(Customer).where(Customer.code == with_siren).values(siren="552100554"))
            user = make_user(session, role="finance")
        expected: dict[str, list[str]] = {}
        for code, reference in documents:
            if code != with_siren:
                expected.setdefault(code, []).append(reference)
        assert expected and all(len(references) >= 1 for references in expected.values())
        finance = headers(fresh_engine, "finance")

        started = api.post("/api/v1/replay-runs", json={"dry_run": True}, headers=finance)

        run = api.get(f"/api/v1/replay-runs/{started.json()['id']}", headers=finance).json()
        warnings = run["summary"]["warnings"]
        assert [w["code"] for w in warnings] == ["buyer_without_siren"] * len(expected)
        assert {w["customer_code"]: sorted(w["references"]) for w in warnings} == {
            code: sorted(references) for code, references in expected.items()
        }
        assert all(w["count"] == len(w["references"]) and "SIREN" in w["detail"] for w in warnings)

        token = csrf_of(api.get("/login").text)
        login = {"username": user.username, "password": PASSWORD, "csrf_token": token}
        assert api.post("/login", data=login, follow_redirects=False).status_code == 303
        page = api.get("/finance").text
        assert page.count('class="warning siren-warning"') == len(expected)
        # One line however many customers, the list folded under it.
        assert f'<summary class="warning">{len(expected)} client(s) sans SIREN' in page
        listed = page.split("siren-warnings", 1)[1]
        assert all(code in listed for code in expected) and with_siren not in listed

    def test_a_second_run_is_refused_while_one_is_running(
        self, api: TestClient, fresh_engine: Engine
    ) -> None:
        with session_scope(fresh_engine) as session:
            running = start_run(session, actor=FINANCE, settings=settings(), all_incidents=True)
        answer = api.post("/api/v1/replay-runs", json={}, headers=headers(fresh_engine, "finance"))
        assert answer.status_code == 409
        assert answer.headers["content-type"] == "application/problem+json"
        assert f"replay run {running.id} is running" in answer.json()["detail"]

    def test_unknown_kinds_are_refused(self, api: TestClient, fresh_engine: Engine) -> None:
        answer = api.post(
            "/api/v1/replay-runs", json={"kinds": ["quote"]}, headers=headers(fresh_engine, "admin")
        )
        assert answer.status_code == 422

    def test_an_empty_list_of_kinds_is_refused_rather_than_taken_for_every_kind(
        self, api: TestClient, fresh_engine: Engine, erp: ErpDouble
    ) -> None:
        captured(fresh_engine)
        answer = api.post("/api/v1/replay-runs", json={"kinds": []}, headers=headers(fresh_engine, "finance"))
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["loc"] == ["body", "kinds"]
        assert erp.stored() == []

    def test_a_failed_item_is_retried_by_finance(
        self, api: TestClient, fresh_engine: Engine, erp: ErpDouble
    ) -> None:
        data = captured(fresh_engine, orders=1)
        erp.faults = lambda document, attempt: "refuse" if document.reference == data.orders[0] else None
        finance = headers(fresh_engine, "finance")
        run_id = api.post("/api/v1/replay-runs", json={}, headers=finance).json()["id"]
        run = api.get(f"/api/v1/replay-runs/{run_id}", headers=finance).json()
        assert run["status"] == "incomplete"
        assert run["errors"][0].startswith(f"{data.orders[0]} (failed): ERP refused")
        failed = api.get("/api/v1/replay-items", params={"status": "failed"}, headers=finance).json()["items"]
        assert [item["reference"] for item in failed] == [data.orders[0]]

        retried = api.post(f"/api/v1/replay-items/{failed[0]['id']}/retry", headers=finance)
        assert retried.status_code == 200 and retried.json()["status"] == "pending"
        assert api.post(f"/api/v1/replay-items/{failed[0]['id']}/retry", headers=finance).status_code == 409
        erp.faults = None
        run_id = api.post("/api/v1/replay-runs", json={}, headers=finance).json()["id"]
        assert api.get(f"/api/v1/replay-runs/{run_id}", headers=finance).json()["status"] == "completed"

    def test_a_run_executes_in_a_thread_of_the_application(
        self, api: TestClient, fresh_engine: Engine, erp: ErpDouble, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        captured(fresh_engine, orders=2)
        monkeypatch.setattr("app.replay.runs.make_connector", erp.connector)
        api.app.dependency_overrides.pop(get_launcher)  # type: ignore[attr-defined]
        finance = headers(fresh_engine, "finance")
        run_id = api.post("/api/v1/replay-runs", json={}, headers=finance).json()["id"]
        deadline = time.monotonic() + 30
        status = "running"
        while status == "running" and time.monotonic() < deadline:
            status = api.get(f"/api/v1/replay-runs/{run_id}", headers=finance).json()["status"]
        assert status == "completed"
        assert len(erp.arrivals) == 5


class TestReports:
    def test_the_report_comes_as_json_csv_and_pdf(self, api: TestClient, fresh_engine: Engine) -> None:
        captured(fresh_engine)
        finance = headers(fresh_engine, "finance")
        run_id = api.post("/api/v1/replay-runs", json={}, headers=finance).json()["id"]
        report = api.get(f"/api/v1/replay-runs/{run_id}/report", headers=finance).json()
        assert report["balanced"] and report["run_id"] == run_id
        as_csv = api.get(f"/api/v1/replay-runs/{run_id}/report", params={"format": "csv"}, headers=finance)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.text.startswith("section,kind,customer_code")
        as_pdf = api.get(f"/api/v1/replay-runs/{run_id}/report", params={"format": "pdf"}, headers=finance)
        assert as_pdf.headers["content-type"] == "application/pdf" and as_pdf.content.startswith(b"%PDF")
        assert api.get("/api/v1/replay-runs/999/report", headers=finance).status_code == 404


def partner_headers(engine: Engine, data: Captured) -> Headers:
    with session_scope(engine) as session:
        _, key = create_partner(session, name="Librairie partenaire", customer_codes=[data.customers[0].code])
    return {"X-API-Key": key}


REPLAY_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/replay-runs", {"dry_run": True}),
    ("GET", "/api/v1/replay-runs", None),
    ("GET", "/api/v1/replay-runs/1", None),
    ("GET", "/api/v1/replay-runs/1/report", None),
    ("GET", "/api/v1/incidents/1/report", None),
    ("GET", "/api/v1/replay-items", None),
    ("POST", "/api/v1/replay-items/1/retry", None),
]


@pytest.mark.parametrize("who", ["rep", "warehouse", "partner"])
def test_only_finance_and_admins_touch_replay(api: TestClient, fresh_engine: Engine, who: str) -> None:
    data = captured(fresh_engine, orders=1)
    with session_scope(fresh_engine) as session:
        run_id = start_run(session, actor=FINANCE, settings=settings(), dry_run=True, all_incidents=True).id
    caller = partner_headers(fresh_engine, data) if who == "partner" else headers(fresh_engine, who)
    for method, path, body in REPLAY_ENDPOINTS:
        answer = api.request(method, path, json=body, headers=caller)
        assert answer.status_code == 403, (method, path, answer.text)
    # Ids come from sequences, which a clone of the template inherits from the tests before it.
    assert api.get(f"/api/v1/replay-runs/{run_id}", headers=headers(fresh_engine, "admin")).status_code == 200
