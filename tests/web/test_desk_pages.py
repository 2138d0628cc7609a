"""The desk's pages over HTTP, without a browser: who may see what, the forms as a browser without
JavaScript posts them (and htmx, where a page swaps a fragment), the customer's status link, the
review of a held EDI order's lines, the API documentation."""

import re
from collections.abc import Iterator
from decimal import Decimal
from io import BytesIO
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.catalog.models import Customer, Product
from app.config import get_settings
from app.delivery.models import DeliveryNote
from app.orders.models import SaleOrder, SaleOrderLine, UnresolvedOrderLine
from app.tracking.models import OrderStatusLink
from app.web import finance, status, warehouse
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user
from tests.delivery.fulfilment import order_of, ship
from tests.edi.edi_builders import Line, ingest, make_hub, order_edifact
from tests.email.mail import email


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, session: Session, role: str) -> str:
    """Sign a new user of the role in; returns the CSRF token its forms carry."""
    user = make_user(session, role=role)
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return token


def number_in(location: str) -> str:
    """The order number in the confirmation's address (`/orders/CMD-2026-000001?captured=1`)."""
    found = re.fullmatch(r"/orders/([^?]+)\?captured=1", location)
    assert found, location
    return found.group(1)


@pytest.fixture
def shop(session: Session) -> Iterator[dict[str, str]]:
    customer = make_customer(session, code="LIB100", name="Librairie des Halles")
    products = [make_product(session, stock="10") for _ in range(3)]
    yield {"customer": customer.code, **{f"p{i}": p.code for i, p in enumerate(products)}}


