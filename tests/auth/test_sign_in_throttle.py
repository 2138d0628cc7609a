"""Guessing passwords: a handful of tries, then the account is locked for a while, right password too."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import PASSWORD, make_user


def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, role="rep")
    wrong = [
        client.post(
            "/api/v1/auth/token", data={"username": user.username, "password": f"guess-{n}"}
        ).status_code
        for n in range(5)
    ]
    right = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert wrong == [401] * 5
    assert right.status_code == 429
    assert right.headers["content-type"] == "application/problem+json"
    assert "try again" in right.json()["detail"]


def test_a_right_password_clears_the_failures_before_the_limit(client: TestClient, session: Session) -> None:
    user = make_user(session, role="rep")
    for n in range(4):
        client.post("/api/v1/auth/token", data={"username": user.username, "password": f"guess-{n}"})
    assert (
        client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}).status_code
        == 200
    )
    for n in range(4):
        client.post("/api/v1/auth/token", data={"username": user.username, "password": f"again-{n}"})
    assert (
        client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD}).status_code
        == 200
    )


def test_the_desk_says_the_account_is_locked(client: TestClient, session: Session) -> None:
    user = make_user(session, role="rep")
    for n in range(5):
        page = client.get("/login")
        token = page.cookies.get("carnet_csrf") or client.cookies.get("carnet_csrf")
        client.post("/login", data={"username": user.username, "password": f"guess-{n}", "csrf_token": token})
    locked = client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": client.cookies.get("carnet_csrf"),
        },
    )
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.text
