"""Ids in URLs and cursors beyond what a 64-bit key holds are client errors, never a driver overflow."""

import base64

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import auth_headers

HUGE = "9" * 25


@pytest.mark.parametrize(
    ("method", "url", "role"),
    [
        ("get", f"/api/v1/replay-runs/{HUGE}", "finance"),
        ("get", f"/api/v1/replay-runs/{HUGE}/report", "finance"),
        ("post", f"/api/v1/replay-items/{HUGE}/retry", "finance"),
        ("get", f"/api/v1/incidents/{HUGE}", "admin"),
        ("post", f"/api/v1/incidents/{HUGE}/end", "admin"),
        ("get", f"/api/v1/incidents/{HUGE}/report", "finance"),
        ("get", f"/api/v1/edi/interchanges/{HUGE}", "admin"),
        ("get", f"/api/v1/edi/interchanges/1/acknowledgments/{HUGE}", "admin"),
    ],
)
def test_an_id_too_large_for_any_row_is_a_located_422(
    client: TestClient, session: Session, method: str, url: str, role: str
) -> None:
    answer = getattr(client, method)(url, headers=auth_headers(session, role=role))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"][0] == "path"


def test_a_cursor_too_large_for_any_row_is_a_located_422(client: TestClient, session: Session) -> None:
    cursor = base64.urlsafe_b64encode(f"id:{HUGE}".encode()).decode().rstrip("=")
    answer = client.get(
        f"/api/v1/replay-items?cursor={cursor}", headers=auth_headers(session, role="finance")
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_a_replay_run_for_an_incident_id_too_large_is_a_located_422(
    client: TestClient, session: Session
) -> None:
    answer = client.post(
        "/api/v1/replay-runs",
        json={"dry_run": True, "incident_id": int(HUGE)},
        headers=auth_headers(session, role="finance"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["loc"] == ["body", "incident_id"]


BEYOND_32_BITS = 2**40


@pytest.mark.parametrize(
    ("method", "url", "role"),
    [
        ("get", f"/api/v1/incidents/{BEYOND_32_BITS}", "admin"),
        ("post", f"/api/v1/incidents/{BEYOND_32_BITS}/end", "admin"),
        ("get", f"/api/v1/incidents/{BEYOND_32_BITS}/report", "finance"),
        ("post", f"/api/v1/edi/interchanges/{BEYOND_32_BITS}/reprocess", "admin"),
        ("get", f"/api/v1/edi/interchanges/{BEYOND_32_BITS}", "admin"),
        ("get", f"/api/v1/replay-runs/{BEYOND_32_BITS}", "finance"),
        ("post", f"/api/v1/replay-items/{BEYOND_32_BITS}/retry", "finance"),
        (
            "get",
            f"/api/v1/replay-items?cursor={base64.urlsafe_b64encode(b'id:1099511627776').decode()}",
            "finance",
        ),
    ],
)
def test_an_id_beyond_32_bits_is_looked_up_like_any_other(
    client: TestClient, session: Session, method: str, url: str, role: str
) -> None:
    """Keys are 64-bit on both engines: a large id is a missing row (404), or an empty page."""
    answer = getattr(client, method)(url, headers=auth_headers(session, role=role))
    assert answer.status_code in (200, 404), answer.text
