"""`GET /metrics`: what Prometheus reads, who may read it, and request latency that stays true with
several worker processes."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.clock import utcnow
from app.config import Settings, get_settings
from app.fulfilment.service import ship_order
from app.metrics import allowed_networks
from app.notices.service import queue_due_notices
from app.orders.capture import capture_order
from app.orders.schemas import OrderCreate
from app.replay.models import ReplayRun
from tests.builders import auth_headers, make_customer, make_product
from tests.delivery.fulfilment import REP, WAREHOUSE
from tests.workload import Server, database_url


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text answer, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def test_the_contracts_path_answers_prometheus_text_and_the_older_path_the_same(client: TestClient) -> None:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {family.name for family in text_string_to_metric_families(answer.text)}
    assert {
        "carnet_orders",
        "carnet_deferred_documents",
        "carnet_outbox_depth",
        "carnet_edi_outbox_documents",
        "carnet_replay_errors",
        "carnet_http_request_duration_seconds",
    } <= families
    older = client.get("/api/v1/metrics")
    assert older.status_code == 200
    assert {family.name for family in text_string_to_metric_families(older.text)} == families


def test_orders_per_channel_deferred_documents_outboxes_and_replay_errors_are_counted(
    client: TestClient, session: Session
) -> None:
    customer = make_customer(session)
    customer.email = "achats@librairie.example"
    product = make_product(session, stock="50")
    numbers = [
        capture_order(
            session,
            draft=OrderCreate(
                customer_code=customer.code,
                channel=channel,
                lines=[{"product_code": product.code, "quantity": 1}],
            ),
            actor=REP,
        ).number
        for channel in ("phone", "phone", "email")
    ]
    ship_order(session, number=numbers[0], lines=None, actor=WAREHOUSE)
    settings = get_settings().model_copy(update={"customer_notices": "all"})
    queue_due_notices(session, settings=settings, now=utcnow())
    now = utcnow()
    session.add(
        ReplayRun(
            status="incomplete",
            dry_run=False,
            kinds=["invoice"],
            connector="files",
            workers=1,
            started_by="finance",
            started_at=now,
            heartbeat_at=now,
            failed=3,
            dead=1,
        )
    )
    session.flush()

    text = client.get("/metrics").text

    assert value(text, "carnet_orders", channel="phone", status="shipped") == 1
    assert value(text, "carnet_orders", channel="phone", status="captured") == 1
    assert value(text, "carnet_orders", channel="email", status="captured") == 1
    assert value(text, "carnet_deferred_documents", kind="invoice", status="pending") == 1
    # Three confirmations and one shipment notice wait for the mail server.
    assert value(text, "carnet_outbox_depth", outbox="customer_notice", status="pending") == 4
    assert value(text, "carnet_replay_errors_total", outcome="failed") == 3
    assert value(text, "carnet_replay_errors_total", outcome="dead") == 1
    assert value(text, "carnet_replay_runs", status="incomplete") == 1


def test_request_latency_is_measured_per_route_template_and_status_class(
    client: TestClient, session: Session
) -> None:
    headers = auth_headers(session, role="rep")
    route = {"method": "GET", "route": "/api/v1/orders/{number}", "status": "4xx"}
    before = value(client.get("/metrics").text, "carnet_http_request_duration_seconds_count", **route)

    for number in ("CMD-2026-999998", "CMD-2026-999999"):
        assert client.get(f"/api/v1/orders/{number}", headers=headers).status_code == 404

    text = client.get("/metrics").text
    assert value(text, "carnet_http_request_duration_seconds_count", **route) == before + 2
    slowest_bucket = {**route, "le": "+Inf"}
    assert value(text, "carnet_http_request_duration_seconds_bucket", **slowest_bucket) == before + 2
    # One series per route, not per order number; a path that names no route has one of its own.
    assert "CMD-2026-999999" not in text
    client.get("/no/such/page/42")
    assert 'route="unmatched"' in client.get("/metrics").text


@pytest.fixture
def from_elsewhere(client: TestClient) -> Iterator[TestClient]:
    """The same application, called from an address outside the loopback."""
    with TestClient(client.app, client=("203.0.113.9", 40000)) as remote:
        yield remote


@pytest.fixture
def metrics_token(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    token = "scrape-4f1c9e2b7a"
    monkeypatch.setenv("CARNET_METRICS_TOKEN", token)
    get_settings.cache_clear()
    yield token
    monkeypatch.delenv("CARNET_METRICS_TOKEN")
    get_settings.cache_clear()


class TestWhoReadsTheMetrics:
    def test_a_caller_outside_the_allowed_networks_is_refused(self, from_elsewhere: TestClient) -> None:
        answer = from_elsewhere.get("/metrics")
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "application/problem+json"
        assert from_elsewhere.get("/api/v1/metrics").status_code == 403

    def test_the_metrics_token_opens_them_from_anywhere(
        self, from_elsewhere: TestClient, metrics_token: str
    ) -> None:
        refused = from_elsewhere.get("/metrics")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert from_elsewhere.get("/metrics", headers={"Authorization": "Bearer guess"}).status_code == 401
        answer = from_elsewhere.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        assert answer.status_code == 200 and "carnet_orders" in answer.text

    def test_loopback_by_default_except_in_production_and_networks_as_configured(self) -> None:
        development = Settings.model_construct(environment="development", metrics_networks=None)
        assert [str(n) for n in allowed_networks(development)] == ["127.0.0.0/8", "::1/128"]
        production = Settings.model_construct(environment="production", metrics_networks=None)
        assert allowed_networks(production) == []
        configured = Settings.model_construct(environment="production", metrics_networks="10.1.0.0/16, ::1")
        assert [str(n) for n in allowed_networks(configured)] == ["10.1.0.0/16", "::1/128"]

    def test_a_network_that_is_not_one_is_refused_at_start(self) -> None:
        with pytest.raises(ValueError, match=r"10\.0\.0\.300"):
            Settings(metrics_networks="10.0.0.300/8")


def access_lines(log: Path, route: str) -> list[dict[str, Any]]:
    lines = [orjson.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("route") == route]


def test_with_two_worker_processes_every_scrape_counts_the_requests_of_both(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    if fresh_engine.dialect.name != "sqlite":
        pytest.skip("the processes, not the engine, are under test")
    log = tmp_path / "server.log"
    server = Server(database_url(fresh_engine), workers=2, log=log)
    server.start()
    try:
        sent = 0
        # A new connection each time, until both workers have answered some (the kernel picks).
        while sent < 20 or len({line["pid"] for line in access_lines(log, "/assets/{path}")}) < 2:
            answer = httpx.get(f"{server.base}/assets/desk.css", headers={"Connection": "close"})
            assert answer.status_code == 200
            sent += 1
            assert sent < 500, "one worker answered everything"
        deadline = time.monotonic() + 10
        while len(access_lines(log, "/assets/{path}")) < sent:  # each is logged right after its answer
            assert time.monotonic() < deadline, "a request was answered but never logged"
            time.sleep(0.01)
        counts = []
        while len(counts) < 6 or len({line["pid"] for line in access_lines(log, "/metrics")}) < 2:
            text = httpx.get(f"{server.base}/metrics", headers={"Connection": "close"}).text
            counts.append(
                value(
                    text,
                    "carnet_http_request_duration_seconds_count",
                    method="GET",
                    route="/assets/{path}",
                    status="2xx",
                )
            )
            assert len(counts) < 500, "one worker answered every scrape"
    finally:
        server.stop()
    assert set(counts) == {sent}
    first = orjson.loads(log.read_text().splitlines()[0])
    assert first["message"].startswith(f"Carnet listening on {server.base}") and first["url"] == server.base
