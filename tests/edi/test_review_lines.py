"""Settling the lines a partner sent that could not become order lines as sent: map, correct or
remove each, with a reason, through the API; the order is held until then and ships afterwards."""

from decimal import Decimal

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog.models import Product
from tests.builders import auth_headers, make_product
from tests.edi.edi_builders import Hub, Line, ingest, make_hub, order_edifact

ORDERS = "/api/v1/orders"
REVIEW = "/api/v1/edi/orders"


def held_order(session: Session, hub: Hub, lines: list[Line]) -> str:
    answer = ingest(session, hub, order_edifact(lines))
    [number] = answer.body["orders"]
    return number


def lines_of(client: TestClient, number: str, headers: dict[str, str]) -> dict[str, object]:
    body = client.get(f"{ORDERS}/{number}", headers=headers).json()
    assert isinstance(body, dict)
    return body


def act(
    client: TestClient,
    number: str,
    line_id: int,
    action: str,
    body: dict[str, object],
    headers: dict[str, str],
) -> httpx.Response:
    return client.post(f"{REVIEW}/{number}/unresolved-lines/{line_id}/{action}", json=body, headers=headers)


def reserved(session: Session, product: Product) -> Decimal:
    session.expire_all()
    value = session.execute(select(Product.reserved_quantity).where(Product.id == product.id)).scalar_one()
    return Decimal(value)


