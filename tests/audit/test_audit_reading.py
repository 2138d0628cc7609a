"""Admins read the audit trail: on the desk's page (newest first, paginated, filtered, in French or
English, with the export for an auditor) and over the API; nobody else may."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.audit.models import Action
from app.audit.service import SYSTEM, Someone, record
from tests.builders import PASSWORD, auth_headers, make_user
from tests.web.test_desk_pages import csrf_of

ADA = Someone("user", 1, "ada")
RITA = Someone("user", 2, "rita")


@pytest.fixture
def trail(session: Session) -> None:
    """Sixty orders captured by rita, one cancelled by ada, a document acknowledged: committed."""
    for n in range(1, 61):
        record(session, actor=RITA, action=Action.ORDER_CAPTURED, subject="order", ref=f"CMD-{n:03d}")
    record(session, actor=ADA, action=Action.ORDER_CANCELLED, subject="order", ref="CMD-007")
    record(session, actor=SYSTEM, action=Action.DOCUMENT_ACKNOWLEDGED, subject="invoice", ref="DI-1")
    session.commit()


def desk_admin(client: TestClient, session: Session, role: str = "admin") -> None:
    user = make_user(session, role=role)
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token})


def refs_on(page: str) -> list[str]:
    body = page.split('id="audit-records"', 1)[1].split("</table>", 1)[0]
    return [cell.split("<")[0].split(">")[-1] for cell in body.split('<a href="/orders/')[1:]]


@pytest.mark.usefixtures("trail")
class TestDeskPage:
    def test_admins_read_the_newest_first_page_by_page(self, client: TestClient, session: Session) -> None:
        desk_admin(client, session)
        first = client.get("/admin/audit")
        assert first.status_code == 200
        assert "Journal d&#39;audit" in first.text and "commande annulée" in first.text
        assert refs_on(first.text)[:3] == ["CMD-007", "CMD-060", "CMD-059"]
        assert len(refs_on(first.text)) == 49  # and DI-1, which is no order: fifty records a page
        older = (
            first.text.split('rel="next"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        )
        second = client.get(older)
        assert refs_on(second.text)[0] == "CMD-012" and refs_on(second.text)[-1] == "CMD-001"
        assert 'rel="next"' not in second.text

    def test_filters_by_actor_action_subject_and_day(self, client: TestClient, session: Session) -> None:
        desk_admin(client, session)
        assert refs_on(client.get("/admin/audit", params={"who": "ada"}).text) == ["CMD-007"]
        by_action = client.get("/admin/audit", params={"action": "order.cancelled"}).text
        assert refs_on(by_action) == ["CMD-007"]
        by_subject = client.get("/admin/audit", params={"subject": "order", "ref": "CMD-007"}).text
        assert refs_on(by_subject) == ["CMD-007", "CMD-007"]
        invoices = client.get("/admin/audit", params={"subject": "invoice"}).text
        assert "DI-1" in invoices and refs_on(invoices) == []
        today = datetime.now(UTC).date()
        assert len(refs_on(client.get("/admin/audit", params={"from": today.isoformat()}).text)) == 49
        assert refs_on(client.get("/admin/audit", params={"to": "2020-01-01"}).text) == []
        assert client.get("/admin/audit", params={"from": "hier"}).status_code == 422

    def test_the_page_reads_in_english_too(self, client: TestClient, session: Session) -> None:
        desk_admin(client, session)
        client.get("/lang/en")
        page = client.get("/admin/audit").text
        assert "Audit trail" in page and "order cancelled" in page and "acknowledged by the ERP" in page

    def test_it_is_in_the_admins_menu_and_nobody_elses(self, client: TestClient, session: Session) -> None:
        desk_admin(client, session)
        assert 'href="/admin/audit"' in client.get("/admin").text
        client.cookies.clear()
        desk_admin(client, session, role="finance")
        assert 'href="/admin/audit"' not in client.get("/finance").text
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit/export.csv").status_code == 403

    def test_the_export_holds_every_record_with_its_hashes(
        self, client: TestClient, session: Session
    ) -> None:
        desk_admin(client, session)
        exported = client.get("/admin/audit/export.csv")
        assert exported.headers["content-type"].startswith("text/csv")
        assert "attachment" in exported.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert [row["subject_ref"] for row in rows[:2]] == ["CMD-001", "CMD-002"]
        assert rows[-2]["action"] == "order.cancelled" and len(rows) >= 62
        assert all(len(row["hash"]) == 64 and len(row["previous_hash"]) == 64 for row in rows)
        as_json = client.get("/admin/audit/export.json").json()
        assert as_json["head"]["last_hash"] == rows[-1]["hash"]
        assert [item["hash"] for item in as_json["records"]] == [row["hash"] for row in rows]


@pytest.mark.usefixtures("trail")
class TestApi:
    def test_admins_list_the_records_newest_first_with_a_cursor(
        self, client: TestClient, session: Session
    ) -> None:
        admin = auth_headers(session, role="admin")
        first = client.get("/api/v1/audit-records", params={"limit": 2}, headers=admin).json()
        assert [item["subject_ref"] for item in first["items"]] == ["DI-1", "CMD-007"]
        item = first["items"][1]
        assert (item["action"], item["actor_kind"], item["actor_name"], item["actor_id"]) == (
            "order.cancelled",
            "user",
            "ada",
            1,
        )
        assert item["recorded_at"].endswith("+00:00") and len(item["hash"]) == 64
        second = client.get(
            "/api/v1/audit-records", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
        ).json()
        assert [item["subject_ref"] for item in second["items"]] == ["CMD-060", "CMD-059"]

    def test_filters(self, client: TestClient, session: Session) -> None:
        admin = auth_headers(session, role="admin")
        listed = client.get("/api/v1/audit-records", params={"actor": "ada"}, headers=admin).json()
        assert [item["subject_ref"] for item in listed["items"]] == ["CMD-007"] and listed[
            "next_cursor"
        ] is None
        by_ref = client.get(
            "/api/v1/audit-records", params={"subject": "order", "ref": "CMD-007"}, headers=admin
        )
        assert [item["action"] for item in by_ref.json()["items"]] == ["order.cancelled", "order.captured"]
        assert (
            client.get("/api/v1/audit-records", params={"action": "nope"}, headers=admin).status_code == 422
        )

    def test_the_export_is_the_same_as_the_desks(self, client: TestClient, session: Session) -> None:
        admin = auth_headers(session, role="admin")
        exported = client.get("/api/v1/audit-records/export", headers=admin)
        assert exported.status_code == 200
        assert len(json.loads(exported.text)["records"]) >= 62
        assert client.get(
            "/api/v1/audit-records/export", params={"format": "csv"}, headers=admin
        ).text.startswith("id,recorded_at,actor_kind")

    @pytest.mark.parametrize("role", ["rep", "warehouse", "finance", "supplier"])
    def test_nobody_else_reads_it(self, client: TestClient, session: Session, role: str) -> None:
        headers = auth_headers(session, role=role, supplier_code="GALL" if role == "supplier" else None)
        assert client.get("/api/v1/audit-records", headers=headers).status_code == 403
        assert client.get("/api/v1/audit-records/export", headers=headers).status_code == 403
        assert client.get("/api/v1/audit-records").status_code == 401


def test_an_orders_number_finds_what_was_done_under_another_number_that_names_it(
    client: TestClient, session: Session
) -> None:
    record(session, actor=RITA, action=Action.ORDER_CAPTURED, subject="order", ref="CMD-900")
    record(
        session,
        actor=ADA,
        action=Action.DELIVERY_NOTE_ISSUED,
        subject="delivery_note",
        ref="BL-77",
        details={"order": "CMD-900", "lines": [["P1", 2]]},
    )
    record(
        session,
        actor=ADA,
        action=Action.DELIVERY_NOTE_ISSUED,
        subject="delivery_note",
        ref="BL-78",
        details={"order": "CMD-901"},
    )
    session.commit()
    admin = auth_headers(session, role="admin")
    found = client.get("/api/v1/audit-records", params={"ref": "CMD-900"}, headers=admin).json()["items"]
    assert [(item["subject_ref"], item["action"]) for item in found] == [
        ("BL-77", "delivery_note.issued"),
        ("CMD-900", "order.captured"),
    ]
