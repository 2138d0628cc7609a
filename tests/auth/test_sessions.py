"""Tokens and desk sessions follow the user as it stands: a deleted, deactivated or changed user, or one
who signed out, is refused at its very next request, on the API and at the desk alike."""

import io
import re
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.auth import service
from app.auth.models import User
from app.cli import main
from app.clock import utcnow
from app.config import get_settings
from app.db import session_scope
from app.edi.partners import create_partner
from app.errors import Conflict
from tests.builders import PASSWORD, make_customer, make_product, make_user


def bearer(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {service.issue_token(user)}"}


def new_token(client: TestClient, user: User, password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": user.username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def desk_sign_in(client: TestClient, user: User) -> str:
    """Signs the user in at the desk; returns the CSRF token of its forms."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert found
    answer = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": found[1]},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return found[1]


def order_body(session: Session) -> dict[str, object]:
    customer, product = make_customer(session), make_product(session)
    return {
        "customer_code": customer.code,
        "channel": "phone",
        "lines": [{"product_code": product.code, "quantity": 1}],
    }


class TestTokens:
    def test_a_token_for_a_user_that_does_not_exist_is_refused(self, client: TestClient) -> None:
        ghost = User(id=987_654_321, username="ghost", role="admin", session_version=0)
        answer = client.get("/api/v1/orders", headers=bearer(ghost))
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"

    def test_a_deactivated_users_token_stops_at_its_next_request(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        headers = new_token(client, user)
        assert client.get("/api/v1/orders", headers=headers).status_code == 200

        service.set_active(session, username=user.username, active=False)
        session.flush()
        refused = client.get("/api/v1/orders", headers=headers)
        assert refused.status_code == 401 and "sign in again" in refused.json()["detail"]
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
            ).status_code
            == 401
        )

    def test_a_new_role_takes_effect_at_once(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role="rep")
        as_rep = new_token(client, user)
        body = order_body(session)
        assert client.post("/api/v1/orders", json=body, headers=as_rep).status_code == 201

        service.change_role(session, username=user.username, role="warehouse")
        session.flush()
        assert client.post("/api/v1/orders", json=body, headers=as_rep).status_code == 401
        as_warehouse = new_token(client, user)
        assert client.post("/api/v1/orders", json=body, headers=as_warehouse).status_code == 403

    def test_a_new_password_ends_the_sessions_and_the_old_password(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        headers = new_token(client, user)
        service.set_password(session, username=user.username, password="a brand new passphrase")
        session.flush()
        assert client.get("/api/v1/orders", headers=headers).status_code == 401
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}
            ).status_code
            == 401
        )
        new_token(client, user, "a brand new passphrase")

    def test_a_token_without_a_session_version_is_refused(self, client: TestClient, session: Session) -> None:
        """Tokens signed before sessions were versioned name a role, which is no longer trusted."""
        user = make_user(session, role="rep")
        now = utcnow()
        claims = {
            "sub": str(user.id),
            "name": "x",
            "role": "admin",
            "iat": now,
            "exp": now + timedelta(hours=1),
        }
        old = jwt.encode(claims, get_settings().secret_key, algorithm="HS256")
        assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {old}"}).status_code == 401

    def test_the_role_comes_from_the_user_not_from_the_token(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        now = utcnow()
        claims = {"sub": str(user.id), "ver": 0, "role": "admin", "iat": now, "exp": now + timedelta(hours=1)}
        forged_role = jwt.encode(claims, get_settings().secret_key, algorithm="HS256")
        body = {"code": "NEW1", "name": "x", "unit_price": "1", "vat_rate": "20"}
        answer = client.post(
            "/api/v1/products", json=body, headers={"Authorization": f"Bearer {forged_role}"}
        )
        assert answer.status_code == 403


class TestSigningOut:
    def test_the_api_sign_out_ends_every_token_of_the_caller(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        laptop, phone = new_token(client, user), new_token(client, user)
        other = new_token(client, make_user(session, role="rep"))

        assert client.post("/api/v1/auth/sign-out", headers=laptop).status_code == 204
        assert client.get("/api/v1/orders", headers=laptop).status_code == 401
        assert client.get("/api/v1/orders", headers=phone).status_code == 401
        assert client.get("/api/v1/orders", headers=other).status_code == 200
        assert client.post("/api/v1/auth/sign-out", headers=laptop).status_code == 401
        assert client.get("/api/v1/orders", headers=new_token(client, user)).status_code == 200

    def test_a_supplier_signs_out_too(self, client: TestClient, session: Session) -> None:
        supplier = make_user(session, role="supplier", supplier_code="PUB1")
        headers = new_token(client, supplier)
        assert client.post("/api/v1/auth/sign-out", headers=headers).status_code == 204
        assert client.get("/api/v1/products", headers=headers).status_code == 401

    def test_a_partner_key_is_not_signed_out(self, client: TestClient, session: Session) -> None:
        _, key = create_partner(session, name="Hub", customer_codes=[make_customer(session).code])
        answer = client.post("/api/v1/auth/sign-out", headers={"X-API-Key": key})
        assert answer.status_code == 403 and answer.headers["content-type"] == "application/problem+json"

    def test_signing_out_at_the_desk_ends_the_session_for_good(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        csrf = desk_sign_in(client, user)
        kept = client.cookies.get("carnet_session")
        assert kept and client.get("/orders", follow_redirects=False).status_code == 200

        assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
        client.cookies.set("carnet_session", kept)  # a copy of the cookie, kept by someone
        assert client.get("/orders", follow_redirects=False).headers["location"] == "/login?next=/orders"
        assert client.get("/api/v1/orders", headers={"Authorization": f"Bearer {kept}"}).status_code == 401


class TestDeskSessions:
    def test_a_deactivated_person_is_sent_to_sign_in_at_the_next_page(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        desk_sign_in(client, user)
        service.set_active(session, username=user.username, active=False)
        session.flush()
        assert (
            client.get("/orders/new", follow_redirects=False).headers["location"] == "/login?next=/orders/new"
        )

    def test_an_admin_changes_roles_deactivates_and_resets_passwords_from_the_desk(
        self, client: TestClient, session: Session
    ) -> None:
        admin, rep = make_user(session, role="admin"), make_user(session, role="rep")
        rep_session = TestClient(client.app, client=("192.0.2.5", 50000))
        desk_sign_in(rep_session, rep)
        csrf = desk_sign_in(client, admin)

        def change(what: str, **fields: str) -> None:
            answer = client.post(
                f"/admin/users/{what}",
                data={"username": rep.username, "csrf_token": csrf, **fields},
                follow_redirects=False,
            )
            assert answer.status_code == 303, answer.text

        change("role", role="finance")
        assert rep_session.get("/finance", follow_redirects=False).status_code == 303  # signed out
        desk_sign_in(rep_session, rep)
        assert rep_session.get("/finance").status_code == 200  # the new role, at the next sign-in
        change("deactivate")
        assert rep_session.get("/finance", follow_redirects=False).status_code == 303
        change("activate")
        change("password", password="another long password")
        stored = session.execute(select(User).where(User.username == rep.username)).scalar_one()
        assert (stored.role, stored.active) == ("finance", True)
        assert (
            client.post(
                "/api/v1/auth/token", data={"username": rep.username, "password": PASSWORD}
            ).status_code
            == 401
        )

    def test_the_last_admin_can_be_neither_deactivated_nor_demoted(self, session: Session) -> None:
        for other in session.execute(select(User).where(User.role == "admin")).scalars():
            other.active = False
        admin = make_user(session, role="admin")
        with pytest.raises(Conflict):
            service.set_active(session, username=admin.username, active=False)
        with pytest.raises(Conflict):
            service.change_role(session, username=admin.username, role="rep")
        make_user(session, role="admin")
        service.change_role(session, username=admin.username, role="rep")


class TestCommandLine:
    def test_carnet_users_commands_end_the_sessions(
        self, cli_engine: Engine, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with session_scope(cli_engine) as session:
            user = make_user(session, role="rep")
            before = user.session_version
        assert main(["users", "set-role", user.username, "warehouse"]) == 0
        assert main(["users", "sign-out", user.username]) == 0
        assert main(["users", "deactivate", user.username]) == 0
        assert main(["users", "deactivate", "nobody"]) == 2
        assert "no user 'nobody'" in capsys.readouterr().err
        with session_scope(cli_engine, write=False) as session:
            stored = session.get(User, user.id)
            assert stored is not None
            assert (stored.role, stored.active, stored.session_version) == ("warehouse", False, before + 3)


def test_a_refused_command_says_why_and_where_without_a_traceback(
    cli_engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "create", "nina", "--role", "rep"]) == 2
    said = capsys.readouterr().err
    assert said.startswith("error: ") and "Traceback" not in said
    assert said.count("password must have at least 10 characters") == 1
