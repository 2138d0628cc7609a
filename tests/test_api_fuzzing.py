"""The API against its own schema: schemathesis generates requests for every documented operation
from its OpenAPI document and sends them with a token for each role, a partner's key and nothing.
No answer is a 5xx, and every answer matches what the schema documents (status codes, content types,
bodies)."""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    ignored_auth,
    positive_data_acceptance,
)
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.edi.partners import create_partner
from app.main import create_app
from tests.builders import auth_headers, make_customer
from tests.conftest import serve_from
from tests.test_authorization_matrix import API, EVERYONE

# Whether a valid request is accepted depends on the role and the data (a customer that exists): that
# belongs to each use case's own tests. Authentication is checked route by route, for every role and
# none, by tests/test_authorization_matrix.py; schemathesis's own check would re-send our callers'
# credentials. And `GET /delivery-notes/{number}` also answers `GET /delivery-notes/print` (a 404:
# no note has that number), so the Allow header of that path rightly names GET.
EXCLUDED = [positive_data_acceptance, ignored_auth]
ROLES = ("admin", "rep", "warehouse", "finance", "supplier")
CALLERS = (*ROLES, "partner", "anonymous")
schemathesis.serializer.alias("message/rfc822", "text/plain")  # a raw email, sent as it is
APP = create_app()
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture
def client(session: Session, engine: Engine) -> Iterator[TestClient]:
    """The schema's own app (some checks send requests of their own through it) on the test's session."""
    serve_from(APP, session, engine)
    try:
        with TestClient(APP, client=("127.0.0.1", 50000)) as test_client:
            yield test_client
    finally:
        APP.dependency_overrides.clear()


@pytest.fixture
def callers(session: Session) -> dict[str, dict[str, str]]:
    customer = make_customer(session)
    _, key = create_partner(session, name="Fuzz hub", customer_codes=[customer.code])
    users = {
        role: auth_headers(session, role=role, supplier_code="GALL" if role == "supplier" else None)
        for role in ROLES
    }
    return {**users, "partner": {"X-API-Key": key}, "anonymous": {}}


def callers_of(operation: str) -> list[str]:
    """Every caller the operation lets in, and two it turns away (nobody, and one signed in when there
    is one), whose refusals must match the schema too; the authorization matrix tries the others."""
    door = API.get(operation, EVERYONE)  # the probes outside /api/v1 (/healthz, /metrics) are public
    allowed = [caller for caller in CALLERS if caller in door]
    refused = [caller for caller in CALLERS if caller not in door]
    signed_in = [caller for caller in refused if caller != "anonymous"]
    return allowed + signed_in[:1] + (["anonymous"] if "anonymous" in refused else [])


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, client: TestClient, callers: dict[str, dict[str, str]]
) -> None:
    for caller in callers_of(f"{case.method.upper()} {case.path}"):
        request: dict[str, Any] = case.as_transport_kwargs(
            base_url=str(client.base_url), headers=callers[caller]
        )
        response = client.request(**request)
        print_path = case.path == "/api/v1/delivery-notes/print"
        excluded = EXCLUDED + ([allow_header_conformance] if print_path else [])
        case.validate_response(response, transport_kwargs=request, excluded_checks=excluded)