def test_a_page_asks_to_sign_in_first_and_comes_back(client: TestClient) -> None:
    answer = client.get("/orders/new", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/orders/new"


def test_a_page_not_for_the_role_is_not_offered_and_answers_403(client: TestClient, session: Session) -> None:
    sign_in(client, session, "warehouse")
    home = client.get("/warehouse")
    assert home.status_code == 200
    assert 'href="/orders/new"' not in home.text and 'href="/finance"' not in home.text
    refused = client.get("/finance")
    assert refused.status_code == 403
    assert "Accès refusé" in refused.text and refused.headers["content-type"].startswith("text/html")


def test_a_wrong_password_is_said_and_the_username_kept(client: TestClient, session: Session) -> None:
    user = make_user(session, role="rep")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": user.username, "password": "nope", "csrf_token": token})
    assert answer.status_code == 401
    assert "incorrect" in answer.text and f'value="{user.username}"' in answer.text


def test_signing_in_without_the_forms_token_is_refused(client: TestClient, session: Session) -> None:
    user = make_user(session, role="rep")
    client.get("/login")
    answer = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert answer.status_code == 403
    assert "carnet_session" not in answer.cookies


def test_after_sign_in_the_desk_never_sends_anyone_to_another_site(
    client: TestClient, session: Session
) -> None:
    user = make_user(session, role="rep")
    token = csrf_of(client.get("/login").text)
    form = {"username": user.username, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.headers["location"] == "/orders/new"


def test_the_session_cookie_is_http_only_same_site_and_secure_over_https(
    client: TestClient, session: Session
) -> None:
    client.base_url = "https://testserver"  # type: ignore[assignment]
    user = make_user(session, role="rep")
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = answer.headers["set-cookie"]
    assert "carnet_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" in cookie


def test_an_order_keyed_without_javascript_is_recorded_once_with_its_status_link(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    form = {
        "csrf_token": token,
        "entry_key": "form-1",
        "customer_query": shop["customer"],
        "action": "refresh",
    }
    page = client.post("/orders/new", data=form)
    assert "Librairie des Halles" in page.text
    form |= {"customer_code": shop["customer"], "item": shop["p0"], "item_quantity": "3"}
    page = client.post("/orders/new", data=form)
    assert 'name="code" value="' + shop["p0"] + '"' in page.text
    lines = {"code": [shop["p0"]], "quantity": ["3"]}
    save = {**form, "item": "", "action": "save", **lines}
    first = client.post("/orders/new", data=save, follow_redirects=False)
    again = client.post("/orders/new", data=save, follow_redirects=False)  # a double click
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"]
    number = number_in(first.headers["location"])
    orders = session.execute(select(SaleOrder.number)).scalars().all()
    assert orders.count(number) == 1 and len(orders) == 1
    detail = client.get(first.headers["location"])
    assert number in detail.text and "/status/" in detail.text
    keyed_by = session.execute(select(SaleOrder.captured_by)).scalar_one()
    username = session.get(User, int(keyed_by.removeprefix("user:"))).username
    assert f"· {username}</p>" in detail.text  # who keyed it, by name


def test_the_order_form_preselects_the_default_address_and_asks_when_there_is_none(
    client: TestClient, session: Session
) -> None:
    with_default = make_customer(session, code="LIB200", addresses=2)
    with_default.shipping_addresses[1].is_default = True
    without_default = make_customer(session, code="LIB201", addresses=2)
    product = make_product(session)
    token = sign_in(client, session, "rep")

    def entry(customer_code: str, action: str) -> str:
        form = {
            "csrf_token": token,
            "entry_key": f"form-{customer_code}",
            "customer_query": customer_code,
            "customer_code": customer_code,
            "code": [product.code],
            "quantity": ["1"],
            "action": action,
        }
        return client.post("/orders/new", data=form).text

    assert '<option value="DP2" selected>' in entry(with_default.code, "refresh")
    page = entry(without_default.code, "save")
    assert 'id="shipping_address-error"' in page and "DP1, DP2" in page
    assert session.execute(select(SaleOrder)).first() is None


def test_a_refused_line_keeps_what_was_typed_and_says_why_beside_it(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    form = {
        "csrf_token": token,
        "entry_key": "form-2",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [shop["p0"], shop["p1"]],
        "quantity": ["2", "-4"],
        "action": "save",
    }
    page = client.post("/orders/new", data=form)
    assert page.status_code == 422
    assert 'id="quantity-1-error"' in page.text and 'value="-4"' in page.text
    assert "une quantité de plus que 0" in page.text  # said as the desk speaks, not pydantic's English
    typo = client.post("/orders/new", data={**form, "quantity": ["2", "abc"]})
    assert re.search(r'id="quantity-1-error" role="alert">un nombre, comme 3 ou 2,5<', typo.text)
    places = client.post("/orders/new", data={**form, "quantity": ["2", "1,2345"]})
    assert re.search(r'id="quantity-1-error" role="alert">trop de décimales<', places.text)
    assert session.execute(select(SaleOrder)).first() is None


def test_an_email_order_keeps_the_pasted_email(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    email = "Bonjour,\nmerci de nous envoyer 2 exemplaires.\nCordialement"
    form = {
        "csrf_token": token,
        "entry_key": "form-3",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "channel": "email",
        "email_text": email,
        "code": [shop["p2"]],
        "quantity": ["2"],
        "action": "save",
    }
    answer = client.post("/orders/new", data=form, follow_redirects=False)
    assert answer.status_code == 303
    order = session.execute(select(SaleOrder)).scalar_one()
    assert order.channel == "email" and order.email_text == email


def key_one_line(client: TestClient, token: str, shop: dict[str, str], entry_key: str) -> str:
    """A rep keys one line of the shop's first product without JavaScript; the order's number."""
    form = {
        "csrf_token": token,
        "entry_key": entry_key,
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [shop["p0"]],
        "quantity": ["1"],
        "action": "save",
    }
    return number_in(client.post("/orders/new", data=form, follow_redirects=False).headers["location"])


def test_a_new_status_link_ends_the_old_one(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    number = key_one_line(client, token, shop, "form-4")
    old = session.execute(select(OrderStatusLink.token)).scalar_one()
    page = client.get(f"/status/{old}")
    assert page.status_code == 200 and number in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "no-referrer"
    assert "Librairie des Halles" not in page.text
    client.post(f"/orders/{number}/status-link", data={"csrf_token": token})
    ended = client.get(f"/status/{old}")
    assert ended.status_code == 404 and "le vendeur peut vous en donner un nouveau" in ended.text
    new = session.execute(
        select(OrderStatusLink.token).where(OrderStatusLink.revoked_at.is_(None))
    ).scalar_one()
    assert len(new) >= 32 and client.get(f"/status/{new}").status_code == 200
    assert 'id="seller-contact"' not in client.get(f"/status/{new}").text  # none configured


def test_the_status_page_says_how_to_reach_the_seller(
    client: TestClient, session: Session, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_one_line(client, sign_in(client, session, "rep"), shop, "form-5")
    link = session.execute(select(OrderStatusLink.token)).scalar_one()
    monkeypatch.setenv("CARNET_SELLER_PHONE", "04 72 10 20 30")
    monkeypatch.setenv("CARNET_SELLER_EMAIL", "commandes@carnet-diffusion.fr")
    get_settings.cache_clear()
    try:
        page = client.get(f"/status/{link}").text
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    contact = page.split('id="seller-contact"', 1)[1].split("</p>", 1)[0]
    assert 'href="tel:0472102030"' in contact and 'href="mailto:commandes@carnet-diffusion.fr"' in contact


def test_status_pages_are_rate_limited(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status, "status_rate", status.RateLimit(5))
    answers = [client.get("/status/guessing-a-token") for _ in range(7)]
    assert [answer.status_code for answer in answers] == [404] * 5 + [429] * 2
    assert 0 < int(answers[-1].headers["retry-after"]) <= 60


def test_the_warehouse_ships_part_of_an_order_and_a_preview_prints_nothing(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    rep_token = sign_in(client, session, "rep")
    form = {
        "csrf_token": rep_token,
        "entry_key": "form-5",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [shop["p0"], shop["p1"]],
        "quantity": ["4", "2"],
        "action": "save",
    }
    number = number_in(client.post("/orders/new", data=form, follow_redirects=False).headers["location"])
    client.cookies.clear()
    token = sign_in(client, session, "warehouse")
    shipped = client.post(
        f"/warehouse/orders/{number}/ship",
        data={
            "csrf_token": token,
            "form_key": "ship-1",
            "qty-1": "1",
            "qty-2": "0",
            "parcel_count": "2",
            "carrier": "Geodis",
            "tracking_number": "",
        },
        follow_redirects=False,
    )
    assert shipped.status_code == 303
    note = session.execute(select(DeliveryNote)).scalar_one()
    assert (note.parcel_count, note.carrier, note.tracking_number) == (2, "Geodis", None)
    assert shipped.headers["location"] == f"/warehouse?shipped={note.number}"
    assert client.get(f"/warehouse/notes/{note.number}/preview").content.startswith(b"%PDF")
    session.refresh(note)
    assert note.print_count == 0
    assert client.post(f"/warehouse/notes/{note.number}/print", data={"csrf_token": token}).status_code == 200
    session.refresh(note)
    assert note.print_count == 1


def test_an_order_line_adds_up_by_hand_with_the_customer_discount_and_a_books_public_price(
    client: TestClient, session: Session
) -> None:
    customer = make_customer(session, discount_percent="12")
    mouse = make_product(session, price="59.57")
    book = make_product(session, price="35.00", vat_rate="5.5", includes_vat=True)
    number = order_of(session, customer, (mouse, 3), (book, 10))
    session.flush()
    sign_in(client, session, "rep")

    page = client.get(f"/orders/{number}").text

    def cells(code: str) -> list[str]:
        row = re.search(rf"<td>{code}</td>.*?</tr>", page, re.S)
        assert row, code
        return [
            re.sub(r"<[^>]+>|\s+", " ", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
        ]

    # 3 x 59,57 less 12 % = 157,26; 10 x 35,00 TTC less 12 % = 308,00 TTC: the amount in the price's basis.
    assert cells(mouse.code)[-3:] == ["59,57 €", "12 %", "157,26 €"]
    assert cells(book.code)[-3:] == ["35,00 € TTC", "12 %", "308,00 € TTC"]


def test_a_refused_shipment_shows_the_form_again_as_typed_with_the_message_beside_the_line(
    client: TestClient, session: Session
) -> None:
    customer = make_customer(session)
    first, second = make_product(session, stock="4"), make_product(session, stock="50")
    number = order_of(session, customer, (first, 2), (second, 5))
    session.flush()
    token = sign_in(client, session, "warehouse")
    form = client.get(f"/warehouse/orders/{number}").text
    assert re.search(r'name="qty-2" value="5"', form)  # what is left, as people write it
    typed = {"csrf_token": token, "form_key": "k1", "qty-1": "2", "qty-2": "9", "carrier": "Geodis"}

    answer = client.post(f"/warehouse/orders/{number}/ship", data=typed, follow_redirects=False)

    assert answer.status_code == 422
    page = answer.text
    assert "Rien n&#39;a été expédié" in page or "Rien n'a été expédié" in page
    message = re.search(r'<p class="error" id="qty-2-error" role="alert">([^<]+)</p>', page)
    assert message and "9" in message.group(1) and "5" in message.group(1)  # asked, and what is left
    assert 'name="qty-2" value="9"' in page and 'aria-describedby="qty-2-error"' in page
    assert 'value="Geodis"' in page  # the carrier typed is not lost
    assert session.execute(select(DeliveryNote)).first() is None

    for quantity in ("abc", "NaN", "-1"):
        answer = client.post(
            f"/warehouse/orders/{number}/ship", data={**typed, "qty-2": quantity}, follow_redirects=False
        )
        assert answer.status_code == 422 and 'id="qty-2-error"' in answer.text, quantity
    for parcels, said in (("abc", "un nombre entier, comme 3"), ("0", "au moins 1")):
        answer = client.post(
            f"/warehouse/orders/{number}/ship",
            data={**typed, "qty-2": "5", "parcel_count": parcels},
            follow_redirects=False,
        )
        # Beside the parcels' field, in the desk's words.
        assert re.search(
            rf'id="parcel_count"[^>]*>\s*<p class="error" id="parcel_count-error" role="alert">{said}<',
            answer.text,
        )
    assert session.execute(select(DeliveryNote)).first() is None
    shipped = client.post(
        f"/warehouse/orders/{number}/ship", data={**typed, "qty-2": "5"}, follow_redirects=False
    )
    assert shipped.status_code == 303


def test_the_warehouse_sees_every_order_to_ship_oldest_first_a_page_at_a_time(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = make_customer(session)
    product = make_product(session, stock="100")
    numbers = [order_of(session, customer, (product, 1)) for _ in range(5)]
    session.flush()
    monkeypatch.setattr(warehouse, "TO_SHIP", 2)
    sign_in(client, session, "warehouse")

    def listed(page: str) -> list[str]:
        return re.findall(r'<td><a href="/warehouse/orders/([^"]+)">', page)

    first = client.get("/warehouse").text
    assert "(5)" in first  # how many wait, not how many are shown
    assert listed(first) == numbers[:2]  # the oldest first: they ship first
    following = re.search(r'href="(/warehouse\?after=[^"]+)" id="to-ship-next"', first)
    assert following, "a page that is full links to the next"
    second = client.get(following.group(1)).text
    assert listed(second) == numbers[2:4]
    third = client.get(re.search(r'href="(/warehouse\?after=[^"]+)" id="to-ship-next"', second).group(1)).text
    assert listed(third) == numbers[4:] and 'id="to-ship-next"' not in third
    garbage = client.get("/warehouse?after=garbage")
    assert garbage.status_code == 422 and "<h1>Demande invalide</h1>" in garbage.text  # the desk's words
    client.get("/lang/en?next=/warehouse")
    assert "<h1>Invalid request</h1>" in client.get("/warehouse?after=garbage").text


def test_finance_lists_each_deferred_document_and_opens_it_as_the_customer_reads_it(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer, product = make_customer(session), make_product(session, stock="50")
    warehouse = auth_headers(session, role="warehouse")
    for quantity in (1, 2, 3):  # three deliveries, three deferred invoices
        ship(client, warehouse, order_of(session, customer, (product, quantity)))
    returned = client.post(
        "/api/v1/returns",
        json={"customer_code": customer.code, "lines": [{"product_code": product.code, "quantity": 1}]},
        headers=auth_headers(session, role="rep"),
    )
    assert returned.status_code == 201, returned.text
    credit_note = returned.json()["credit_note"]["reference"]
    monkeypatch.setattr(finance, "DOCUMENTS_PAGE", 2)
    sign_in(client, session, "finance")

    def references(page: str) -> list[str]:
        return re.findall(r'href="/finance/documents/([^"]+)\.pdf"', page)

    first = client.get("/finance/documents").text
    assert references(first)[0] == credit_note and len(references(first)) == 2  # newest first, a page
    following = re.search(r'href="(/finance/documents\?[^"]+)" rel="next"', first)
    assert following
    second = client.get(following.group(1).replace("&amp;", "&")).text
    assert len(references(second)) == 2 and credit_note not in references(second)
    only_credit_notes = client.get("/finance/documents", params={"kind": "credit_note"}).text
    assert references(only_credit_notes) == [credit_note]
    typed_lower = client.get("/finance/documents", params={"customer": f" {customer.code.lower()} "}).text
    assert credit_note in references(typed_lower)
    pdf = client.get(f"/finance/documents/{credit_note}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.cookies.clear()
    sign_in(client, session, "rep")
    assert client.get("/finance/documents").status_code == 403


def test_the_api_documentation_loads_nothing_from_elsewhere_and_offers_to_authorize(
    client: TestClient,
) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "/assets/swagger-ui-5.36.0/swagger-ui-bundle.js" in page.text
    assert client.get("/assets/swagger-ui-5.36.0/swagger-ui-bundle.js").status_code == 200
    assert client.get("/assets/htmx-2.0.11.min.js").status_code == 200
    schemes = client.get("/api/v1/openapi.json").json()["components"]["securitySchemes"]
    assert set(schemes) == {"signIn", "bearerToken", "partnerKey"}


def test_a_return_keyed_by_a_rep_gets_its_credit_note_and_a_bad_row_is_shown_beside_it(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    page = client.get("/returns/new")
    key = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert key
    form = {
        "csrf_token": token,
        "form_key": key.group(1),
        "customer_code": shop["customer"],
        "item": [shop["p0"], "", shop["p1"]],
        "quantity": ["2", "", "zero"],
        "reason": ["abîmé", "", ""],
    }
    refused = client.post("/returns/new", data=form)
    assert refused.status_code == 422
    assert 'id="quantity-2-error"' in refused.text and 'value="zero"' in refused.text
    form["quantity"] = ["2", "", "1"]
    recorded = client.post("/returns/new", data=form, follow_redirects=False)
    again = client.post("/returns/new", data=form, follow_redirects=False)
    assert recorded.status_code == 303 and recorded.headers["location"] == again.headers["location"]
    detail = client.get(recorded.headers["location"])
    assert "abîmé" in detail.text and "Avoir différé" in detail.text
    totals = detail.text.split('id="credit-note-totals"', 1)[1].split("</table>", 1)[0]
    assert "Total HT" in totals and "TVA 20" in totals and "Total TTC" in totals  # VAT shown, by rate


def test_an_admin_declares_an_incident_that_every_page_then_announces(
    client: TestClient, session: Session
) -> None:
    token = sign_in(client, session, "admin")
    answer = client.post(
        "/admin/incidents",
        data={"csrf_token": token, "reason": "ERP chiffré", "started_at": ""},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get("/orders")
    assert "ERP indisponible" in page.text and "banner-degraded" in page.text


def test_an_admin_imports_a_file_and_reads_the_refused_rows(client: TestClient, session: Session) -> None:
    token = sign_in(client, session, "admin")
    csv = b"code;nom;prix;tva\nART-1;Atlas;12,50;5,5\nART-2;Carte;douze;20\n"
    answer = client.post(
        "/admin/imports",
        data={"csrf_token": token, "kind": "products", "as_of": ""},
        files={"file": ("articles.csv", csv, "text/csv")},
    )
    assert answer.status_code == 200, re.findall(r'role="alert"[^>]*>([^<]+)', answer.text)
    assert "1 lignes importées" in answer.text
    assert "articles.csv" in answer.text and "douze" in answer.text


def test_a_partners_key_is_shown_once(client: TestClient, session: Session, shop: dict[str, str]) -> None:
    token = sign_in(client, session, "admin")
    answer = client.post(
        "/admin/partners", data={"csrf_token": token, "name": "Dilicom", "customers": shop["customer"]}
    )
    key = re.search(r'id="api-key">([^<]+)<', answer.text)
    assert key and key.group(1).startswith("ck_")
    assert key.group(1) not in client.get("/admin").text


def test_the_same_order_keyed_again_is_flagged_before_it_is_saved(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    form = {
        "csrf_token": token,
        "entry_key": "form-6",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [shop["p0"]],
        "quantity": ["11"],
        "action": "save",
    }
    first = number_in(client.post("/orders/new", data=form, follow_redirects=False).headers["location"])
    again = client.post("/orders/new", data={**form, "entry_key": "form-7", "action": "refresh"})
    assert f"Doublon possible : ce client a déjà {first}" in again.text
    assert "Stock insuffisant : " + shop["p0"] + ", 0 disponible(s) pour 11" in again.text


def test_the_desk_speaks_english_on_request(client: TestClient, session: Session) -> None:
    sign_in(client, session, "rep")
    assert "Saisie de commande" in client.get("/orders/new").text
    client.get("/lang/en?next=/orders/new")
    page = client.get("/orders/new")
    assert "Order entry" in page.text and 'lang="en"' in page.text


def test_a_rep_keys_an_order_beside_its_email_and_the_order_leads_back_to_it(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    customer = session.execute(select(Customer).where(Customer.code == shop["customer"])).scalar_one()
    customer.email = "achats@halles.fr"
    session.flush()
    raw = email(sender="achats@halles.fr", text="Merci de nous envoyer 2 Atlas.\n<b>urgent</b>")
    client.post(
        "/api/v1/email/messages",
        content=raw,
        headers={**auth_headers(session), "Content-Type": "message/rfc822"},
    )
    token = sign_in(client, session, "rep")
    listing = client.get("/inbox")
    assert "nouveau (1)" in listing.text
    item_id = re.search(r'href="/inbox/(\d+)"', listing.text)
    assert item_id
    page = client.get(f"/inbox/{item_id.group(1)}")
    assert "&lt;b&gt;urgent&lt;/b&gt;" in page.text  # the email shows as text, never as HTML
    assert 'name="inbox_item"' in page.text and "Librairie des Halles" in page.text
    form = {
        "csrf_token": token,
        "entry_key": "inbox-1",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "channel": "email",
        "email_text": "Merci",
        "inbox_item": item_id.group(1),
        "code": [shop["p0"]],
        "quantity": ["2"],
        "action": "save",
    }
    saved = client.post("/orders/new", data=form, follow_redirects=False)
    detail = client.get(saved.headers["location"])
    assert f'href="/inbox/{item_id.group(1)}"' in detail.text
    assert "saisi (1)" in client.get("/inbox").text


def test_an_email_that_is_not_an_order_needs_a_reason(client: TestClient, session: Session) -> None:
    raw = email(sender="pub@example.org", text="Promotion !")
    client.post(
        "/api/v1/email/messages",
        content=raw,
        headers={**auth_headers(session), "Content-Type": "message/rfc822"},
    )
    token = sign_in(client, session, "rep")
    item_id = re.search(r'href="/inbox/(\d+)"', client.get("/inbox").text)
    assert item_id
    refused = client.post(
        f"/inbox/{item_id.group(1)}/not-an-order", data={"csrf_token": token, "reason": " "}
    )
    assert refused.status_code == 422 and "say why" in refused.text
    done = client.post(
        f"/inbox/{item_id.group(1)}/not-an-order", data={"csrf_token": token, "reason": "publicité"}
    )
    assert done.status_code == 200 and "pas une commande (1)" in done.text


def test_ways_out_at_the_desk_a_given_up_backorder_a_cancelled_return_and_a_stock_count(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    rep = sign_in(client, session, "rep")
    form = {
        "csrf_token": rep,
        "entry_key": "ways-1",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [shop["p0"]],
        "quantity": ["14"],
        "action": "save",
    }
    number = number_in(client.post("/orders/new", data=form, follow_redirects=False).headers["location"])
    client.cookies.clear()
    warehouse = sign_in(client, session, "warehouse")
    client.post(f"/warehouse/orders/{number}/ship", data={"csrf_token": warehouse, "form_key": "w1"})
    note = session.execute(select(DeliveryNote)).scalar_one()
    assert "Abandon du reliquat" in client.get(f"/orders/{number}").text
    client.post(f"/orders/{number}/lines/1/close", data={"csrf_token": warehouse})
    order = session.execute(select(SaleOrder).where(SaleOrder.number == number)).scalar_one()
    session.refresh(order)
    assert order.status == "shipped"
    counted = client.post(
        "/warehouse/stock-count",
        data={"csrf_token": warehouse, "product_code": shop["p0"], "counted": "7", "reason": "inventaire"},
    )
    assert "Stock corrigé" in counted.text
    client.cookies.clear()
    rep = sign_in(client, session, "rep")
    page = client.get("/returns/new")
    key = re.search(r'name="form_key" value="([^"]+)"', page.text)
    assert key
    recorded = client.post(
        "/returns/new",
        data={
            "csrf_token": rep,
            "form_key": key.group(1),
            "customer_code": shop["customer"],
            "delivery_note_number": note.number,
            "item": [shop["p0"]],
            "quantity": ["1"],
            "reason": ["abîmé"],
        },
        follow_redirects=False,
    )
    refused = client.post(f"{recorded.headers['location'].split('?')[0]}/cancel", data={"csrf_token": rep})
    assert refused.status_code == 422 and "raison" in refused.text
    cancelled = client.post(
        f"{recorded.headers['location'].split('?')[0]}/cancel",
        data={"csrf_token": rep, "reason": "saisi deux fois"},
    )
    assert cancelled.status_code == 200 and "Annuler ce retour" not in cancelled.text


def test_the_title_search_finds_every_word_in_any_case_and_follows_a_renamed_title(
    client: TestClient, session: Session
) -> None:
    prince = make_product(session, code="PRINCE")
    prince.name = "Le Petit Prince"
    other = make_product(session, code="ATLAS")
    other.name = "Atlas des oiseaux"
    session.flush()
    sign_in(client, session, "rep")

    def found(typed: str) -> list[str]:
        page = client.get("/orders/new/products", params={"item": typed})
        return re.findall(r'data-value="([^"]+)"', page.text)

    assert found("petit prin") == ["PRINCE"]
    assert found("PRINCE") == ["PRINCE"]
    assert found("oiseaux atlas") == ["ATLAS"]
    assert found("zzzz") == []
    other.name = "Atlas des poissons"
    session.flush()
    assert found("poissons") == ["ATLAS"] and found("oiseaux") == []


def test_the_warehouse_page_offers_the_picking_list_of_the_day_and_of_each_order(
    client: TestClient, session: Session
) -> None:
    customer, product = make_customer(session), make_product(session, code="PD-1")
    number = order_of(session, customer, (product, 2))
    sign_in(client, session, "warehouse")
    page = client.get("/warehouse").text
    assert 'href="/warehouse/picking-list"' in page
    assert f'href="/warehouse/picking-list?order={number}"' in page
    pdf = client.get("/warehouse/picking-list", params={"order": number}).content
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    assert f"PD-1 {product.gtin} {product.name} 2 " in text


def held_edi_order(session: Session) -> tuple[str, dict[str, int], Product, Product]:
    """An EDI order held for review with three lines it could not take as sent: an unknown item (line
    10), 2.5 of a product sold in units (20), another unknown item (30). Its unresolved lines by line."""
    hub = make_hub(session)
    meant, unit = make_product(session, stock="10"), make_product(session, stock="10")
    meant.name = "Le Petit Prince illustré"
    session.flush()
    assert unit.gtin
    lines = [
        Line("UNKNOWN-10", 2, qualifier="IN", number="10", price="7.10"),
        Line(unit.gtin, "2.5", number="20"),
        Line("UNKNOWN-30", 1, qualifier="IN", number="30"),
    ]
    number = ingest(session, hub, order_edifact(lines)).body["orders"][0]
    order = session.execute(select(SaleOrder).where(SaleOrder.number == number)).scalar_one()
    held = session.execute(
        select(UnresolvedOrderLine.external_line_no, UnresolvedOrderLine.id).where(
            UnresolvedOrderLine.order_id == order.id
        )
    ).all()
    return number, {str(line_no): line_id for line_no, line_id in held}, meant, unit


def settle(client: TestClient, number: str, line_id: int, **form: str) -> Response:
    return client.post(f"/orders/{number}/unresolved-lines/{line_id}", data=form, follow_redirects=False)


def test_a_rep_settles_a_held_edi_orders_lines_on_its_page_and_the_order_is_released(
    client: TestClient, session: Session
) -> None:
    number, held, meant, unit = held_edi_order(session)
    token = sign_in(client, session, "rep")
    page = client.get(f"/orders/{number}")
    assert page.status_code == 200 and "Lignes du partenaire à régler (3)" in page.text
    assert "IN UNKNOWN-10" in page.text and ">7.1<" in page.text and ">2.5<" in page.text
    assert "Accepter la commande" not in page.text  # not while lines are open
    assert 'value="correct"' in page.text  # the known item's quantity can be corrected

    refused = settle(client, number, held["10"], csrf_token=token, item=meant.code, action="map")

    assert refused.status_code == 422
    reason_error = f'id="review-{held["10"]}-reason-error"'
    assert reason_error in refused.text and "indiquez le motif" in refused.text
    assert f'value="{meant.code}"' in refused.text  # what was typed is kept
    assert f'data-focus="review-{held["10"]}-reason"' in refused.text

    mapped = settle(
        client,
        number,
        held["10"],
        csrf_token=token,
        item="petit prince",
        reason="leur code pour notre titre",
        action="map",
    )
    assert mapped.status_code == 303 and mapped.headers["location"] == f"/orders/{number}"
    corrected = settle(
        client, number, held["20"], csrf_token=token, quantity="3", reason="vendu à l'unité", action="correct"
    )
    assert corrected.status_code == 303
    assert client.get(f"/orders/{number}").text.count('class="panel unresolved"') == 1
    removed = settle(client, number, held["30"], csrf_token=token, reason="plus édité", action="remove")
    assert removed.status_code == 303

    order = session.execute(select(SaleOrder).where(SaleOrder.number == number)).scalar_one()
    session.refresh(order)
    assert order.status == "captured"
    lines = session.execute(
        select(SaleOrderLine.product_code, SaleOrderLine.quantity).where(SaleOrderLine.order_id == order.id)
    ).all()
    assert sorted((code, quantity) for code, quantity in lines) == sorted(
        [(meant.code, Decimal(2)), (unit.code, Decimal(3))]
    )
    page = client.get(f"/orders/{number}").text
    assert "Lignes du partenaire à régler" not in page and 'id="settled-lines"' in page
    for settled, reason in (
        ("associée", "leur code pour notre titre"),
        ("corrigée", "vendu à l&#39;unité"),
        ("retirée", "plus édité"),
    ):
        assert settled in page and reason in page
    assert "saisie" in page  # released: it may ship


def test_the_item_is_looked_up_before_anything_is_recorded(client: TestClient, session: Session) -> None:
    number, held, meant, _ = held_edi_order(session)
    make_product(session).name = "Le Petit Prince de poche"
    session.flush()
    token = sign_in(client, session, "rep")

    ambiguous = settle(client, number, held["10"], csrf_token=token, item="petit prince", action="refresh")
    assert "plusieurs articles correspondent" in ambiguous.text
    found = settle(
        client, number, held["10"], csrf_token=token, item="illustré", quantity="2", action="refresh"
    )
    assert found.status_code == 200
    assert f'id="review-{held["10"]}-found">{meant.code} · Le Petit Prince illustré' in found.text
    assert f'data-focus="review-{held["10"]}-reason"' in found.text  # the partner's 2 is kept
    unknown = settle(client, number, held["10"], csrf_token=token, item="zzzz", reason="x", action="map")
    assert unknown.status_code == 422 and "aucun article ne correspond" in unknown.text
    line = session.get(UnresolvedOrderLine, held["10"])
    assert line is not None
    session.refresh(line)
    assert line.status == "open"


def test_with_htmx_only_the_lines_panel_comes_back_and_a_settled_line_reloads_the_order(
    client: TestClient, session: Session
) -> None:
    number, held, _, unit = held_edi_order(session)
    token = sign_in(client, session, "rep")
    htmx = {"HX-Request": "true"}
    path = f"/orders/{number}/unresolved-lines/{held['20']}"

    refused = client.post(path, data={"csrf_token": token, "quantity": "", "action": "correct"}, headers=htmx)

    assert refused.status_code == 200 and refused.text.lstrip().startswith(
        f'<section class="panel unresolved" id="unresolved-{held["20"]}"'
    )
    assert "indiquez la quantité" in refused.text and "indiquez le motif" in refused.text
    assert "<html" not in refused.text
    done = client.post(
        path,
        data={"csrf_token": token, "quantity": "2", "reason": "arrondi", "action": "correct"},
        headers=htmx,
    )
    assert done.status_code == 204 and done.headers["HX-Redirect"] == f"/orders/{number}"
    again = client.post(
        path,
        data={"csrf_token": token, "quantity": "2", "reason": "arrondi", "action": "correct"},
        headers=htmx,
    )
    assert again.status_code == 204  # settled meanwhile (a double click): the order as it now is
    assert unit.code in client.get(f"/orders/{number}").text


def test_settling_a_line_needs_the_forms_token_and_a_rep(client: TestClient, session: Session) -> None:
    number, held, _, _ = held_edi_order(session)
    sign_in(client, session, "rep")
    forged = settle(client, number, held["30"], reason="x", action="remove")
    assert forged.status_code == 403
    client.cookies.clear()
    warehouse = sign_in(client, session, "warehouse")
    page = client.get(f"/orders/{number}")
    assert page.status_code == 200 and "unresolved-lines/" not in page.text
    assert (
        settle(client, number, held["30"], csrf_token=warehouse, reason="x", action="remove").status_code
        == 403
    )
    line = session.get(UnresolvedOrderLine, held["30"])
    assert line is not None
    session.refresh(line)
    assert line.status == "open"


def test_the_lines_to_settle_speak_english_on_request(client: TestClient, session: Session) -> None:
    number, held, _, _ = held_edi_order(session)
    token = sign_in(client, session, "rep")
    client.get(f"/lang/en?next=/orders/{number}")
    page = client.get(f"/orders/{number}").text
    assert "The partner&#39;s lines to settle (3)" in page and "Map to the item" in page
    refused = settle(client, number, held["30"], csrf_token=token, action="remove")
    assert refused.status_code == 422 and "give the reason" in refused.text


def test_a_suggested_item_says_what_is_free_to_promise_never_a_negative_stock(
    client: TestClient, session: Session
) -> None:
    plenty, short = (
        make_product(session, code="FREE-1", stock="5"),
        make_product(session, code="SHORT-1", stock="5"),
    )
    plenty.reserved_quantity, short.reserved_quantity = Decimal("2"), Decimal("8")
    session.flush()
    sign_in(client, session, "rep")

    def said(code: str) -> str:
        page = client.get("/orders/new/products", params={"item": code}).text
        return re.sub(r"<[^>]+>", "", page)

    assert "disponible 3" in said("FREE-1")
    assert "rien de disponible (3 promis en plus du stock)" in said("SHORT-1") and "-3" not in said("SHORT-1")


def test_an_attachment_downloads_under_the_name_it_was_sent_with_whatever_its_characters(
    client: TestClient, session: Session
) -> None:
    name = 'Commande n°12 – Œuvres "urgent".pdf'
    raw = email(
        sender="achats@halles.fr", text="Ci-joint.", attachments=[(name, "application/pdf", b"%PDF-1.7 x")]
    )
    client.post(
        "/api/v1/email/messages",
        content=raw,
        headers={**auth_headers(session), "Content-Type": "message/rfc822"},
    )
    sign_in(client, session, "rep")
    item_id = re.search(r'href="/inbox/(\d+)"', client.get("/inbox").text)
    assert item_id
    link = re.search(r'href="(/inbox/\d+/attachments/\d+)"', client.get(f"/inbox/{item_id.group(1)}").text)
    assert link
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.content == b"%PDF-1.7 x"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Commande_n_12____uvres__urgent_.pdf"')
    assert disposition.endswith("filename*=UTF-8''" + quote(name, safe=""))
    assert download.headers["x-content-type-options"] == "nosniff"


def test_the_orders_search_form_finds_by_text_with_any_status_left_blank(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    token = sign_in(client, session, "rep")
    number = key_one_line(client, token, shop, "search-1")
    found = client.get("/orders", params={"q": "halles", "status": ""})  # as the form sends it
    assert found.status_code == 200 and number in found.text
    captured = client.get("/orders", params={"q": "", "status": "captured"})
    assert number in captured.text
    assert number not in client.get("/orders", params={"q": "", "status": "shipped"}).text
    long = client.get("/orders", params={"q": "x" * 150, "status": "nonsense"})
    assert long.status_code == 200 and number not in long.text


def test_a_line_quantity_changed_with_a_decimal_comma_is_read_as_typed(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    cable = make_product(session, price="2.00", decimals=True)
    token = sign_in(client, session, "rep")
    form = {
        "csrf_token": token,
        "entry_key": "comma-1",
        "customer_query": shop["customer"],
        "customer_code": shop["customer"],
        "code": [cable.code],
        "quantity": ["3,5"],  # changed on the line itself, after the add bar took "2,5"
        "action": "save",
    }
    saved = client.post("/orders/new", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    number = number_in(saved.headers["location"])
    quantities = select(SaleOrderLine.quantity).join(SaleOrder).where(SaleOrder.number == number)
    assert session.execute(quantities).scalars().all() == [Decimal("3.5")]


def test_a_return_row_takes_words_of_a_title_and_a_decimal_comma_as_order_entry_does(
    client: TestClient, session: Session, shop: dict[str, str]
) -> None:
    cable = make_product(session, price="2.00", decimals=True)
    cable.name = "Câble coaxial RG6, au mètre"
    session.flush()
    token = sign_in(client, session, "rep")
    form = {
        "csrf_token": token,
        "form_key": "return-words-1",
        "customer_code": shop["customer"].lower(),
        "item": ["coaxial rg6", "Introuvable Zorglub"],
        "quantity": ["1,5", "1"],
        "reason": ["", ""],
    }
    refused = client.post("/returns/new", data=form)
    assert refused.status_code == 422
    assert re.search(r'id="item-1-error"[^>]*>aucun article ne correspond<', refused.text)
    assert 'id="item-0-error"' not in refused.text and 'id="quantity-0-error"' not in refused.text
    form["item"], form["quantity"] = ["coaxial rg6"], ["1,5"]
    recorded = client.post("/returns/new", data=form, follow_redirects=False)
    assert recorded.status_code == 303, recorded.text
    detail = client.get(recorded.headers["location"]).text
    assert cable.code in detail and "1,5" in detail
