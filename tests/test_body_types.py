"""A body is read only in the media types its route says it reads: anything else is 415, as problem
details naming what the route reads (EDI interchanges, e-mail messages, JSON, the token's form)."""

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from app.edi.routes import INTERCHANGE_TYPES
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user
from tests.edi.edi_builders import Line, make_hub, order_edifact
from tests.email.mail import email

INTERCHANGES = "/api/v1/edi/interchanges"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def refused(answer: Response, *, naming: str) -> None:
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 415 and naming in problem["detail"]
    assert problem["errors"][0]["loc"] == ["header", "content-type"]


class TestInterchanges:
    def test_an_image_is_refused_before_anything_is_stored(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        answer = client.post(
            INTERCHANGES, content=PNG, headers={"X-API-Key": hub.key, "Content-Type": "image/png"}
        )
        refused(answer, naming="application/EDIFACT")
        assert client.get(INTERCHANGES, headers={"X-API-Key": hub.key}).json()["items"] == []

    @pytest.mark.parametrize(
        "content_type",
        [
            "application/EDIFACT",
            "application/edifact; charset=UTF-8",
            "text/plain",
            "application/octet-stream",
            None,
        ],
    )
    def test_edifact_is_taken_as_edi_text_or_untyped_bytes(
        self, client: TestClient, session: Session, content_type: str | None
    ) -> None:
        hub, product = make_hub(session), make_product(session)
        assert product.gtin
        headers = {"X-API-Key": hub.key} | ({"Content-Type": content_type} if content_type else {})
        answer = client.post(INTERCHANGES, content=order_edifact([Line(product.gtin, 1)]), headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "accepted"

    def test_a_form_or_json_is_not_an_interchange(self, client: TestClient, session: Session) -> None:
        hub = make_hub(session)
        form = {"X-API-Key": hub.key, "Content-Type": "application/x-www-form-urlencoded"}
        refused(client.post(INTERCHANGES, content=b"UNB+UNOC:3", headers=form), naming="text/csv")
        refused(
            client.post(INTERCHANGES, json={"lines": []}, headers={"X-API-Key": hub.key}), naming="text/xml"
        )

    def test_the_schema_lists_what_an_interchange_may_be_sent_as(self, client: TestClient) -> None:
        schema = client.get("/api/v1/openapi.json").json()
        operation = schema["paths"][INTERCHANGES]["post"]
        assert tuple(operation["requestBody"]["content"]) == INTERCHANGE_TYPES
        assert "415" in operation["responses"]


class TestEmailMessages:
    @pytest.mark.parametrize(
        "content_type", ["image/png", "application/json", "multipart/form-data; boundary=x"]
    )
    def test_what_is_not_a_message_is_refused(
        self, client: TestClient, session: Session, content_type: str
    ) -> None:
        answer = client.post(
            "/api/v1/email/messages",
            content=email(),
            headers={**auth_headers(session), "Content-Type": content_type},
        )
        refused(answer, naming="message/rfc822")

    @pytest.mark.parametrize("content_type", ["message/rfc822", "text/plain; charset=utf-8"])
    def test_a_message_is_taken_as_rfc822_or_text(
        self, client: TestClient, session: Session, content_type: str
    ) -> None:
        answer = client.post(
            "/api/v1/email/messages",
            content=email(),
            headers={**auth_headers(session), "Content-Type": content_type},
        )
        assert answer.status_code == 201, answer.text


class TestJsonRoutes:
    def body(self, session: Session) -> str:
        customer, product = make_customer(session), make_product(session)
        return (
            f'{{"customer_code": "{customer.code}", "channel": "phone", '
            f'"lines": [{{"product_code": "{product.code}", "quantity": 1}}]}}'
        )

    @pytest.mark.parametrize(
        "content_type",
        ["text/plain", "application/x-www-form-urlencoded", "text/json", "application/xml", None],
    )
    def test_json_sent_as_another_type_or_untyped_is_refused(
        self, client: TestClient, session: Session, content_type: str | None
    ) -> None:
        headers = auth_headers(session) | ({"Content-Type": content_type} if content_type else {})
        answer = client.post("/api/v1/orders", content=self.body(session), headers=headers)
        refused(answer, naming="application/json")

    def test_json_with_its_type_is_taken_and_malformed_json_is_a_validation_error(
        self, client: TestClient, session: Session
    ) -> None:
        headers = auth_headers(session) | {"Content-Type": "application/json; charset=utf-8"}
        assert client.post("/api/v1/orders", content=self.body(session), headers=headers).status_code == 201
        malformed = client.post("/api/v1/orders", content=b'{"customer_code": ', headers=headers)
        assert malformed.status_code == 422 and malformed.json()["errors"][0]["msg"].startswith(
            "malformed JSON"
        )

    def test_a_route_without_a_body_ignores_the_type(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session) | {"Content-Type": "text/plain"}
        assert client.post("/api/v1/auth/sign-out", headers=headers).status_code == 204


class TestTheTokenForm:
    def test_the_token_is_asked_with_a_form_not_json(self, client: TestClient, session: Session) -> None:
        user = make_user(session)
        credentials = {"username": user.username, "password": PASSWORD}
        refused(
            client.post("/api/v1/auth/token", json=credentials), naming="application/x-www-form-urlencoded"
        )
        assert client.post("/api/v1/auth/token", data=credentials).status_code == 200
