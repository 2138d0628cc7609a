"""What the system's state tells whom: the distributor's people read the incident's reason, who declared
it and finance's warnings; partners, suppliers and anyone without credentials only the mode and dates."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.service import issue_token
from app.edi.partners import create_partner
from app.web.pages import forget_banner
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user
from tests.delivery.fulfilment import order_of, ship

REASON = "panne du serveur SAP chez l'hébergeur"


@pytest.fixture
def incident(client: TestClient, session: Session) -> Iterator[dict[str, object]]:
    admin = {
        "Authorization": f"Bearer {issue_token(make_user(session, role='admin', username='marie.admin'))}"
    }
    answer = client.post("/api/v1/incidents", json={"reason": REASON}, headers=admin)
    assert answer.status_code == 201
    forget_banner()
    yield answer.json()
    forget_banner()


def outsiders(session: Session) -> dict[str, dict[str, str]]:
    _, key = create_partner(session, name="Hub", customer_codes=[make_customer(session).code])
    return {
        "anonymous": {},
        "partner": {"X-API-Key": key},
        "supplier": auth_headers(session, role="supplier", supplier_code="PUB1"),
    }


class TestTheApi:
    def test_outsiders_see_the_mode_and_when_not_why_nor_who(
        self, client: TestClient, session: Session, incident: dict[str, object]
    ) -> None:
        for who, headers in outsiders(session).items():
            answer = client.get("/api/v1/system", headers=headers)
            assert answer.status_code == 200, who
            system = answer.json()
            assert set(system) == {"mode", "incident", "snapshot_as_of", "snapshot_age_seconds", "banner"}, (
                who
            )
            assert system["mode"] == "degraded" and system["banner"].startswith("ERP indisponible")
            assert system["incident"] == {
                "id": incident["id"],
                "state": "open",
                "started_at": incident["started_at"],
                "ended_at": None,
            }
            assert REASON not in answer.text and "marie.admin" not in answer.text

    @pytest.mark.parametrize("role", ["rep", "warehouse", "finance", "admin"])
    def test_the_distributors_people_see_the_reason_and_who_declared_it(
        self, client: TestClient, session: Session, incident: dict[str, object], role: str
    ) -> None:
        system = client.get("/api/v1/system", headers=auth_headers(session, role=role)).json()
        assert system["incident"]["reason"] == REASON and system["incident"]["declared_by"] == "marie.admin"
        assert "warnings" in system

    def test_wrong_credentials_are_refused_rather_than_taken_for_anonymous(self, client: TestClient) -> None:
        assert client.get("/api/v1/system", headers={"Authorization": "Bearer forged"}).status_code == 401

    def test_partners_do_not_read_incidents(
        self, client: TestClient, session: Session, incident: dict[str, object]
    ) -> None:
        partner = outsiders(session)["partner"]
        assert client.get("/api/v1/incidents", headers=partner).status_code == 403
        assert client.get(f"/api/v1/incidents/{incident['id']}", headers=partner).status_code == 403
        rep = auth_headers(session, role="rep")
        assert client.get(f"/api/v1/incidents/{incident['id']}", headers=rep).json()["reason"] == REASON


class TestTheDeskBanner:
    def test_finance_warnings_are_shown_to_staff_only(self, client: TestClient, session: Session) -> None:
        customer, product = make_customer(session), make_product(session, stock="5")
        ship(client, auth_headers(session, role="warehouse"), order_of(session, customer, (product, 1)))
        forget_banner()

        signed_out = client.get("/login").text
        assert "pas encore facturé" not in signed_out
        assert "Données ERP du" in signed_out  # the snapshot's date, for everybody

        def signed_in(role: str) -> None:
            client.cookies.clear()
            user = make_user(session, role=role)
            token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
            assert token
            client.post(
                "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token[1]}
            )

        signed_in("rep")  # finance's deadlines are not the rep's business
        assert "pas encore facturé" not in client.get("/orders").text
        signed_in("finance")
        assert "1 bon(s) de livraison pas encore facturé(s) dans l&#39;ERP" in client.get("/finance").text
        client.get("/lang/en?next=/finance")
        assert "1 delivery note(s) not yet invoiced in the ERP" in client.get("/finance").text
