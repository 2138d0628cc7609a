"""One outage from start to finish, over the API, as the people who live it see it: the admin declares
the incident, a rep takes an order, the warehouse ships it (delivery note and deferred invoice), goods
come back (deferred credit note), the ERP returns and the admin ends the incident, finance replays
everything into the ERP over HTTP and gets a reconciliation with no difference; the system is normal."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.config import get_settings
from app.db import session_scope
from app.replay.reference_erp import ReferenceErp, running_reference_erp
from tests.builders import auth_headers, make_customer, make_product
from tests.replay.committed_app import committed_client
from tests.replay.test_fault_replay import wait_for

SECRET = "story-erp-secret"


@pytest.fixture
def erp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReferenceErp]:
    with running_reference_erp(state=tmp_path / "erp.db", secret=SECRET) as server:
        monkeypatch.setenv("CARNET_ERP_URL", server.url)
        monkeypatch.setenv("CARNET_ERP_SECRET", SECRET)
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def test_an_outage_replayed_into_the_erp_and_reconciled(fresh_engine: Engine, erp: ReferenceErp) -> None:
    with session_scope(fresh_engine) as session:
        people = {role: auth_headers(session, role=role) for role in ("admin", "rep", "warehouse", "finance")}
        bookseller = make_customer(session, name="Librairie des Quais", discount_percent="5")
        novel = make_product(session, price="22.00", vat_rate="5.5", includes_vat=True, price_locked=True)
        lamp = make_product(session, price="35.00", vat_rate="20")
    admin, rep, warehouse, finance = (people[r] for r in ("admin", "rep", "warehouse", "finance"))

    with committed_client(fresh_engine) as client:
        # 08:00: the ERP is down; the admin declares the incident.
        incident = client.post("/api/v1/incidents", json={"reason": "ERP unreachable"}, headers=admin).json()
        assert client.get("/api/v1/system").json()["mode"] == "degraded"

        # A rep takes an order by phone; the warehouse ships it whole.
        order = client.post(
            "/api/v1/orders",
            json={
                "customer_code": bookseller.code,
                "channel": "phone",
                "customer_reference": "QUAIS-118",
                "lines": [
                    {"product_code": novel.code, "quantity": 6},
                    {"product_code": lamp.code, "quantity": 1, "discount_percent": "10"},
                ],
            },
            headers=rep,
        )
        assert order.status_code == 201, order.text
        number = order.json()["number"]
        note = client.post(f"/api/v1/orders/{number}/deliveries", headers=warehouse)
        assert note.status_code == 201, note.text
        invoices = client.get(
            "/api/v1/deferred-documents", params={"kind": "invoice"}, headers=finance
        ).json()
        assert [(d["status"], d["delivery_note_number"]) for d in invoices["items"]] == [
            ("pending", note.json()["number"])
        ]

        # Two novels come back unsold: a deferred credit note against the note's invoice.
        back = client.post(
            "/api/v1/returns",
            json={
                "customer_code": bookseller.code,
                "delivery_note_number": note.json()["number"],
                "lines": [{"product_code": novel.code, "quantity": 2, "reason": "unsold"}],
            },
            headers=rep,
        )
        assert back.status_code == 201, back.text
        credit_note = back.json()["credit_note"]

        # The ERP is back: the admin ends the incident; the system is recovering.
        ended = client.post(f"/api/v1/incidents/{incident['id']}/end", headers=admin)
        assert ended.status_code == 200
        assert client.get("/api/v1/system").json()["mode"] == "recovering"

        # Finance replays the incident into the ERP.
        started = client.post("/api/v1/replay-runs", json={}, headers=finance)
        assert started.status_code == 202, started.text
        run_url = f"/api/v1/replay-runs/{started.json()['id']}"
        wait_for(
            lambda: client.get(run_url, headers=finance).json()["status"] != "running",
            seconds=30,
            what="the replay run",
        )
        run = client.get(run_url, headers=finance).json()
        assert run["status"] == "completed", run
        assert (run["sent"], run["acknowledged"], run["incident_id"]) == (3, 3, incident["id"])

        # The ERP holds each document once, each after what it depends on.
        held = erp.store.documents()
        assert [(d["kind"], d["reference"], d["received_count"]) for d in held] == [
            ("order", number, 1),
            ("invoice", invoices["items"][0]["reference"], 1),
            ("credit_note", credit_note["reference"], 1),
        ]
        documents = client.get("/api/v1/deferred-documents", headers=finance).json()["items"]
        assert {(d["kind"], d["status"], d["final_number"]) for d in documents} == {
            ("invoice", "replayed", held[1]["erp_number"]),
            ("credit_note", "replayed", held[2]["erp_number"]),
        }

        # The reconciliation, for the auditor: what the ERP holds is what Carnet captured.
        report = client.get(f"/api/v1/incidents/{incident['id']}/report", headers=finance).json()
        assert report["balanced"] and report["outstanding"] == [] and report["excluded"] == []
        for figures in report["kinds"]:
            assert figures["captured"]["count"] == figures["acknowledged"]["count"] == 1
            assert figures["difference"] == {
                "count": 0,
                "net": "0.00",
                "vat": "0.00",
                "gross": "0.00",
                "vat_breakdown": figures["difference"]["vat_breakdown"],
            }
            assert all(v["base"] == v["amount"] == "0.00" for v in figures["difference"]["vat_breakdown"])
        order_figures = next(k for k in report["kinds"] if k["kind"] == "order")
        assert order_figures["captured"]["gross"] == order.json()["totals"]["gross"]
        pdf = client.get(f"{run_url}/report", params={"format": "pdf"}, headers=finance)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

        # Everything captured during the outage is in the ERP: the system is normal again.
        system = client.get("/api/v1/system").json()
        assert (system["mode"], system["incident"], system["warnings"]) == ("normal", None, [])
        replayed = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin).json()
        assert replayed["state"] == "replayed"
