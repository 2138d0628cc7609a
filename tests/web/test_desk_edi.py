"""At the desk, what EDI partners sent: reps see every file with its outcome and, for a refused one,
why and where; an admin downloads the file as received; the documents sent back download too."""

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.clock import utcnow
from app.edi.models import EdiInterchange
from app.orders.models import SaleOrder
from app.web.pages import forget_banner
from tests.builders import auth_headers, make_product
from tests.edi.edi_builders import Hub, Line, make_hub, order_edifact
from tests.web.test_desk_pages import sign_in

URL = "/api/v1/edi/interchanges"


def post(client: TestClient, hub: Hub, data: bytes) -> dict[str, object]:
    answer = client.post(
        URL, content=data, headers={"X-API-Key": hub.key, "Content-Type": "application/EDIFACT"}
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


@pytest.fixture
def sent(client: TestClient, session: Session) -> dict[str, object]:
    """A partner's good file (one order) and a file from a shop nobody mapped (refused as a whole)."""
    hub = make_hub(session, others=1)  # a buyer nobody mapped cannot be guessed among two
    product = make_product(session)
    assert product.gtin
    good = post(client, hub, order_edifact([Line(product.gtin, 2)], po_number="PO-GOOD", control_ref="7001"))
    refused = post(
        client,
        hub,
        order_edifact(
            [Line(product.gtin, 1)],
            po_number="PO-NEW",
            control_ref="7002",
            buyer="5412345000099",
            sender="5412345000099",
        ),
    )
    assert (good["status"], refused["status"]) == ("accepted", "rejected")
    return {"good": good, "refused": refused, "partner": hub.partner.name}


def rows(page: str) -> list[str]:
    table = page.split('id="interchanges"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in table.split("<tr>")[2:]]


def test_a_rep_sees_every_file_a_partner_sent_and_why_one_was_refused(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    sign_in(client, session, "rep")
    page = client.get("/edi")
    assert page.status_code == 200
    refused, good = rows(page.text)
    [order] = sent["good"]["orders"]  # type: ignore[index]
    assert "refusé" in refused and "acheteur inconnu" in refused
    assert "buyer 5412345000099 is unknown" in refused
    assert "accepté" in good and order in good and str(sent["partner"]) in good
    assert "refusé (1)" in page.text and "accepté (1)" in page.text

    only_refused = rows(client.get("/edi", params={"status": "rejected"}).text)
    assert len(only_refused) == 1 and "PO-NEW" not in only_refused[0]

    detail = client.get(f"/edi/{sent['refused']['id']}").text  # type: ignore[index]
    errors = detail.split('id="errors"', 1)[1].split("</section>", 1)[0]
    assert "message 1" in errors and "buyer 5412345000099 is unknown" in errors
    assert "un administrateur l&#39;associe à un client" in errors
    assert 'id="raw"' not in detail  # the raw bytes are for admins


def test_the_documents_sent_back_and_the_file_as_received_download(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    good_id = sent["good"]["id"]  # type: ignore[index]
    sign_in(client, session, "rep")
    detail = client.get(f"/edi/{good_id}").text
    links = re.findall(rf'href="(/edi/{good_id}/acknowledgments/\d+)"', detail)
    assert links, "the CONTRL and the order response are listed"
    contrl = client.get(links[0])
    assert contrl.status_code == 200 and contrl.content.startswith(b"UNA:+.? 'UNB+")
    assert contrl.headers["content-disposition"].startswith("attachment;")
    assert client.get(f"/edi/{good_id}/raw").status_code == 403

    sign_in(client, session, "admin")
    detail = client.get(f"/edi/{good_id}").text
    assert 'id="raw"' in detail
    raw = client.get(f"/edi/{good_id}/raw")
    assert raw.status_code == 200 and b"PO-GOOD" in raw.content
    assert raw.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("role", ["warehouse", "finance"])
def test_people_who_do_not_answer_partners_do_not_read_their_files(
    client: TestClient, session: Session, sent: dict[str, object], role: str
) -> None:
    sign_in(client, session, role)
    assert client.get("/edi").status_code == 403
    assert client.get(f"/edi/{sent['refused']['id']}").status_code == 403  # type: ignore[index]


def test_an_unknown_interchange_is_not_found(client: TestClient, session: Session) -> None:
    sign_in(client, session, "rep")
    assert client.get("/edi/999999").status_code == 404


def test_the_api_list_says_who_sent_a_refused_file_and_why(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    listed = client.get(URL, params={"status": "rejected"}, headers=auth_headers(session)).json()["items"]
    [refused] = listed
    assert (refused["sender_id"], refused["error_count"], refused["warning_count"]) == ("5412345000099", 1, 0)
    assert "buyer 5412345000099 is unknown" in refused["first_error"]
    assert refused["first_error_code"] == "unknown_buyer"
    [good] = client.get(URL, params={"status": "accepted"}, headers=auth_headers(session)).json()["items"]
    assert (good["error_count"], good["first_error"], good["first_error_code"]) == (0, None, None)


def test_an_edi_order_leads_a_rep_to_the_file_it_came_in(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    [number] = sent["good"]["orders"]  # type: ignore[index]
    link = f'href="/edi/{sent["good"]["id"]}"'  # type: ignore[index]
    sign_in(client, session, "rep")
    assert link in client.get(f"/orders/{number}").text
    sign_in(client, session, "warehouse")  # reads the order, not the partner's files
    page = client.get(f"/orders/{number}")
    assert page.status_code == 200 and link not in page.text


def test_refused_files_of_the_last_day_are_on_the_reps_banner(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    forget_banner()
    warning = "1 fichier(s) EDI refusé(s) depuis 24 h"
    sign_in(client, session, "rep")
    assert warning in client.get("/orders").text
    sign_in(client, session, "warehouse")  # not theirs to act on
    assert warning not in client.get("/orders").text
    system = client.get("/api/v1/system", headers=auth_headers(session, role="admin")).json()
    assert [(w["code"], w["count"]) for w in system["warnings"]] == [("edi_files_refused", 1)]

    yesterday = utcnow() - timedelta(hours=25)
    session.execute(update(EdiInterchange).values(received_at=yesterday))
    forget_banner()
    sign_in(client, session, "rep")
    assert "fichier(s) EDI refusé(s)" not in client.get("/orders").text
    forget_banner()


def test_an_admin_maps_an_unknown_buyer_and_processes_the_refused_file_again(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    refused = sent["refused"]
    refused_id = refused["id"]  # type: ignore[index]
    assert refused["errors"][0]["party_id"] == "5412345000099"  # type: ignore[index]
    sign_in(client, session, "rep")
    page = client.get(f"/edi/{refused_id}").text
    assert f'action="/edi/{refused_id}/parties"' not in page and 'id="resubmit"' not in page

    token = sign_in(client, session, "admin")
    page = client.get(f"/edi/{refused_id}").text
    assert 'name="party_id" value="5412345000099"' in page
    codes = re.findall(r'<option value="([^"]+)">', page)
    assert len(codes) == 2, "the partner's two customers are offered"
    wrong = client.post(
        f"/edi/{refused_id}/parties",
        data={"csrf_token": token, "party_id": "5412345000099", "customer_code": "C99999"},
    )
    assert wrong.status_code == 422 and 'id="buyer-1-error"' in wrong.text and "C99999" in wrong.text
    mapped = client.post(
        f"/edi/{refused_id}/parties",
        data={"csrf_token": token, "party_id": "5412345000099", "customer_code": f" {codes[1].lower()} "},
        follow_redirects=False,
    )
    assert mapped.status_code == 303
    assert 'id="mapped"' in client.get(mapped.headers["location"]).text

    forget_banner()
    assert "1 fichier(s) EDI refusé(s)" in client.get("/orders").text
    again = client.post(f"/edi/{refused_id}/resubmit", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303
    outcome = client.get(again.headers["location"]).text
    assert f'<dd id="resubmitted-from"><a href="/edi/{refused_id}">' in outcome and "accepté" in outcome
    po_new = select(Customer.code).join(SaleOrder.customer).where(SaleOrder.customer_reference == "PO-NEW")
    assert session.execute(po_new).scalars().all() == [codes[1]]
    # The refused file says what it became, is no longer on the banner, and is not processed twice.
    new_id = again.headers["location"].rsplit("/", 1)[1]
    original = client.get(f"/edi/{refused_id}").text
    assert f'<dd id="resubmitted-as"><a href="/edi/{new_id}">' in original and 'id="resubmit"' not in original
    forget_banner()
    assert "fichier(s) EDI refusé(s)" not in client.get("/orders").text
    twice = client.post(f"/edi/{refused_id}/resubmit", data={"csrf_token": token})
    assert twice.status_code == 409 and f"processed again already, as #{new_id}" in twice.text
    assert session.execute(po_new).scalars().all() == [codes[1]]
    forget_banner()


def test_only_a_refused_file_is_processed_again(
    client: TestClient, session: Session, sent: dict[str, object]
) -> None:
    token = sign_in(client, session, "admin")
    good_id = sent["good"]["id"]  # type: ignore[index]
    refused = client.post(f"/edi/{good_id}/resubmit", data={"csrf_token": token})
    assert refused.status_code == 409 and 'id="resubmit-error"' in refused.text
    assert "only a refused file is processed again" in refused.text
    sign_in(client, session, "rep")
    assert client.post(f"/edi/{good_id}/resubmit", data={"csrf_token": token}).status_code == 403
