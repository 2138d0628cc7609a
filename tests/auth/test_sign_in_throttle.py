"""Guessing passwords and API keys: a handful of tries, then a lock for a while (429 with `Retry-After`),
counted per (account, address), per address and per account, in the database that every worker shares;
and never a lock that lets a guesser keep a person out of their own account."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.auth import dependencies, service
from app.auth.throttle import Count, Limit, after_failure, client_address
from app.clock import utcnow
from app.db import session_scope
from app.edi.partners import create_partner
from tests.builders import PASSWORD, make_customer, make_user
from tests.replay.committed_app import committed_client

TOKEN = "/api/v1/auth/token"


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    return client.post(TOKEN, data={"username": username, "password": password}).status_code


def from_address(client: TestClient, host: str) -> TestClient:
    """The same application, called from another client address."""
    return TestClient(client.app, client=(host, 50000))


class Clock:
    """The application's clock where failures are counted, moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fixed = Clock()
    monkeypatch.setattr(service, "utcnow", fixed)
    monkeypatch.setattr(dependencies, "utcnow", fixed)
    yield fixed


class TestAnAccountFromOneAddress:
    def test_after_five_wrong_passwords_even_the_right_one_is_refused_for_a_while(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        assert [sign_in(client, user.username, f"guess-{n}") for n in range(5)] == [401] * 5

        right = client.post(TOKEN, data={"username": user.username, "password": PASSWORD})
        assert right.status_code == 429
        assert right.headers["content-type"] == "application/problem+json"
        assert right.json()["detail"] == "too many failed sign-ins: try again in 15 min"
        assert 840 < int(right.headers["retry-after"]) <= 900

    def test_the_account_still_signs_in_from_another_address(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        guesser = from_address(client, "203.0.113.66")
        for n in range(8):
            sign_in(guesser, user.username, f"guess-{n}")
        assert sign_in(guesser, user.username) == 429
        assert sign_in(from_address(client, "198.51.100.7"), user.username) == 200

    def test_a_right_password_clears_the_failures_before_the_limit(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        for n in range(4):
            sign_in(client, user.username, f"guess-{n}")
        assert sign_in(client, user.username) == 200
        for n in range(4):
            sign_in(client, user.username, f"again-{n}")
        assert sign_in(client, user.username) == 200

    def test_the_lock_ends_after_a_quarter_of_an_hour(
        self, client: TestClient, session: Session, clock: Clock
    ) -> None:
        user = make_user(session, role="rep")
        for n in range(5):
            sign_in(client, user.username, f"guess-{n}")
        clock.now += timedelta(minutes=14)
        locked = client.post(TOKEN, data={"username": user.username, "password": PASSWORD})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) <= 60
        clock.now += timedelta(minutes=1, seconds=1)
        assert sign_in(client, user.username) == 200

    def test_an_unknown_username_is_locked_like_a_real_one(self, client: TestClient) -> None:
        """Whether the lock comes is no way to learn which accounts exist."""
        answers = [sign_in(client, "nobody-here", f"guess-{n}") for n in range(6)]
        assert answers == [401] * 5 + [429]


class TestAnAddressTryingManyAccounts:
    def test_twenty_failures_over_many_accounts_lock_every_sign_in_from_that_address(
        self, client: TestClient, session: Session
    ) -> None:
        sprayer = from_address(client, "203.0.113.9")
        for account in range(5):
            for n in range(4):  # under the limit of each (account, address)
                assert sign_in(sprayer, f"staff{account}", f"Summer2026!{n}") == 401
        someone = make_user(session, role="rep")
        assert sign_in(sprayer, someone.username) == 429
        assert sign_in(from_address(client, "198.51.100.7"), someone.username) == 200

    def test_an_ipv6_client_counts_as_its_whole_64(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role="rep")
        for n in range(5):
            sign_in(from_address(client, f"2001:db8:1:2::{n + 1:x}"), user.username, f"guess-{n}")
        assert sign_in(from_address(client, "2001:db8:1:2:ffff::1"), user.username) == 429
        assert sign_in(from_address(client, "2001:db8:1:3::1"), user.username) == 200


class TestAnAccountGuessedFromManyAddresses:
    def test_the_account_is_locked_for_new_addresses_but_not_where_its_owner_signs_in(
        self, client: TestClient, session: Session
    ) -> None:
        owner_desk = from_address(client, "192.0.2.10")
        user = make_user(session, role="rep")
        assert sign_in(owner_desk, user.username) == 200
        for address in range(5):  # a botnet: 4 guesses per address, under each pair's limit
            bot = from_address(client, f"203.0.113.{address + 1}")
            for n in range(4):
                assert sign_in(bot, user.username, f"guess-{address}-{n}") == 401

        assert sign_in(from_address(client, "203.0.113.200"), user.username) == 429
        assert sign_in(owner_desk, user.username) == 200


class TestCountedForEveryWorker:
    def test_failures_counted_by_one_worker_lock_the_account_in_another(self, fresh_engine: Engine) -> None:
        with session_scope(fresh_engine) as session:
            username = make_user(session, role="rep").username
        with committed_client(fresh_engine) as first, committed_client(fresh_engine) as second:
            assert [sign_in(first, username, f"guess-{n}") for n in range(5)] == [401] * 5
            assert sign_in(second, username) == 429


class TestTheDesk:
    def sign_in_at_the_desk(self, client: TestClient, username: str, password: str) -> Response:
        page = client.get("/login").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found
        return client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": found.group(1)},
            follow_redirects=False,
        )

    def test_the_lock_is_said_next_to_the_form_with_how_long_it_lasts(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        for n in range(5):
            self.sign_in_at_the_desk(client, user.username, f"guess-{n}")
        locked = self.sign_in_at_the_desk(client, user.username, PASSWORD)
        assert locked.status_code == 429
        assert 840 < int(locked.headers["retry-after"]) <= 900
        page = locked.text
        assert (
            'id="login-error"' in page and "Trop d&#39;échecs de connexion : réessayez dans 15 min." in page
        )
        assert 'action="/login"' in page and f'value="{user.username}"' in page

    def test_the_desk_and_the_api_count_the_same_failures(self, client: TestClient, session: Session) -> None:
        user = make_user(session, role="rep")
        for n in range(3):
            self.sign_in_at_the_desk(client, user.username, f"guess-{n}")
        for n in range(2):
            sign_in(client, user.username, f"guess-api-{n}")
        assert sign_in(client, user.username) == 429


class TestApiKeys:
    def test_unknown_keys_from_an_address_are_refused_for_a_while_and_a_valid_key_still_works(
        self, client: TestClient, session: Session
    ) -> None:
        scanner = from_address(client, "203.0.113.77")
        answers = [scanner.get("/api/v1/orders", headers={"X-API-Key": f"ck_guess{n}"}) for n in range(21)]
        assert [a.status_code for a in answers] == [401] * 20 + [429]
        assert answers[-1].headers["content-type"] == "application/problem+json"
        assert 840 < int(answers[-1].headers["retry-after"]) <= 900
        assert "unknown API keys" in answers[-1].json()["detail"]

        _, key = create_partner(session, name="Hub", customer_codes=[make_customer(session).code])
        assert scanner.get("/api/v1/orders", headers={"X-API-Key": key}).status_code == 200
        other = from_address(client, "198.51.100.7")
        assert other.get("/api/v1/orders", headers={"X-API-Key": "ck_guess"}).status_code == 401


class TestLiftingALock:
    def test_an_administrator_unlocks_the_account_from_the_desk(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, role="rep")
        for n in range(5):
            sign_in(client, user.username, f"guess-{n}")
        assert sign_in(client, user.username) == 429

        admin = make_user(session, role="admin")
        desk = from_address(client, "192.0.2.1")
        token = re.search(r'name="csrf_token" value="([^"]+)"', desk.get("/login").text)
        assert token
        desk.post("/login", data={"username": admin.username, "password": PASSWORD, "csrf_token": token[1]})
        done = desk.post(
            "/admin/users/unlock",
            data={"username": user.username, "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert sign_in(client, user.username) == 200


class TestRules:
    LIMIT = Limit(3, timedelta(minutes=15), timedelta(minutes=10))
    NOW = datetime(2026, 12, 9, 9, 0).astimezone()

    def test_failures_lock_at_the_limit_within_the_window(self) -> None:
        count = Count(0, None, None)
        for _ in range(3):
            count = after_failure(count, self.LIMIT, self.NOW)
        assert count == Count(3, self.NOW, self.NOW + timedelta(minutes=10))

    def test_a_window_that_has_passed_starts_again(self) -> None:
        earlier = Count(2, self.NOW - timedelta(minutes=16), None)
        assert after_failure(earlier, self.LIMIT, self.NOW) == Count(1, self.NOW, None)

    def test_after_a_lock_has_ended_counting_starts_again(self) -> None:
        ended = Count(3, self.NOW - timedelta(minutes=11), self.NOW - timedelta(minutes=1))
        assert after_failure(ended, self.LIMIT, self.NOW) == Count(1, self.NOW, None)

    @pytest.mark.parametrize(
        ("host", "counted_as"),
        [
            ("203.0.113.9", "203.0.113.9"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
            (None, "unknown"),
        ],
    )
    def test_a_client_is_counted_by_its_address_or_its_ipv6_64(
        self, host: str | None, counted_as: str
    ) -> None:
        assert client_address(host) == counted_as
