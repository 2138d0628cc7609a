"""Emails handed to the inbox: kept once as received, matched to their customer, order files made
into orders held for review, the rest waiting for a rep."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.edi.samples import eancom_orders_interchange
from app.email.models import InboxMessage
from app.orders.models import SaleOrder
from tests.builders import auth_headers, make_customer, make_product
from tests.email.mail import email, xlsx

RFC822 = {"Content-Type": "message/rfc822"}


@pytest.fixture
def shop(session: Session) -> dict[str, str]:
    customer = make_customer(session, code="PARC", name="Librairie du Parc", gln="3012345000004")
    customer.email = "commandes@librairie-parc.fr"
    other = make_customer(session, code="HALLES", name="Librairie des Halles")
    other.email = "contact@halles-livres.fr"
    products = [make_product(session, stock="50") for _ in range(3)]
    session.flush()
    return {
        "p0": products[0].code,
        "p1": products[1].code,
        "g2": products[2].gtin or "",
        "customer": customer.code,
    }


def post(client: TestClient, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, object]]:
    answer = client.post("/api/v1/email/messages", content=raw, headers={**headers, **RFC822})
    return answer.status_code, answer.json()


def test_a_csv_attachment_becomes_an_order_held_for_review_and_linked_to_its_email(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    sheet = f"Référence;Quantité;Titre\n{shop['p0']};3;Atlas\n{shop['g2']};2;Carte\nINCONNU;1;?\n".encode(
        "cp1252"
    )
    status, item = post(client, headers, email(attachments=[("commande.csv", "text/csv", sheet)]))
    assert status == 201
    assert item["customer_code"] == shop["customer"] and item["customer_match"] == "address"
    assert item["status"] == "keyed" and len(item["orders"]) == 1  # type: ignore[arg-type]
    order = session.execute(select(SaleOrder).where(SaleOrder.number == item["orders"][0])).scalar_one()  # type: ignore[index]
    assert order.status == "needs_review" and order.channel == "email"
    assert order.email_text == "Bonjour, voici notre commande."
    assert any("INCONNU" in p["detail"] for p in order.problems)
    assert any("INCONNU" in p["detail"] for p in item["problems"])  # type: ignore[union-attr]


def test_the_same_email_again_is_the_same_item(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    raw = email(
        attachments=[("c.csv", "text/csv", f"code;qte\n{shop['p1']};4\n".encode())], message_id="<m1@parc>"
    )
    first_status, first = post(client, headers, raw)
    again_status, again = post(client, headers, raw)
    assert (first_status, again_status) == (201, 200)
    assert first == again
    assert len(session.execute(select(SaleOrder)).all()) == 1


def test_an_xlsx_and_an_eancom_file_become_orders(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    sheet = xlsx([["EAN", "Qté"], [int(shop["g2"]), 5]])
    edi = eancom_orders_interchange(
        1,
        2,
        buyer_gln="3012345000004",
        delivery_gln="3012345000004",
        gtins=[shop["g2"]],
        sender="3012345000004",
        receiver="3000000000009",
        control_ref="R1",
    )
    raw = email(
        attachments=[
            ("commande.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", sheet),
            ("orders.edi", "application/octet-stream", edi),
        ]
    )
    status, item = post(client, headers, raw)
    assert status == 201 and len(item["orders"]) == 2, item  # type: ignore[arg-type]
    types = [a["detected_type"] for a in item["attachments"]]  # type: ignore[union-attr]
    assert types == ["xlsx", "edifact"]
    quantities = session.execute(
        select(SaleOrder.number, SaleOrder.customer_reference).order_by(SaleOrder.id)
    ).all()
    assert quantities[1].customer_reference == "R1-1"


def test_a_plain_email_waits_for_a_rep_and_html_is_only_text(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    html = (
        "<html><head><style>p{}</style><script>alert(1)</script></head>"
        "<body><p>Envoyez 3 <b>Atlas</b></p><img src='https://tracker.example/p.gif'></body></html>"
    )
    status, item = post(client, headers, email(text=None, html=html, sender="someone@halles-livres.fr"))
    assert status == 201 and item["status"] == "new" and item["orders"] == []
    assert item["customer_code"] == "HALLES" and item["customer_match"] == "domain"
    stored = session.execute(select(InboxMessage)).scalar_one()
    assert stored.text_body == "Envoyez 3 Atlas"
    assert (
        stored.raw
        == email(text=None, html=html, sender="someone@halles-livres.fr", message_id=None)[:0] + stored.raw
    )


def test_a_webmail_sender_is_not_matched_by_domain(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    _, item = post(client, headers, email(sender="jean@gmail.com"))
    assert item["customer_code"] is None and item["customer_match"] == "none"


def test_what_is_not_an_email_is_refused(client: TestClient, session: Session) -> None:
    headers = auth_headers(session)
    answer = client.post("/api/v1/email/messages", content=b"hello", headers={**headers, **RFC822})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert session.execute(select(InboxMessage)).first() is None


def test_only_reps_hand_in_emails(client: TestClient, session: Session) -> None:
    answer = client.post(
        "/api/v1/email/messages",
        content=email(),
        headers={**auth_headers(session, role="warehouse"), **RFC822},
    )
    assert answer.status_code == 403


def test_an_order_file_from_an_unknown_sender_waits_with_its_reason(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    headers = auth_headers(session)
    raw = email(
        sender="x@unknown-shop.fr",
        attachments=[("c.csv", "text/csv", f"code;qte\n{shop['p1']};4\n".encode())],
    )
    _, item = post(client, headers, raw)
    assert item["status"] == "new" and item["orders"] == []
    assert any("not a known customer" in p["detail"] for p in item["problems"])  # type: ignore[union-attr]
    stored = session.execute(select(InboxMessage)).scalar_one()
    assert stored.raw == raw
