"""The server's log: a request id on every answer and every line about it, one access line per
request that names who called and never a secret, one JSON object per line for collectors."""

import logging
import sys
from collections.abc import Iterator

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.service import issue_token
from app.logs import JsonFormatter, PlainFormatter, request_id
from app.tracking.service import issue_link
from app.web.session import SESSION_COOKIE
from tests.builders import auth_headers, make_customer, make_product, make_user
from tests.delivery.fulfilment import order_of


def lines_of(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, object]]:
    return [record.fields for record in caplog.records if record.name == logger]  # type: ignore[attr-defined]


class TestRequestId:
    def test_a_sane_request_id_from_the_caller_is_kept_and_sent_back(self, client: TestClient) -> None:
        answer = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a:2026-11-20"})
        assert answer.headers["x-request-id"] == "lb-7f3a:2026-11-20"

    @pytest.mark.parametrize("given", ["", "two words", "x" * 129, "<script>", 'quote"d'])
    def test_any_other_is_replaced_by_a_new_one(self, client: TestClient, given: str) -> None:
        answer = client.get("/healthz", headers={"X-Request-ID": given})
        assert answer.headers["x-request-id"] != given
        assert len(answer.headers["x-request-id"]) == 32

    def test_each_request_without_one_gets_its_own(self, client: TestClient) -> None:
        ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
        assert len(ids) == 3


class TestAccessLines:
    def test_one_line_per_request_with_method_path_status_duration_and_its_id(
        self, client: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO, logger="carnet.access"):
            answer = client.get("/readyz?verbose=1")
        [line] = lines_of(caplog, "carnet.access")
        assert line["request_id"] == answer.headers["x-request-id"]
        assert (line["method"], line["path"], line["route"], line["status"]) == (
            "GET",
            "/readyz",
            "/readyz",
            200,
        )
        assert isinstance(line["duration_ms"], float) and line["client"] == "127.0.0.1"

    def test_the_desk_user_is_named_and_the_session_token_never_written(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        user = make_user(session, role="rep", username="odile")
        token = issue_token(user)
        client.cookies.set(SESSION_COOKIE, token)
        with caplog.at_level(logging.INFO, logger="carnet.access"):
            assert client.get("/orders").status_code == 200
        [line] = lines_of(caplog, "carnet.access")
        assert line["user"] == "odile"
        assert token not in caplog.text and token not in orjson.dumps(line).decode()

    def test_a_customers_status_link_is_logged_by_its_template_not_its_token(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        number = order_of(session, make_customer(session), (make_product(session), 1))
        token = issue_link(session, order_number=number, issued_by="rep")
        with caplog.at_level(logging.INFO, logger="carnet.access"):
            assert client.get(f"/status/{token}").status_code == 200
        [line] = lines_of(caplog, "carnet.access")
        assert line["path"] == "/status/{token}"
        assert token not in caplog.text

    def test_an_api_callers_bearer_token_is_never_written(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = auth_headers(session, role="rep")
        with caplog.at_level(logging.INFO):
            client.get("/api/v1/orders/CMD-2026-999999", headers=headers)
        assert headers["Authorization"].split()[1] not in caplog.text

    def test_the_route_template_names_the_routes_of_included_routers_and_mounts(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = auth_headers(session, role="rep")
        with caplog.at_level(logging.INFO, logger="carnet.access"):
            client.get("/api/v1/orders/CMD-2026-999999", headers=headers)
            client.get("/assets/no-such-file.css")
            client.get("/nowhere")
        assert [line["route"] for line in lines_of(caplog, "carnet.access")] == [
            "/api/v1/orders/{number}",
            "/assets/{path}",
            "unmatched",
        ]


class TestProblems:
    def test_a_problem_answer_is_logged_with_the_request_id_it_carries(
        self, client: TestClient, session: Session, caplog: pytest.LogCaptureFixture
    ) -> None:
        headers = auth_headers(session, role="rep")
        with caplog.at_level(logging.INFO, logger="carnet.problems"):
            answer = client.get("/api/v1/orders/CMD-2026-999999", headers=headers)
        assert answer.headers["content-type"] == "application/problem+json"
        [line] = lines_of(caplog, "carnet.problems")
        assert line["request_id"] == answer.headers["x-request-id"]
        assert (line["status"], line["type"]) == (404, answer.json()["type"])

    @pytest.fixture
    def failing(self, client: TestClient) -> Iterator[TestClient]:
        """The application with one route that fails as no one expected, answering instead of raising."""
        app = client.app
        assert isinstance(app, FastAPI)

        def broken() -> None:
            raise RuntimeError("the unexpected")

        app.add_api_route("/api/v1/broken", broken)
        with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as failing:
            yield failing

    def test_an_unexpected_error_answers_500_with_the_id_to_quote(
        self, failing: TestClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.INFO):
            answer = failing.get("/api/v1/broken", headers={"X-Request-ID": "ticket-4711"})
        assert answer.status_code == 500
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["x-request-id"] == "ticket-4711"
        assert "ticket-4711" in answer.json()["detail"]
        [access] = lines_of(caplog, "carnet.access")
        assert (access["status"], access["request_id"]) == (500, "ticket-4711")


def a_record(message: str, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("carnet.test", logging.WARNING, __file__, 1, message, None, None)
    record.fields = fields
    return record


class TestFormats:
    def test_json_is_one_object_per_line_with_the_fields_and_the_traceback(self) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord(
                "carnet.test", logging.ERROR, __file__, 1, "it failed", None, sys.exc_info()
            )
        record.fields = {"status": 500}
        token = request_id.set("abc123")
        try:
            text = JsonFormatter().format(record)
        finally:
            request_id.reset(token)
        assert "\n" not in text
        line = orjson.loads(text)
        assert (line["level"], line["logger"], line["message"]) == ("error", "carnet.test", "it failed")
        assert (line["request_id"], line["status"]) == ("abc123", 500)
        assert "ValueError: boom" in line["error"] and line["time"].endswith("+00:00")

    def test_plain_text_is_the_message_and_the_request_id(self) -> None:
        text = PlainFormatter().format(a_record("GET /orders 200 3.1 ms user odile", request_id="abc123"))
        assert text.endswith("WARNING GET /orders 200 3.1 ms user odile  [abc123]")
