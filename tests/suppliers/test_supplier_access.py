"""A supplier's users read their own titles and report, in the API and the desk, and nothing else:
not another supplier's titles, not an order, never a customer."""

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.auth.service import create_user
from app.errors import InvalidInput
from app.suppliers.report_formats import FrenchExcel
from tests.builders import PASSWORD, auth_headers, make_customer, make_product, make_user
from tests.web.test_desk_pages import csrf_of

GALLIMARD = ("GALL", "Gallimard")
SEUIL = ("SEUIL", "Éditions du Seuil")
# The only API routes a supplier's users may call (all others answer 403).
SUPPLIER_ROUTES = {
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{code}"),
    ("GET", "/api/v1/suppliers/{code}/report"),
}


# API routes anyone may call, signed in or not (no customer in them), and signing out.
PUBLIC_ROUTES = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/sign-out"),
    ("GET", "/api/v1/system"),
    ("GET", "/api/v1/metrics"),
}


def api_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route the API documents under its prefix."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, methods in paths.items()
        if path.startswith("/api/v1/")
        for method in methods
    ]


def test_every_other_api_route_refuses_a_supplier(client: TestClient, session: Session) -> None:
    gallimard = auth_headers(session, role="supplier", supplier_code="GALL")
    routes = api_routes(client)
    assert set(routes) > SUPPLIER_ROUTES | PUBLIC_ROUTES
    for method, path in routes:
        if (method, path) in SUPPLIER_ROUTES | PUBLIC_ROUTES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        answer = client.request(method, url, headers=gallimard)
        assert answer.status_code == 403, (method, path, answer.status_code)


class TestApi:
    def test_a_supplier_lists_and_reads_only_its_own_titles(
        self, client: TestClient, session: Session
    ) -> None:
        novel = make_product(session, supplier=GALLIMARD)
        essay = make_product(session, supplier=SEUIL)
        unsupplied = make_product(session)
        gallimard = auth_headers(session, role="supplier", supplier_code="GALL")
        listed = client.get("/api/v1/products", headers=gallimard).json()
        assert [p["code"] for p in listed["items"]] == [novel.code]
        assert client.get(f"/api/v1/products/{novel.code}", headers=gallimard).status_code == 200
        for other in (essay, unsupplied):
            assert client.get(f"/api/v1/products/{other.code}", headers=gallimard).status_code == 404

    def test_a_supplier_account_tied_to_no_supplier_sees_nothing(
        self, client: TestClient, session: Session
    ) -> None:
        make_product(session)
        nobody = auth_headers(session, role="supplier")
        assert client.get("/api/v1/products", headers=nobody).status_code == 403

    def test_a_rep_still_sees_every_title(self, client: TestClient, session: Session) -> None:
        codes = {make_product(session, supplier=GALLIMARD).code, make_product(session).code}
        listed = client.get("/api/v1/products", headers=auth_headers(session)).json()
        assert codes <= {p["code"] for p in listed["items"]}


class TestAccounts:
    def test_a_supplier_account_needs_its_supplier_code(self, session: Session) -> None:
        with pytest.raises(InvalidInput):
            create_user(session, username="gall", password=PASSWORD, role="supplier")
        with pytest.raises(InvalidInput):
            create_user(session, username="rep", password=PASSWORD, role="rep", supplier_code="GALL")
        user = create_user(session, username="gall", password=PASSWORD, role="supplier", supplier_code="GALL")
        assert (user.role, user.supplier_code) == ("supplier", "GALL")


def sign_in_supplier(client: TestClient, session: Session, supplier_code: str) -> None:
    user = make_user(session, role="supplier", supplier_code=supplier_code)
    token = csrf_of(client.get("/login").text)
    form = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    answer = client.post("/login", data=form, follow_redirects=False)
    assert answer.status_code == 303


class TestDesk:
    @pytest.fixture
    def titles(self, client: TestClient, session: Session) -> dict[str, str]:
        shop = make_customer(session, name="Librairie du Rivage")
        novel = make_product(session, stock="4", supplier=GALLIMARD)
        essay = make_product(session, stock="5", supplier=SEUIL)
        body = {
            "customer_code": shop.code,
            "channel": "phone",
            "lines": [{"product_code": novel.code, "quantity": 3}],
        }
        assert client.post("/api/v1/orders", json=body, headers=auth_headers(session)).status_code == 201
        return {"novel": novel.code, "essay": essay.code, "shop": shop.name}

    def test_a_supplier_lands_on_its_titles_and_sees_no_customer(
        self, client: TestClient, session: Session, titles: dict[str, str]
    ) -> None:
        sign_in_supplier(client, session, "GALL")
        home = client.get("/", follow_redirects=True)
        assert home.url.path == "/supplier"
        page = client.get("/supplier", params={"supplier": "SEUIL", "from": "2026-01-01"}).text
        assert titles["novel"] in page and "Gallimard" in page
        assert titles["essay"] not in page and titles["shop"] not in page
        assert 'href="/orders"' not in page

    def test_a_supplier_downloads_its_report_as_csv(
        self, client: TestClient, session: Session, titles: dict[str, str]
    ) -> None:
        sign_in_supplier(client, session, "GALL")
        answer = client.get("/supplier/report.csv", params={"from": "2026-01-01"})
        assert answer.status_code == 200
        rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), dialect=FrenchExcel))
        assert [row[0] for row in rows] == ["Code", titles["novel"], "Total"]
        assert rows[1][5] == "3"  # ordered

    @pytest.mark.parametrize(
        "page", ["/orders", "/orders/new", "/warehouse", "/finance", "/admin", "/inbox", "/edi"]
    )
    def test_other_desk_pages_are_refused_to_a_supplier(
        self, client: TestClient, session: Session, page: str
    ) -> None:
        sign_in_supplier(client, session, "GALL")
        assert client.get(page).status_code == 403

    def test_finance_chooses_the_supplier(
        self, client: TestClient, session: Session, titles: dict[str, str]
    ) -> None:
        finance = make_user(session, role="finance")
        token = csrf_of(client.get("/login").text)
        form = {"username": finance.username, "password": PASSWORD, "csrf_token": token}
        client.post("/login", data=form, follow_redirects=False)
        page = client.get("/supplier", params={"supplier": "SEUIL", "from": "2026-01-01"}).text
        assert titles["essay"] in page and titles["novel"] not in page
