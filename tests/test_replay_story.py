"""One outage from start to finish, over the API, as the people who live it see it: the admin declares
the incident, a rep takes an order, the warehouse ships it (delivery note and deferred invoice), goods
come back (deferred credit note), the ERP returns and the admin ends the incident, finance replays
everything into the ERP over HTTP and gets a reconciliation with no difference; the system is normal."""

from collections.abc import Iterator
from datetime import datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from app.catalog.importing import import_data
from app.config import get_settings
from app.db import session_scope
from app.replay.reference_erp import FaultPolicy, ReferenceErp, running_reference_erp
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
        system = client.get("/api/v1/system", headers=finance).json()
        assert (system["mode"], system["incident"], system["warnings"]) == ("normal", None, [])
        replayed = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin).json()
        assert replayed["state"] == "replayed"


def test_nothing_left_behind_an_outage_with_returns_a_stale_stock_file_and_faults(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Returns keyed with and without their delivery note, a return of goods the ERP billed before the
    outage, one nobody can match, one keyed twice and cancelled, a backorder the customer gives up, a
    stale stock file; a replay into an ERP that fails one request in three. The ERP holds each document
    once; the reconciliation is balanced, and the system normal, only once the last item is resolved."""
    faults = FaultPolicy(fail_rate=0.35, modes=("error", "drop"), seed=20261207)
    with running_reference_erp(state=tmp_path / "erp.db", secret=SECRET, faults=faults) as erp:
        erp.store.hold_existing(kind="invoice", erp_number="F2026-00841")  # billed before the outage
        for name, value in {
            "CARNET_ERP_URL": erp.url,
            "CARNET_ERP_SECRET": SECRET,
            "CARNET_REPLAY_BACKOFF_BASE_SECONDS": "0.01",
            "CARNET_REPLAY_BACKOFF_CAP_SECONDS": "0.05",
            "CARNET_REPLAY_MAX_ATTEMPTS": "40",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        try:
            _outage_story(fresh_engine, erp)
        finally:
            get_settings.cache_clear()


def _outage_story(engine: Engine, erp: ReferenceErp) -> None:
    with session_scope(engine) as session:
        people = {role: auth_headers(session, role=role) for role in ("admin", "rep", "warehouse", "finance")}
        quais = make_customer(session, name="Librairie des Quais", discount_percent="5")
        gare = make_customer(session, name="Librairie de la Gare")
        novel = make_product(session, price="22.00", vat_rate="5.5", includes_vat=True, stock="40")
        lamp = make_product(session, price="35.00", vat_rate="20", stock="10")
        atlas = make_product(session, price="48.00", vat_rate="5.5", includes_vat=True, stock="3")
        guide = make_product(session, price="12.90", vat_rate="5.5", includes_vat=True, stock="0")
    admin, rep, warehouse, finance = (people[r] for r in ("admin", "rep", "warehouse", "finance"))

    def post(client: Any, url: str, body: Any = None, *, who: dict[str, str], status: int = 201) -> Any:
        answer = client.post(url, json=body, headers=who)
        assert answer.status_code == status, answer.text
        return answer.json()

    with committed_client(engine) as client:
        incident = post(client, "/api/v1/incidents", {"reason": "ERP injoignable"}, who=admin)
        order = post(
            client,
            "/api/v1/orders",
            {
                "customer_code": quais.code,
                "channel": "phone",
                "lines": [
                    {"product_code": novel.code, "quantity": 6},
                    {"product_code": lamp.code, "quantity": 2},
                ],
            },
            who=rep,
        )["number"]
        note = post(client, f"/api/v1/orders/{order}/deliveries", who=warehouse)["number"]
        backordered = post(
            client,
            "/api/v1/orders",
            {
                "customer_code": gare.code,
                "channel": "email",
                "lines": [{"product_code": atlas.code, "quantity": 5}],
            },
            who=rep,
        )["number"]
        post(client, f"/api/v1/orders/{backordered}/deliveries", who=warehouse)  # 3 of 5: 2 on backorder
        # The customer gives up the two atlases still to come.
        closed = post(client, f"/api/v1/orders/{backordered}/lines/1/close", who=rep, status=200)
        assert (closed["status"], closed["lines"][0]["closed_quantity"]) == ("shipped", 2)

        # Returns: with the note's number; without it (bound to the same note's invoice all the same);
        # goods billed by the ERP before the outage, with that invoice's number; goods nobody can match.
        with_note = post(
            client,
            "/api/v1/returns",
            {
                "customer_code": quais.code,
                "delivery_note_number": note,
                "lines": [{"product_code": novel.code, "quantity": 2}],
            },
            who=rep,
        )["credit_note"]
        without_note = post(
            client,
            "/api/v1/returns",
            {"customer_code": quais.code, "lines": [{"product_code": lamp.code, "quantity": 1}]},
            who=rep,
        )["credit_note"]
        assert without_note["delivery_note_number"] == note and without_note["invoice_reference"]
        billed_before = post(
            client,
            "/api/v1/returns",
            {
                "customer_code": gare.code,
                "invoice_reference": "F2026-00841",
                "lines": [{"product_code": guide.code, "quantity": 3}],
            },
            who=rep,
        )["credit_note"]
        unmatched = post(
            client,
            "/api/v1/returns",
            {"customer_code": gare.code, "lines": [{"product_code": guide.code, "quantity": 1}]},
            who=rep,
        )["credit_note"]
        # The same parcel keyed a second time: flagged, then cancelled before the replay.
        twice = post(
            client,
            "/api/v1/returns",
            {"customer_code": gare.code, "lines": [{"product_code": guide.code, "quantity": 1}]},
            who=rep,
        )
        assert "possible_duplicate" in [w["code"] for w in twice["warnings"]]
        cancelled = post(
            client,
            f"/api/v1/returns/{twice['number']}/cancel",
            {"reason": "colis saisi deux fois"},
            who=rep,
            status=200,
        )["credit_note"]
        assert cancelled["status"] == "void"

        # A stock file from the ERP, dated the evening before: Carnet's movements since stay applied.
        stale_at = datetime.fromisoformat(incident["started_at"]) - timedelta(hours=13)
        with session_scope(engine) as session:
            import_data(
                session,
                kind="stock",
                data=f"code;stock\n{novel.code};50\n".encode(),
                source="stock.csv",
                fmt="csv",
                as_of=stale_at,
            )
            older = import_data(
                session,
                kind="stock",
                data=f"code;stock\n{novel.code};80\n".encode(),
                source="old.csv",
                fmt="csv",
                as_of=stale_at - timedelta(days=1),
            )
        assert older.rows_rejected == 1 and "older than the stock Carnet has" in older.report_lines[0]
        stock = client.get(f"/api/v1/products/{novel.code}", headers=rep).json()
        assert stock["stock_on_hand"] == 50 - 6 + 2  # shipped 6, 2 came back, both after the file's date

        client.post(f"/api/v1/incidents/{incident['id']}/end", headers=admin)
        assert client.get("/api/v1/system").json()["mode"] == "recovering"

        # Finance looks at the scope first, then replays for real, into an ERP that keeps failing.
        dry = _replay(client, finance, dry_run=True)
        assert dry["status"] == "completed" and erp.store.documents() == [_existing()]
        # In the window: 2 orders, 2 invoices, 4 credit notes (one held for a person); nothing outside.
        assert dry["summary"]["scope"]["in_window"]["count"] == 8
        assert dry["summary"]["scope"]["after_window"]["count"] == 0
        # Its report says it is a dry run, so that nobody files it as the replay's reconciliation.
        dry_url = f"/api/v1/replay-runs/{dry['id']}/report"
        assert client.get(dry_url, headers=finance).json()["dry_run"] is True
        dry_pdf = client.get(dry_url, params={"format": "pdf"}, headers=finance)
        assert "SIMULATION" in "".join(
            page.extract_text() for page in PdfReader(BytesIO(dry_pdf.content)).pages
        )
        run = _replay(client, finance)
        assert run["status"] == "incomplete", run  # one credit note waits for a person
        assert run["retried"] > 0  # the ERP failed some sends, lost some answers

        held = erp.store.documents()[1:]
        keys = [d["idempotency_key"] for d in held]
        assert len(keys) == len(set(keys)) == 7  # 2 orders, 2 invoices, 3 credit notes: each once
        by_reference = {d["reference"]: d for d in held}
        assert {with_note["reference"], without_note["reference"], billed_before["reference"]} <= set(
            by_reference
        )
        assert unmatched["reference"] not in by_reference and cancelled["reference"] not in by_reference

        report = client.get(f"/api/v1/incidents/{incident['id']}/report", headers=finance).json()
        assert not report["balanced"] and not report["dry_run"]  # the real run's, not the dry one's
        assert [(d["reference"], d["reason_code"]) for d in report["outstanding"]] == [
            (unmatched["reference"], "no_invoice_to_correct")
        ]
        assert report["outstanding"][0]["amounts"]["gross"] == unmatched["totals"]["gross"]
        left_out = {d["reference"]: d for d in report["excluded"]}
        assert left_out[cancelled["reference"]]["reason"] == "annulé : colis saisi deux fois"
        assert left_out[cancelled["reference"]]["amounts"]["gross"] == cancelled["totals"]["gross"]
        system = client.get("/api/v1/system", headers=finance).json()
        assert system["mode"] == "recovering" and "attendent une personne" in system["banner"]

        # The last one is keyed into the ERP by hand: the reconciliation balances, the system is normal.
        item = next(
            i
            for i in client.get("/api/v1/replay-items", params={"status": "held"}, headers=finance).json()[
                "items"
            ]
        )
        post(
            client,
            f"/api/v1/replay-items/{item['id']}/resolve",
            {"outcome": "keyed", "erp_reference": "AV-MANUEL-7", "reason": "avoir saisi par la comptabilité"},
            who=finance,
            status=200,
        )
        report = client.get(f"/api/v1/incidents/{incident['id']}/report", headers=finance).json()
        assert report["balanced"] and report["outstanding"] == []
        assert [d["erp_reference"] for d in report["keyed_by_hand"]] == ["AV-MANUEL-7"]
        assert client.get("/api/v1/system").json()["mode"] == "normal"
        pdf = client.get(
            f"/api/v1/incidents/{incident['id']}/report",
            params={"format": "pdf", "lang": "en"},
            headers=finance,
        )
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _existing() -> dict[str, object]:
    return {
        "kind": "invoice",
        "idempotency_key": "existing:F2026-00841",
        "reference": "F2026-00841",
        "erp_number": "F2026-00841",
        "received_count": 1,
    }


def _replay(client: Any, finance: dict[str, str], *, dry_run: bool = False) -> Any:
    started = client.post("/api/v1/replay-runs", json={"dry_run": dry_run}, headers=finance)
    assert started.status_code == 202, started.text
    url = f"/api/v1/replay-runs/{started.json()['id']}"
    wait_for(
        lambda: client.get(url, headers=finance).json()["status"] != "running", seconds=60, what="the run"
    )
    return client.get(url, headers=finance).json()
