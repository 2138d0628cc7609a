from fastapi.testclient import TestClient

from app.health import head_revision


def test_liveness_answers_ok(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_reports_the_migration_at_head(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["migration"] == head_revision()