class TestMapping:
    def test_an_unknown_item_mapped_to_a_product_becomes_a_priced_line_and_releases_the_order(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        known, meant = make_product(session), make_product(session, price="4.00")
        assert known.gtin
        number = held_order(session, hub, [Line(known.gtin, 1), Line("UNKNOWN-7", 3, qualifier="IN")])
        rep = auth_headers(session)
        order = lines_of(client, number, rep)
        assert order["status"] == "needs_review"
        [line] = order["unresolved_lines"]  # type: ignore[misc]
        assert (line["status"], line["quantity"], line["items"][0]["id"]) == ("open", "3", "UNKNOWN-7")

        answer = act(
            client,
            number,
            line["id"],
            "map",
            {"product_code": meant.code, "reason": "their code for it"},
            rep,
        )

        assert answer.status_code == 200, answer.text
        order = answer.json()
        assert order["status"] == "captured"
        assert [
            (li["line_no"], li["product_code"], li["quantity"], li["external_line_no"])
            for li in order["lines"]
        ] == [
            (1, known.code, 1, "1"),
            (2, meant.code, 3, "2"),
        ]
        assert order["totals"]["net"] == "22.00"  # 10.00 + 3 x 4.00
        [settled] = order["unresolved_lines"]
        assert (settled["status"], settled["order_line_no"], settled["resolution_reason"]) == (
            "mapped",
            2,
            "their code for it",
        )
        assert settled["resolved_by"].startswith("user:") and settled["resolved_at"]
        assert reserved(session, meant) == Decimal(3)

    def test_a_quantity_may_be_given_and_a_gtin_names_the_product(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        number = held_order(session, hub, [Line("9999999999994", 0, qualifier="IN")])
        rep = auth_headers(session)
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        answer = act(
            client, number, line["id"], "map", {"gtin": product.gtin, "quantity": 2, "reason": "r"}, rep
        )
        assert answer.status_code == 200 and answer.json()["lines"][0]["quantity"] == 2

    def test_mapping_refuses_an_unknown_product_or_an_impossible_quantity_with_problem_details(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        unit = make_product(session)
        number = held_order(session, hub, [Line("ODD-1", "0", qualifier="IN")])
        rep = auth_headers(session)
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        unknown = act(client, number, line["id"], "map", {"product_code": "NOPE", "reason": "r"}, rep)
        assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
        assert unknown.json()["errors"] == [
            {"loc": ["body", "product_code"], "msg": "unknown product 'NOPE'"}
        ]
        no_quantity = act(client, number, line["id"], "map", {"product_code": unit.code, "reason": "r"}, rep)
        assert no_quantity.status_code == 422 and no_quantity.json()["errors"][0]["loc"] == [
            "body",
            "quantity",
        ]
        whole = act(
            client,
            number,
            line["id"],
            "map",
            {"product_code": unit.code, "quantity": "1.5", "reason": "r"},
            rep,
        )
        assert whole.status_code == 422 and "whole units" in whole.json()["detail"]
        no_reason = act(client, number, line["id"], "map", {"product_code": unit.code, "quantity": 1}, rep)
        assert no_reason.status_code == 422
        assert lines_of(client, number, rep)["status"] == "needs_review"


class TestCorrecting:
    def test_a_fractional_quantity_of_a_unit_product_is_corrected_with_a_reason(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        number = held_order(session, hub, [Line(product.gtin, "2.5")])
        rep = auth_headers(session)
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        assert (line["reason"], line["product_code"]) == ("fractional_quantity", product.code)
        answer = act(client, number, line["id"], "correct", {"quantity": 3, "reason": "boxes of 3"}, rep)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "captured" and body["lines"][0]["quantity"] == 3
        assert body["unresolved_lines"][0]["status"] == "corrected"
        assert reserved(session, product) == Decimal(3)

    def test_an_unknown_item_cannot_be_corrected_only_mapped(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        number = held_order(session, hub, [Line("UNKNOWN-8", 1, qualifier="IN")])
        rep = auth_headers(session)
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        answer = act(client, number, line["id"], "correct", {"quantity": 1, "reason": "r"}, rep)
        assert answer.status_code == 409 and answer.json()["type"].endswith("line-item-unknown")


class TestRemoving:
    def test_a_removed_line_keeps_its_reason_and_the_order_ships_without_it(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session)
        assert product.gtin
        number = held_order(session, hub, [Line(product.gtin, 2), Line("UNKNOWN-9", 1, qualifier="IN")])
        rep, warehouse = auth_headers(session), auth_headers(session, role="warehouse")
        assert client.post(f"{ORDERS}/{number}/deliveries", headers=warehouse).status_code == 409
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        answer = act(client, number, line["id"], "remove", {"reason": "discontinued title"}, rep)
        assert answer.status_code == 200
        settled = answer.json()["unresolved_lines"][0]
        assert (settled["status"], settled["resolution_reason"]) == ("removed", "discontinued title")
        assert answer.json()["status"] == "captured"
        shipped = client.post(f"{ORDERS}/{number}/deliveries", headers=warehouse)
        assert shipped.status_code == 201, shipped.text

    def test_an_order_whose_every_line_is_removed_stays_for_a_rep_to_cancel(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        number = held_order(session, hub, [Line("UNKNOWN-10", 1, qualifier="IN")])
        rep = auth_headers(session)
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        answer = act(client, number, line["id"], "remove", {"reason": "not ours"}, rep)
        assert answer.json()["status"] == "needs_review" and answer.json()["lines"] == []
        assert client.post(f"{ORDERS}/{number}/cancel", headers=rep).json()["status"] == "cancelled"


class TestRules:
    def test_a_settled_line_cannot_be_settled_again_and_unknown_lines_are_404(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        number = held_order(
            session, hub, [Line("UNKNOWN-11", 1, qualifier="IN"), Line("UNKNOWN-12", 1, qualifier="IN")]
        )
        rep = auth_headers(session)
        first, _ = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        assert act(client, number, first["id"], "remove", {"reason": "r"}, rep).status_code == 200
        again = act(client, number, first["id"], "remove", {"reason": "r"}, rep)
        assert again.status_code == 409 and again.json()["type"].endswith("line-already-settled")
        assert act(client, number, 999999, "remove", {"reason": "r"}, rep).status_code == 404
        assert act(client, "CMD-NOPE", first["id"], "remove", {"reason": "r"}, rep).status_code == 404

    def test_a_rep_cannot_accept_the_order_while_a_line_is_open(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        product = make_product(session, price="10.00")
        assert product.gtin
        number = held_order(
            session, hub, [Line(product.gtin, 1, price="9.00"), Line("UNKNOWN-13", 1, qualifier="IN")]
        )
        rep = auth_headers(session)
        refused = client.post(f"{ORDERS}/{number}/accept", headers=rep)
        assert refused.status_code == 409 and refused.json()["type"].endswith("unresolved-lines")
        [line] = lines_of(client, number, rep)["unresolved_lines"]  # type: ignore[misc]
        answer = act(client, number, line["id"], "remove", {"reason": "r"}, rep)
        assert answer.json()["status"] == "needs_review"  # the price difference still waits for a rep
        assert client.post(f"{ORDERS}/{number}/accept", headers=rep).json()["status"] == "captured"

    def test_only_reps_settle_lines(self, client: TestClient, session: Session) -> None:
        hub = make_hub(session)
        number = held_order(session, hub, [Line("UNKNOWN-14", 1, qualifier="IN")])
        [line] = lines_of(client, number, auth_headers(session))["unresolved_lines"]  # type: ignore[misc]
        for headers in (auth_headers(session, role="warehouse"), {"X-API-Key": hub.key}):
            assert act(client, number, line["id"], "remove", {"reason": "r"}, headers).status_code == 403
