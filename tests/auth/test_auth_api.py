"""Signing in and role checks."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.service import create_user
from app.config import get_settings
from app.errors import Conflict, InvalidInput
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user


class TestToken:
    def test_password_flow_issues_a_bearer_token_that_works(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        answer = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
        assert answer.status_code == 200
        token = answer.json()
        assert token["token_type"] == "bearer"
        customer = make_customer(session)
        assert (
            client.get(
                f"/api/v1/customers/{customer.code}",
                headers={"Authorization": f"Bearer {token['access_token']}"},
            ).status_code
            == 200
        )

    def test_wrong_password_is_401(self, client: TestClient, session: Session) -> None:
        user = make_user(session)
        answer = client.post(
            "/api/v1/auth/token", data={"username": user.username, "password": "nope-nope-nope"}
        )
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"

    def test_unknown_user_is_401(self, client: TestClient) -> None:
        answer = client.post("/api/v1/auth/token", data={"username": "ghost", "password": "whatever-long"})
        assert answer.status_code == 401


class TestRoles:
    def test_no_credentials_is_401(self, client: TestClient) -> None:
        answer = client.post("/api/v1/orders", json={})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"

    def test_expired_token_is_401(self, client: TestClient) -> None:
        past = datetime.now(UTC) - timedelta(hours=1)
        token = jwt.encode(
            {"sub": "1", "name": "rep", "role": "rep", "iat": past, "exp": past},
            get_settings().secret_key,
            algorithm="HS256",
        )
        answer = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401

    def test_forged_token_is_401(self, client: TestClient) -> None:
        answer = client.get("/api/v1/orders", headers={"Authorization": "Bearer abc.def.ghi"})
        assert answer.status_code == 401

    @pytest.mark.parametrize("role", ["warehouse", "finance"])
    def test_only_reps_and_admins_capture_orders(
        self, client: TestClient, session: Session, role: str
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        assert (
            client.post("/api/v1/orders", json=body, headers=auth_headers(session, role=role)).status_code
            == 403
        )
        assert (
            client.post("/api/v1/orders", json=body, headers=auth_headers(session, role="admin")).status_code
            == 201
        )

    def test_reps_read_master_data_but_only_admins_write_it(
        self, client: TestClient, session: Session
    ) -> None:
        body = {"code": "NEW1", "name": "Nouveau", "unit_price": "1.00", "vat_rate": "20"}
        assert (
            client.post("/api/v1/products", json=body, headers=auth_headers(session, role="rep")).status_code
            == 403
        )
        assert (
            client.post(
                "/api/v1/products", json=body, headers=auth_headers(session, role="admin")
            ).status_code
            == 201
        )
        assert (
            client.get("/api/v1/products/NEW1", headers=auth_headers(session, role="rep")).status_code == 200
        )


class TestCreateUser:
    def test_refuses_a_short_password(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            create_user(session, username="shorty", password="short", role="rep")

    def test_refuses_a_duplicate_username(self, session: Session) -> None:
        create_user(session, username="dup", password="long enough pass", role="rep")
        with pytest.raises(Conflict):
            create_user(session, username="dup", password="long enough pass", role="admin")

    def test_refuses_an_unknown_role(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            create_user(session, username="x", password="long enough pass", role="boss")
