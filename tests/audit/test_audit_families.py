"""Each family of changes leaves exactly its record in the audit trail, naming who did it (a user over
the API or at the desk, a partner, Carnet itself, the command line); a refused write leaves none."""

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app.audit.models import Action, AuditRecord
from app.audit.service import verify
from app.auth.models import User
from app.cli import main
from app.config import get_settings
from app.db import session_scope
from app.replay.routes import get_launcher
from app.replay.runs import execute_run
from tests.builders import PASSWORD, make_customer, make_product, make_user
from tests.delivery.fulfilment import order_of
from tests.edi.edi_builders import Line, make_hub, order_edifact
from tests.replay.committed_app import committed_client
from tests.replay.erp_double import ErpDouble
from tests.replay.replay_data import capture, catalogue
from tests.replay.test_engine import settings
from tests.web.test_desk_pages import csrf_of

CLIENT = "127.0.0.1"  # the test client's address (tests/conftest.py)


@dataclass(frozen=True)
class Seen:
    """A record as the tests compare it."""

    action: str
    actor_kind: str
    actor_name: str
    subject: str
    ref: str


class Trail:
    """The records committed since the last look. The test's session stands for the writer's: its
    records are chained when it commits, as a batch's are."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.seen = 0
        self.since()

    def since(self) -> list[Seen]:
        self.session.commit()
        rows = self.session.scalars(
            select(AuditRecord).where(AuditRecord.id > self.seen).order_by(AuditRecord.id)
        )
        found = [Seen(r.action, r.actor_kind, r.actor_name, r.subject_kind, r.subject_ref) for r in rows]
        self.seen += len(found)
        return found

    def record(self, ref: str) -> AuditRecord:
        return self.session.scalars(select(AuditRecord).where(AuditRecord.subject_ref == ref)).one()


def bearer(client: TestClient, user: User) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def trail(session: Session) -> Trail:
    return Trail(session)


@pytest.fixture
def rep(session: Session) -> User:
    return make_user(session, role="rep", username="rita")


@pytest.fixture
def rep_headers(client: TestClient, session: Session, rep: User, trail: Trail) -> dict[str, str]:
    headers = bearer(client, rep)
    trail.since()  # the sign-in
    return headers


class TestSignIn:
    def test_a_token_issued_is_recorded_as_the_users_sign_in(
        self, client: TestClient, trail: Trail, rep: User
    ) -> None:
        bearer(client, rep)
        assert trail.since() == [Seen(Action.SIGNED_IN, "user", "rita", "user", "rita")]
        assert trail.record("rita").actor_id == rep.id
        assert trail.record("rita").details == {"via": "api", "client": CLIENT}

    def test_a_wrong_password_is_recorded_as_an_unknown_callers_failure(
        self, client: TestClient, trail: Trail, rep: User
    ) -> None:
        answer = client.post("/api/v1/auth/token", data={"username": "rita", "password": "not the one"})
        assert answer.status_code == 401
        assert trail.since() == [Seen(Action.SIGN_IN_FAILED, "anonymous", CLIENT, "user", "rita")]

    def test_a_desk_sign_in_and_a_failed_one_are_recorded(
        self, client: TestClient, trail: Trail, rep: User
    ) -> None:
        token = csrf_of(client.get("/login").text)
        refused = client.post("/login", data={"username": "rita", "password": "nope", "csrf_token": token})
        assert refused.status_code == 401 and "Identifiant ou mot de passe incorrect" in refused.text
        signed = client.post(
            "/login",
            data={"username": "rita", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert trail.since() == [
            Seen(Action.SIGN_IN_FAILED, "anonymous", CLIENT, "user", "rita"),
            Seen(Action.SIGNED_IN, "user", "rita", "user", "rita"),
        ]

    def test_a_sign_out_everywhere_is_recorded(self, client: TestClient, trail: Trail, rep: User) -> None:
        headers = bearer(client, rep)
        trail.since()
        assert client.post("/api/v1/auth/sign-out", headers=headers).status_code == 204
        assert trail.since() == [Seen(Action.SIGNED_OUT, "user", "rita", "user", "rita")]

    def test_an_admins_change_of_role_is_recorded_and_a_refused_one_is_not(
        self, client: TestClient, session: Session, trail: Trail, rep: User
    ) -> None:
        make_user(session, role="admin", username="ada")
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
        trail.since()
        form = {"csrf_token": token, "username": "rita"}
        refused = client.post("/admin/users/role", data={**form, "role": "emperor"}, follow_redirects=False)
        assert refused.status_code == 422
        changed = client.post("/admin/users/role", data={**form, "role": "finance"}, follow_redirects=False)
        assert changed.status_code == 303
        assert trail.since() == [Seen(Action.USER_CHANGED, "user", "ada", "user", "rita")]
        assert trail.record("rita").details == {"change": "role", "role": "finance"}


class TestOrders:
    def test_an_order_captured_over_the_api_is_recorded_with_its_rep(
        self, client: TestClient, session: Session, trail: Trail, rep_headers: dict[str, str]
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {
            "customer_code": customer.code,
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 2}],
        }
        number = client.post("/api/v1/orders", json=body, headers=rep_headers).json()["number"]

        assert trail.since() == [Seen(Action.ORDER_CAPTURED, "user", "rita", "order", number)]
        details = trail.record(number).details
        assert (details["customer"], details["channel"], details["lines"], details["gross"]) == (
            customer.code,
            "phone",
            1,
            "24.00",
        )

    def test_an_order_refused_leaves_no_record(
        self, client: TestClient, session: Session, trail: Trail, rep_headers: dict[str, str]
    ) -> None:
        product = make_product(session)
        body = {
            "customer_code": "NOBODY",
            "channel": "phone",
            "lines": [{"product_code": product.code, "quantity": 1}],
        }
        assert client.post("/api/v1/orders", json=body, headers=rep_headers).status_code == 422
        assert trail.since() == []

    def test_an_order_cancelled_is_recorded_and_a_refused_cancel_is_not(
        self, client: TestClient, session: Session, trail: Trail, rep_headers: dict[str, str]
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 1))
        assert [seen.action for seen in trail.since()] == [Action.ORDER_CAPTURED]

        assert client.post(f"/api/v1/orders/{number}/cancel", headers=rep_headers).status_code == 200
        assert trail.since() == [Seen(Action.ORDER_CANCELLED, "user", "rita", "order", number)]
        warehouse = bearer(client, make_user(session, role="warehouse"))
        trail.since()
        answer = client.post(f"/api/v1/orders/{number}/deliveries", headers=warehouse)
        assert answer.status_code == 409
        assert trail.since() == []

    def test_an_edi_order_is_recorded_as_captured_by_its_partner_and_reviewed_by_the_rep(
        self, client: TestClient, session: Session, trail: Trail, rep_headers: dict[str, str]
    ) -> None:
        hub = make_hub(session, name="Dilicom")
        known = make_product(session)
        assert known.gtin
        trail.since()
        posted = client.post(
            "/api/v1/edi/interchanges",
            content=order_edifact([Line(known.gtin, 1), Line("UNKNOWN-7", 3, qualifier="IN")]),
            headers={"X-API-Key": hub.key, "Content-Type": "application/edifact"},
        )
        assert posted.status_code == 201, posted.text
        [number] = posted.json()["orders"]
        assert trail.since() == [Seen(Action.ORDER_CAPTURED, "partner", "Dilicom", "order", number)]

        order = client.get(f"/api/v1/orders/{number}", headers=rep_headers).json()
        [line] = order["unresolved_lines"]
        removed = client.post(
            f"/api/v1/edi/orders/{number}/unresolved-lines/{line['id']}/remove",
            json={"reason": "not ours"},
            headers=rep_headers,
        )
        assert removed.status_code == 200, removed.text
        assert trail.since() == [
            Seen(Action.ORDER_LINE_REMOVED, "user", "rita", "order", number),
            Seen(Action.ORDER_ACCEPTED, "user", "rita", "order", number),
        ]


class TestFulfilment:
    def test_a_shipment_its_print_and_its_void_are_recorded_with_the_warehouse(
        self, client: TestClient, session: Session, trail: Trail
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        number = order_of(session, customer, (product, 2))
        warehouse = bearer(client, make_user(session, role="warehouse", username="wally"))
        trail.since()

        note = client.post(f"/api/v1/orders/{number}/deliveries", headers=warehouse).json()["number"]
        assert client.post(f"/api/v1/delivery-notes/{note}/print", headers=warehouse).status_code == 200
        assert client.get(f"/api/v1/delivery-notes/{note}/pdf", headers=warehouse).status_code == 200
        assert client.post(f"/api/v1/delivery-notes/{note}/void", headers=warehouse).status_code == 200
        assert client.post(f"/api/v1/delivery-notes/{note}/void", headers=warehouse).status_code == 409

        assert trail.since() == [
            Seen(Action.DELIVERY_NOTE_ISSUED, "user", "wally", "delivery_note", note),
            Seen(Action.DELIVERY_NOTE_PRINTED, "user", "wally", "delivery_note", note),
            Seen(Action.DELIVERY_NOTE_VOIDED, "user", "wally", "delivery_note", note),
        ]
        admin = bearer(client, make_user(session, role="admin", username="ada"))
        by_order = client.get("/api/v1/audit-records", params={"ref": number}, headers=admin).json()["items"]
        assert {item["action"] for item in by_order} >= {
            "delivery_note.issued",
            "delivery_note.printed",
            "delivery_note.voided",
        }

    def test_a_return_is_recorded_with_its_credit_note(
        self, client: TestClient, session: Session, trail: Trail, rep_headers: dict[str, str]
    ) -> None:
        customer, product = make_customer(session), make_product(session)
        body = {"customer_code": customer.code, "lines": [{"product_code": product.code, "quantity": 1}]}
        answer = client.post("/api/v1/returns", json=body, headers=rep_headers)
        assert answer.status_code == 201, answer.text
        number = answer.json()["number"]

        assert trail.since() == [Seen(Action.RETURN_RECORDED, "user", "rita", "return", number)]
        assert trail.record(number).details["credit_note"] == answer.json()["credit_note"]["reference"]


class TestAdministration:
    def test_an_incident_started_and_ended_by_an_admin_is_recorded_and_a_refused_one_is_not(
        self, client: TestClient, session: Session, trail: Trail
    ) -> None:
        admin = bearer(client, make_user(session, role="admin", username="ada"))
        trail.since()
        incident = client.post("/api/v1/incidents", json={"reason": "ERP down"}, headers=admin).json()["id"]
        assert client.post("/api/v1/incidents", json={"reason": "again"}, headers=admin).status_code == 409
        assert client.post(f"/api/v1/incidents/{incident}/end", headers=admin).status_code == 200

        assert trail.since() == [
            Seen(Action.INCIDENT_STARTED, "user", "ada", "incident", str(incident)),
            Seen(Action.INCIDENT_ENDED, "user", "ada", "incident", str(incident)),
        ]

    def test_a_user_created_at_the_desk_is_recorded_with_its_admin_and_a_refused_one_is_not(
        self, client: TestClient, session: Session, trail: Trail
    ) -> None:
        make_user(session, role="admin", username="ada")
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
        trail.since()
        form = {"csrf_token": token, "username": "paul", "role": "warehouse"}
        assert client.post("/admin/users", data={**form, "password": "short"}).status_code == 422
        created = client.post("/admin/users", data={**form, "password": PASSWORD}, follow_redirects=False)
        assert created.status_code == 303

        assert trail.since() == [Seen(Action.USER_CREATED, "user", "ada", "user", "paul")]
        assert trail.record("paul").details == {"role": "warehouse"}

    def test_a_master_data_import_and_a_mapping_are_recorded(
        self, client: TestClient, session: Session, trail: Trail
    ) -> None:
        make_user(session, role="admin", username="ada")
        hub = make_hub(session, name="Hub A")
        product = make_product(session)
        token = csrf_of(client.get("/login").text)
        client.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token})
        trail.since()
        client.post(
            "/admin/imports",
            data={"csrf_token": token, "kind": "products", "as_of": ""},
            files={"file": ("articles.csv", b"code;nom;prix;tva\nART-1;Atlas;12,50;5,5\n", "text/csv")},
        )
        admin = bearer(client, session.scalars(select(User).where(User.username == "ada")).one())
        mapped = client.post(
            f"/api/v1/edi/partners/{hub.partner.name}/items",
            json={"item_id": "ITEM-9", "product_code": product.code},
            headers=admin,
        )
        assert mapped.status_code == 201, mapped.text

        seen = trail.since()
        assert [(s.action, s.actor_name, s.subject) for s in seen] == [
            (Action.MASTER_DATA_IMPORTED, "ada", "snapshot_import"),
            (Action.SIGNED_IN, "ada", "user"),
            (Action.ITEM_MAPPED, "ada", "partner"),
        ]


def test_the_command_line_is_recorded_as_such(cli_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "create", "nina", "--role", "rep"]) == 0
    with session_scope(cli_engine, write=False) as session:
        [row] = session.scalars(select(AuditRecord)).all()
    assert (row.action, row.actor_kind, row.actor_id, row.subject_ref) == (
        Action.USER_CREATED,
        "command_line",
        None,
        "nina",
    )


@pytest.fixture
def erp_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CARNET_ERP_URL", "http://erp.invalid")
    monkeypatch.setenv("CARNET_ERP_SECRET", "secret")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("erp_configured")
def test_a_replay_run_is_recorded_with_who_started_it_and_each_document_the_erp_acknowledged(
    fresh_engine: Engine,
) -> None:
    """A real writer and the run's own workers commit concurrently: the chain still holds."""
    erp = ErpDouble()

    def run_now(run_id: int, engine: Engine) -> None:
        execute_run(run_id, engine=engine, settings=settings(), connector_factory=erp.connector)

    with session_scope(fresh_engine) as session:
        data = capture(session, catalogue(session), orders=2, credit_every=2)
        finance = make_user(session, role="finance", username="fiona")
    with committed_client(fresh_engine, {get_launcher: lambda: run_now}) as api:
        headers = bearer(api, finance)
        started = api.post("/api/v1/replay-runs", json={"dry_run": False}, headers=headers)
        assert started.status_code == 202, started.text
        run = api.get(f"/api/v1/replay-runs/{started.json()['id']}", headers=headers).json()
        assert run["status"] == "completed"

    with session_scope(fresh_engine, write=False) as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        verdict = verify(session)
    replayed = [r for r in rows if r.action.startswith("replay.")]
    assert [(r.action, r.actor_kind, r.actor_name) for r in replayed[:1]] == [
        (Action.REPLAY_RUN_STARTED, "user", "fiona")
    ]
    acknowledged = [r for r in replayed if r.action == Action.DOCUMENT_ACKNOWLEDGED]
    assert len(acknowledged) == data.documents == len(erp.arrivals)
    assert {(r.actor_kind, r.details["run"]) for r in acknowledged} == {("system", run["id"])}
    assert verdict.intact
