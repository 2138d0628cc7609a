"""Who may call what: every route of the API and of the desk, for every role, a partner and nobody.

`API` and `DESK` name, route by route, the callers allowed; a route missing from them fails the test, so
a new route cannot ship without its line here. A caller not allowed gets 401 (nobody) or 403 on the API,
and the sign-in page (nobody) or 403 on the desk; an allowed caller gets anything else (the ids in the
paths name nothing, so a 404 or a 422 is an answer past the door). Partners are checked against each
other's data at the end."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.edi.partners import create_partner
from app.web.routes import PAGES
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user
from tests.web.test_desk_pages import csrf_of

ROLES = ("admin", "rep", "warehouse", "finance", "supplier")
EVERYONE = frozenset((*ROLES, "partner", "anonymous"))
SIGNED_IN = EVERYONE - {"anonymous"}
PEOPLE = frozenset(ROLES)  # every person signed in, no partner

ADMIN = frozenset({"admin"})
REPS = frozenset({"admin", "rep"})
WAREHOUSE = frozenset({"admin", "warehouse"})
FINANCE = frozenset({"admin", "finance"})
SHOP_FLOOR = frozenset({"admin", "rep", "warehouse"})
STAFF = frozenset({"admin", "rep", "warehouse", "finance"})
ORDER_TAKERS = REPS | {"partner"}
EDI_READERS = REPS | {"partner"}

API: dict[str, frozenset[str]] = {
    "POST /api/v1/auth/token": EVERYONE,
    "POST /api/v1/auth/sign-out": PEOPLE,  # a partner's key is revoked by an admin, not signed out
    "GET /api/v1/system": EVERYONE,
    "GET /api/v1/metrics": EVERYONE,  # from the loopback, as in these tests (see tests/test_metrics.py)
    "POST /api/v1/customers": ADMIN,
    "GET /api/v1/customers": STAFF | {"partner"},
    "GET /api/v1/customers/{code}": STAFF | {"partner"},
    "POST /api/v1/products": ADMIN,
    "GET /api/v1/products": SIGNED_IN,
    "GET /api/v1/products/{code}": SIGNED_IN,
    "POST /api/v1/orders": ORDER_TAKERS,
    "GET /api/v1/orders": STAFF | {"partner"},
    "GET /api/v1/orders/{number}": STAFF | {"partner"},
    "POST /api/v1/orders/{number}/cancel": REPS,
    "POST /api/v1/orders/{number}/accept": REPS,
    "GET /api/v1/delivery-notes/{number}": SHOP_FLOOR,
    "GET /api/v1/delivery-notes/{number}/pdf": SHOP_FLOOR,
    "POST /api/v1/delivery-notes/{number}/print": SHOP_FLOOR,
    "POST /api/v1/delivery-notes/print": SHOP_FLOOR,
    "GET /api/v1/picking-list": SHOP_FLOOR,
    "GET /api/v1/backorders": SHOP_FLOOR,
    "POST /api/v1/orders/{number}/lines/{line_no}/close": SHOP_FLOOR,
    "POST /api/v1/stock-corrections": WAREHOUSE,
    "POST /api/v1/stock-receipts": WAREHOUSE,
    "POST /api/v1/orders/{number}/deliveries": WAREHOUSE,
    "POST /api/v1/delivery-notes/{number}/void": WAREHOUSE,
    "POST /api/v1/returns": REPS,
    "POST /api/v1/returns/{number}/cancel": REPS | {"finance"},
    "GET /api/v1/returns/{number}": STAFF,
    "GET /api/v1/deferred-documents": FINANCE,
    "GET /api/v1/deferred-documents/{key}": FINANCE,
    "GET /api/v1/deferred-documents/{key}/pdf": FINANCE,
    "POST /api/v1/edi/interchanges": ADMIN | {"partner"},
    "GET /api/v1/edi/interchanges": EDI_READERS,
    "POST /api/v1/edi/interchanges/{interchange_id}/reprocess": ADMIN,
    "GET /api/v1/edi/interchanges/{interchange_id}": EDI_READERS,
    "GET /api/v1/edi/interchanges/{interchange_id}/raw": ADMIN,
    "GET /api/v1/edi/interchanges/{interchange_id}/acknowledgments": EDI_READERS,
    "GET /api/v1/edi/interchanges/{interchange_id}/acknowledgments/{acknowledgment_id}": EDI_READERS,
    "GET /api/v1/edi/orders": EDI_READERS,
    "GET /api/v1/edi/outbox": EDI_READERS,
    "POST /api/v1/edi/partners/{name}/parties": ADMIN,
    "GET /api/v1/edi/partners/{name}/parties": ADMIN,
    "POST /api/v1/edi/partners/{name}/items": ADMIN,
    "GET /api/v1/edi/partners/{name}/items": ADMIN,
    "PUT /api/v1/edi/partners/{name}/csv-profile": ADMIN,
    "GET /api/v1/edi/partners/{name}/csv-profile": ADMIN,
    "PUT /api/v1/edi/partners/{name}/profile": ADMIN,
    "GET /api/v1/edi/partners/{name}/profile": ADMIN,
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/map": REPS,
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/correct": REPS,
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/remove": REPS,
    "POST /api/v1/email/messages": REPS,
    "GET /api/v1/email/messages": REPS,
    "GET /api/v1/email/messages/{message_id}": REPS,
    "POST /api/v1/incidents": ADMIN,
    "GET /api/v1/incidents": STAFF,  # partners read the mode and dates in GET /system
    "GET /api/v1/incidents/{incident_id}": STAFF,
    "POST /api/v1/incidents/{incident_id}/end": ADMIN,
    "GET /api/v1/incidents/{incident_id}/report": FINANCE,
    "POST /api/v1/replay-runs": FINANCE,
    "GET /api/v1/replay-runs": FINANCE,
    "GET /api/v1/replay-runs/{run_id}": FINANCE,
    "GET /api/v1/replay-runs/{run_id}/report": FINANCE,
    "GET /api/v1/replay-items": FINANCE,
    "POST /api/v1/replay-items/{item_id}/retry": FINANCE,
    "POST /api/v1/replay-items/scope": FINANCE,
    "POST /api/v1/replay-items/{item_id}/resolve": FINANCE,
    "GET /api/v1/suppliers/{code}/report": FINANCE | {"supplier"},
    "GET /api/v1/audit-records": ADMIN,
    "GET /api/v1/audit-records/export": ADMIN,
}

# A body each route accepts as far as its door: the role is checked once the body is read.
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/customers": {
        "json": {
            "code": "MX1",
            "name": "Librairie du Port",
            "billing_address": {"street": "1 quai", "postal_code": "29200", "city": "Brest"},
        }
    },
    "POST /api/v1/products": {
        "json": {"code": "PX1", "name": "Le Horla", "unit_price": "10.00", "vat_rate": "5.5"}
    },
    "POST /api/v1/orders": {
        "json": {
            "customer_code": "NOPE",
            "channel": "phone",
            "lines": [{"product_code": "NOPE", "quantity": 1}],
        }
    },
    "POST /api/v1/delivery-notes/print": {"json": {"numbers": ["BL-NOPE"]}},
    "POST /api/v1/stock-corrections": {"json": {"product_code": "NOPE", "counted": 1, "reason": "count"}},
    "POST /api/v1/stock-receipts": {"json": {"lines": [{"product_code": "NOPE", "quantity": 1}]}},
    "POST /api/v1/returns": {
        "json": {"customer_code": "NOPE", "lines": [{"product_code": "NOPE", "quantity": 1}]}
    },
    "POST /api/v1/returns/{number}/cancel": {"json": {"reason": "keyed twice"}},
    "POST /api/v1/edi/interchanges": {
        "content": b"not EDI",
        "headers": {"Content-Type": "application/EDIFACT"},
    },
    "POST /api/v1/edi/partners/{name}/parties": {
        "json": {"party_id": "5412345000013", "customer_code": "NOPE"}
    },
    "POST /api/v1/edi/partners/{name}/items": {"json": {"item_id": "X", "product_code": "NOPE"}},
    "PUT /api/v1/edi/partners/{name}/csv-profile": {"json": {"name": "generic"}},
    "PUT /api/v1/edi/partners/{name}/profile": {"json": {}},
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/map": {
        "json": {"product_code": "NOPE", "reason": "same title"}
    },
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/correct": {
        "json": {"quantity": 1, "reason": "typo"}
    },
    "POST /api/v1/edi/orders/{number}/unresolved-lines/{line_id}/remove": {"json": {"reason": "unknown"}},
    "POST /api/v1/email/messages": {
        "content": b"From: a@example.fr\r\nSubject: order\r\n\r\n2 x Le Horla",
        "headers": {"Content-Type": "message/rfc822"},
    },
    "POST /api/v1/incidents": {"json": {"reason": "ransomware"}},
    "POST /api/v1/replay-runs": {"json": {"dry_run": True}},
    "POST /api/v1/replay-items/scope": {"json": {}},
    "POST /api/v1/replay-items/{item_id}/resolve": {"json": {"outcome": "keyed", "reason": "keyed by hand"}},
    "GET /api/v1/suppliers/{code}/report": {"params": {"from": "2026-01-01", "to": "2026-01-31"}},
}

DESK: dict[str, frozenset[str]] = {
    "GET /": EVERYONE,  # to the sign-in page, or to the person's first page
    "GET /login": EVERYONE,
    "POST /login": EVERYONE,
    "POST /logout": EVERYONE,
    "GET /lang/{lang}": EVERYONE,
    "GET /status/{token}": EVERYONE,  # a customer's link: the token is the key
    "GET /orders/new": REPS,
    "POST /orders/new": REPS,
    "GET /orders/new/customers": REPS,
    "GET /orders/new/products": REPS,
    "GET /orders": STAFF,
    "GET /orders/{number}": STAFF,
    "POST /orders/{number}/cancel": REPS,
    "POST /orders/{number}/accept": REPS,
    "POST /orders/{number}/status-link": REPS,
    "POST /orders/{number}/lines/{line_no}/close": SHOP_FLOOR,
    "POST /orders/{number}/unresolved-lines/{line_id}": REPS,
    "GET /returns/new": REPS,
    "POST /returns/new": REPS,
    "GET /returns/{number}": REPS,
    "POST /returns/{number}/cancel": REPS,
    "GET /inbox": REPS,
    "GET /inbox/{message_id}": REPS,
    "GET /inbox/{message_id}/attachments/{attachment_id}": REPS,
    "POST /inbox/{message_id}/take": REPS,
    "POST /inbox/{message_id}/not-an-order": REPS,
    "GET /edi": REPS,
    "GET /edi/{interchange_id}": REPS,
    "GET /edi/{interchange_id}/raw": ADMIN,
    "POST /edi/{interchange_id}/parties": ADMIN,
    "POST /edi/{interchange_id}/resubmit": ADMIN,
    "GET /edi/{interchange_id}/acknowledgments/{acknowledgment_id}": REPS,
    "GET /warehouse": WAREHOUSE,
    "GET /warehouse/orders/{number}": WAREHOUSE,
    "POST /warehouse/orders/{number}/ship": WAREHOUSE,
    "GET /warehouse/picking-list": WAREHOUSE,
    "GET /warehouse/notes/{number}/preview": WAREHOUSE,
    "POST /warehouse/notes/{number}/print": WAREHOUSE,
    "POST /warehouse/print": WAREHOUSE,
    "POST /warehouse/stock-count": WAREHOUSE,
    "GET /finance": FINANCE,
    "GET /finance/documents": FINANCE,
    "GET /finance/documents/{key}.pdf": FINANCE,
    "GET /finance/runs": FINANCE,
    "POST /finance/runs": FINANCE,
    "GET /finance/runs/{run_id}/report.pdf": FINANCE,
    "GET /finance/runs/{run_id}/report.csv": FINANCE,
    "POST /finance/items/{item_id}/resolve": FINANCE,
    "POST /finance/scope": FINANCE,
    "GET /supplier": FINANCE | {"supplier"},
    "GET /supplier/report.{output}": FINANCE | {"supplier"},
    "GET /admin": ADMIN,
    "POST /admin/incidents": ADMIN,
    "POST /admin/incidents/{incident_id}/end": ADMIN,
    "POST /admin/imports": ADMIN,
    "POST /admin/users": ADMIN,
    "POST /admin/users/{change}": ADMIN,
    "POST /admin/partners": ADMIN,
    "GET /admin/audit": ADMIN,
    "GET /admin/audit/export.{fmt}": ADMIN,
}
DESK_PUBLIC = {route for route, callers in DESK.items() if callers == EVERYONE}


def api_routes(client: TestClient) -> list[str]:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return [
        f"{method.upper()} {path}"
        for path, methods in paths.items()
        if path.startswith("/api/v1/")
        for method in methods
    ]


def desk_routes() -> list[str]:
    return [
        f"{method} {route.path}"
        for module in PAGES
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def url_of(route: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", route.split(" ", 1)[1])


@pytest.fixture
def callers(session: Session) -> dict[str, dict[str, str]]:
    customer = make_customer(session)
    _, key = create_partner(session, name="Matrix hub", customer_codes=[customer.code])
    people = {
        role: auth_headers(session, role=role, supplier_code="GALL" if role == "supplier" else None)
        for role in ROLES
    }
    return {**people, "partner": {"X-API-Key": key}, "anonymous": {}}


def test_every_route_has_its_line_in_the_matrix(client: TestClient) -> None:
    assert set(api_routes(client)) == set(API), "API routes and the matrix differ"
    assert set(desk_routes()) == set(DESK), "desk routes and the matrix differ"


def test_each_api_route_lets_in_exactly_its_callers(
    client: TestClient, session: Session, callers: dict[str, dict[str, str]]
) -> None:
    wrong = []
    for route in api_routes(client):
        method = route.split(" ", 1)[0]
        request = dict(BODIES.get(route, {}))
        headers = request.pop("headers", {})
        for caller, credentials in callers.items():
            with session.begin_nested() as attempt:  # what an allowed caller did is undone
                status = client.request(
                    method, url_of(route), headers={**credentials, **headers}, **request
                ).status_code
                attempt.rollback()
            allowed = caller in API.get(route, frozenset())
            expected_refusal = 401 if caller == "anonymous" else 403
            if (allowed and status in (401, 403)) or (not allowed and status != expected_refusal):
                wrong.append(f"{route} as {caller}: {status}")
    assert not wrong, "\n".join(wrong)


@pytest.fixture
def desk_callers(client: TestClient, session: Session) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """A browser per role, signed in, with the token its forms carry; and one signed in as nobody."""
    browsers = {}
    for caller in (*ROLES, "anonymous"):
        browser = TestClient(client.app, client=("127.0.0.1", 50001))
        token = csrf_of(browser.get("/login").text)
        if caller != "anonymous":
            user = make_user(session, role=caller, supplier_code="GALL" if caller == "supplier" else None)
            signed_in = browser.post(
                "/login",
                data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                follow_redirects=False,
            )
            assert signed_in.status_code == 303
        browsers[caller] = (browser, token)
    yield browsers
    for browser, _ in browsers.values():
        browser.close()


def test_each_desk_page_lets_in_exactly_its_people(
    session: Session, desk_callers: dict[str, tuple[TestClient, str]]
) -> None:
    wrong = []
    for route in desk_routes():
        if route in DESK_PUBLIC:
            continue  # signing in and out, the language, a customer's status page: see their own tests
        method = route.split(" ", 1)[0]
        for caller, (browser, token) in desk_callers.items():
            with session.begin_nested() as attempt:
                answer = (
                    browser.get(url_of(route), follow_redirects=False)
                    if method == "GET"
                    else browser.post(url_of(route), data={"csrf_token": token}, follow_redirects=False)
                )
                attempt.rollback()
            to_sign_in = answer.status_code == 303 and answer.headers["location"].startswith("/login")
            if caller in DESK.get(route, frozenset()):
                ok = answer.status_code != 403 and not to_sign_in
            else:
                ok = to_sign_in if caller == "anonymous" else answer.status_code == 403
            if not ok:
                wrong.append(f"{route} as {caller}: {answer.status_code}")
    assert not wrong, "\n".join(wrong)


def test_a_partner_sees_and_touches_nothing_of_another_partners_customers(
    client: TestClient, session: Session
) -> None:
    ours, theirs = make_customer(session), make_customer(session)
    product = make_product(session)
    _, our_key = create_partner(session, name="Our hub", customer_codes=[ours.code])
    _, their_key = create_partner(session, name="Their hub", customer_codes=[theirs.code])
    us, them = {"X-API-Key": our_key}, {"X-API-Key": their_key}
    lines = [{"product_code": product.code, "quantity": 1}]
    order = client.post(
        "/api/v1/orders", json={"customer_code": theirs.code, "channel": "api", "lines": lines}, headers=them
    )
    assert order.status_code == 201, order.text
    number = order.json()["number"]

    assert client.get(f"/api/v1/orders/{number}", headers=them).status_code == 200
    assert client.get(f"/api/v1/orders/{number}", headers=us).status_code == 404
    assert number not in {o["number"] for o in client.get("/api/v1/orders", headers=us).json()["items"]}
    assert client.get(f"/api/v1/customers/{theirs.code}", headers=us).status_code == 404
    assert theirs.code not in {c["code"] for c in client.get("/api/v1/customers", headers=us).json()["items"]}
    assert client.get("/api/v1/edi/orders", headers=us).json()["items"] == []
    ordered_for_them = client.post(
        "/api/v1/orders", json={"customer_code": theirs.code, "channel": "api", "lines": lines}, headers=us
    )
    assert ordered_for_them.status_code in (403, 404, 422), ordered_for_them.text
    assert client.get("/api/v1/orders", headers=them).json()["items"][0]["number"] == number
