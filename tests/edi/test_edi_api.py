"""EDI over HTTP: posting interchanges, resends, who reads what, downloads, mappings."""

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import get_settings
from tests.builders import auth_headers, make_customer, make_product
from tests.edi.edi_builders import Hub, Line, make_hub, order_edifact

URL = "/api/v1/edi/interchanges"
EDIFACT = "application/EDIFACT"


def key(hub: Hub) -> dict[str, str]:
    return {"X-API-Key": hub.key}


def post(client: TestClient, data: bytes, headers: dict[str, str], query: str = "") -> httpx.Response:
    return client.post(URL + query, content=data, headers={**headers, "Content-Type": EDIFACT})


@pytest.fixture
def hub(session: Session) -> Hub:
    return make_hub(session)


@pytest.fixture
def order_data(session: Session) -> bytes:
    product = make_product(session)
    assert product.gtin
    return order_edifact([Line(product.gtin, 2)])


class TestPosting:
    def test_a_partner_posts_an_interchange_and_gets_its_orders_and_acknowledgment(
        self, client: TestClient, hub: Hub, order_data: bytes
    ) -> None:
        answer = post(client, order_data, key(hub))
        assert answer.status_code == 201, answer.text
        body = answer.json()
        assert {"id", "format", "status", "orders", "acknowledgment_url", "errors", "warnings"} <= body.keys()
        assert (body["format"], body["status"], body["errors"]) == ("edifact", "accepted", [])
        [number] = body["orders"]
        order = client.get(f"/api/v1/orders/{number}", headers=key(hub)).json()
        assert order["channel"] == "edi" and order["lines"][0]["external_line_no"] == "1"
        contrl = client.get(body["acknowledgment_url"], headers=key(hub))
        assert contrl.status_code == 200 and contrl.headers["content-type"].startswith(EDIFACT)
        assert contrl.content.startswith(b"UNA:+.? 'UNB+")

    def test_the_same_interchange_again_is_200_with_the_first_answer(
        self, client: TestClient, hub: Hub, order_data: bytes
    ) -> None:
        first = post(client, order_data, key(hub))
        again = post(client, order_data, key(hub))
        assert (first.status_code, again.status_code) == (201, 200)
        assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
        listed = client.get(URL, headers=key(hub)).json()["items"]
        assert [(i["status"], i["duplicate_of"]) for i in listed] == [
            ("duplicate", first.json()["id"]),
            ("accepted", None),
        ]

    def test_a_rejected_interchange_is_stored_and_answered_201_with_located_errors(
        self, client: TestClient, hub: Hub, order_data: bytes
    ) -> None:
        answer = post(client, order_data.replace(b"UNT+11+1", b"UNT+10+1"), key(hub))
        assert answer.status_code == 201
        body = answer.json()
        assert body["status"] == "rejected" and body["orders"] == []
        [error] = body["errors"]
        assert error["loc"].startswith("segment ") and "UNT" in error["loc"] and error["msg"]

    def test_an_invalid_key_is_401(self, client: TestClient, order_data: bytes) -> None:
        answer = post(client, order_data, {"X-API-Key": "ck_forged"})
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"

    def test_a_rep_cannot_post_and_an_admin_posts_for_a_named_partner(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        assert post(client, order_data, auth_headers(session)).status_code == 403
        admin = auth_headers(session, role="admin")
        assert post(client, order_data, admin).status_code == 422
        assert post(client, order_data, admin, "?partner=nobody").status_code == 404
        answer = post(client, order_data, admin, f"?partner={hub.partner.name}")
        assert answer.status_code == 201 and answer.json()["orders"]
        detail = client.get(f"{URL}/{answer.json()['id']}", headers=admin).json()
        assert detail["partner"] == hub.partner.name and detail["received_by"].startswith("user:")

    def test_a_partner_cannot_post_as_another_partner(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        other = make_hub(session, gln="5412345000044")
        assert post(client, order_data, key(hub), f"?partner={other.partner.name}").status_code == 403

    def test_a_partner_cannot_order_for_another_partners_customer(
        self, client: TestClient, session: Session, hub: Hub
    ) -> None:
        theirs = make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        answer = post(client, order_edifact([Line(product.gtin)], buyer=theirs.customer.gln), key(hub))
        body = answer.json()
        assert body["status"] == "rejected" and body["orders"] == []
        assert body["errors"][0]["code"] == "buyer_not_yours"

    def test_a_body_over_the_edi_limit_is_413(self, client: TestClient, hub: Hub) -> None:
        data = b"x" * (get_settings().max_edi_body_bytes + 1)
        answer = post(client, data, key(hub))
        assert answer.status_code == 413 and answer.headers["content-type"] == "application/problem+json"


class TestReading:
    def test_a_partner_reads_its_own_interchange_and_not_anothers(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        created = post(client, order_data, key(hub)).json()
        other = make_hub(session, gln="5412345000044")
        mine = client.get(f"{URL}/{created['id']}", headers=key(hub))
        assert mine.status_code == 200
        detail = mine.json()
        assert (
            detail["orders"] == created["orders"] and detail["sha256"] and detail["size"] == len(order_data)
        )
        assert [a["kind"] for a in detail["acknowledgments"]] == ["CONTRL", "ORDRSP"]
        assert client.get(f"{URL}/{created['id']}", headers=key(other)).status_code == 404
        assert client.get(created["acknowledgment_url"], headers=key(other)).status_code == 404
        assert client.get(f"{URL}/{created['id']}/acknowledgments", headers=key(other)).status_code == 404
        assert client.get(URL, headers=key(other)).json()["items"] == []
        assert client.get(f"{URL}?partner={hub.partner.name}", headers=key(other)).status_code == 403

    def test_reps_read_warehouse_does_not(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        created = post(client, order_data, key(hub)).json()
        assert client.get(f"{URL}/{created['id']}", headers=auth_headers(session)).status_code == 200
        warehouse = auth_headers(session, role="warehouse")
        assert client.get(f"{URL}/{created['id']}", headers=warehouse).status_code == 403

    def test_only_admins_download_the_raw_file_as_received(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        created = post(client, order_data, key(hub)).json()
        raw_url = f"{URL}/{created['id']}/raw"
        assert client.get(raw_url, headers=key(hub)).status_code == 403
        assert client.get(raw_url, headers=auth_headers(session)).status_code == 403
        raw = client.get(raw_url, headers=auth_headers(session, role="admin"))
        assert raw.status_code == 200 and raw.content == order_data
        assert raw.headers["content-type"].startswith(EDIFACT)

    def test_interchanges_are_listed_per_partner_newest_first_with_a_cursor(
        self, client: TestClient, session: Session, hub: Hub
    ) -> None:
        other = make_hub(session, gln="5412345000044")
        product = make_product(session)
        assert product.gtin
        ids = [
            post(client, order_edifact([Line(product.gtin)], control_ref=str(n)), key(hub)).json()["id"]
            for n in range(3)
        ]
        post(client, order_edifact([Line(product.gtin)], buyer=other.customer.gln), key(other))
        rep = auth_headers(session)
        page = client.get(f"{URL}?partner={hub.partner.name}&limit=2", headers=rep).json()
        assert [i["id"] for i in page["items"]] == ids[:0:-1] and page["next_cursor"]
        rest = client.get(
            f"{URL}?partner={hub.partner.name}&cursor={page['next_cursor']}", headers=rep
        ).json()
        assert [i["id"] for i in rest["items"]] == ids[:1] and rest["next_cursor"] is None
        assert client.get(f"{URL}?status=accepted", headers=rep).json()["items"]

    def test_an_unknown_interchange_or_acknowledgment_is_404(self, client: TestClient, hub: Hub) -> None:
        assert client.get(f"{URL}/999999", headers=key(hub)).status_code == 404
        assert client.get(f"{URL}/999999/acknowledgments/1", headers=key(hub)).status_code == 404


class TestAdministration:
    def test_admins_map_parties_and_items_that_ingestion_then_uses(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session, gln=None, others=1)
        product = make_product(session)
        admin = auth_headers(session, role="admin")
        base = f"/api/v1/edi/partners/{hub.partner.name}"
        party = {"party_id": "SHOP-9", "customer_code": hub.customer.code, "shipping_address_code": "DP1"}
        assert client.post(f"{base}/parties", json=party, headers=admin).status_code == 201
        assert client.post(f"{base}/parties", json=party, headers=admin).status_code == 200
        item = {"item_id": "ART 1", "product_code": product.code}
        assert client.post(f"{base}/items", json=item, headers=admin).status_code == 201
        assert client.get(f"{base}/parties", headers=admin).json() == [party]
        assert client.get(f"{base}/items", headers=admin).json() == [item]
        data = order_edifact([Line("ART 1", 2, qualifier="IN")], buyer="SHOP-9")
        body = post(client, data, key(hub)).json()
        order = client.get(f"/api/v1/orders/{body['orders'][0]}", headers=key(hub)).json()
        assert (
            order["customer_code"] == hub.customer.code and order["lines"][0]["product_code"] == product.code
        )

    def test_mappings_are_refused_to_non_admins_and_for_foreign_customers(
        self, client: TestClient, session: Session, hub: Hub
    ) -> None:
        base = f"/api/v1/edi/partners/{hub.partner.name}"
        foreign = make_customer(session)
        party = {"party_id": "X", "customer_code": foreign.code}
        assert client.post(f"{base}/parties", json=party, headers=key(hub)).status_code == 403
        assert client.post(f"{base}/parties", json=party, headers=auth_headers(session)).status_code == 403
        answer = client.post(f"{base}/parties", json=party, headers=auth_headers(session, role="admin"))
        assert answer.status_code == 422 and answer.json()["errors"][0]["loc"] == ["body", "customer_code"]

    def test_a_csv_profile_is_stored_on_the_partner_and_checked(
        self, client: TestClient, session: Session
    ) -> None:
        hub = make_hub(session)
        admin = auth_headers(session, role="admin")
        url = f"/api/v1/edi/partners/{hub.partner.name}/csv-profile"
        profile = {"name": "hub", "delimiter": ";", "columns": {"po_number": 0, "item": 1, "quantity": 2}}
        saved = client.put(url, json=profile, headers=admin)
        assert saved.status_code == 200 and saved.json()["columns"] == profile["columns"]
        assert client.get(url, headers=admin).json()["delimiter"] == ";"
        incomplete = {"name": "bad", "columns": {"item": 1}}
        assert client.put(url, json=incomplete, headers=admin).status_code == 422
        product = make_product(session)
        data = f"PO-77;{product.gtin};3\n".encode()
        body = client.post(URL, content=data, headers={**key(hub), "Content-Type": "text/csv"}).json()
        assert body["format"] == "csv" and body["status"] == "accepted"
        ack = client.get(body["acknowledgment_url"], headers=key(hub))
        assert ack.headers["content-type"] == "application/json"
        assert orjson.loads(ack.content)["orders"][0]["po_number"] == "PO-77"

    def test_only_a_stuck_interchange_is_reprocessed(
        self, client: TestClient, session: Session, hub: Hub, order_data: bytes
    ) -> None:
        created = post(client, order_data, key(hub)).json()
        url = f"{URL}/{created['id']}/reprocess"
        assert client.post(url, headers=key(hub)).status_code == 403
        assert client.post(url, headers=auth_headers(session, role="admin")).status_code == 409


def test_control_characters_in_names_and_ids_are_client_errors(client: TestClient, session: Session) -> None:
    hub = make_hub(session)
    admin = auth_headers(session, role="admin")
    assert post(client, b"x", admin, "?partner=a%00b").status_code == 404
    assert client.get(f"{URL}?partner=a%00b", headers=admin).status_code == 404
    assert client.get("/api/v1/edi/partners/a%00b/items", headers=admin).status_code == 404
    party = {"party_id": "A\u0000B", "customer_code": hub.customer.code}
    answer = client.post(f"/api/v1/edi/partners/{hub.partner.name}/parties", json=party, headers=admin)
    assert answer.status_code == 422
