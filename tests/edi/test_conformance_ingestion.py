"""Conformance through the whole ingestion: every fixture (and every public corpus file, when
configured) posted by a partner over HTTP.

The partner is set up from the sidecar: one customer per buyer (its GLN when the buyer id is a
valid GLN, otherwise a `partner_party` mapping; a partner of a single customer when the orders
name no buyer), one product per item (found by GTIN when the file gives a valid GTIN/ISBN/UPC,
otherwise through a `partner_item` mapping). Verdicts (MANIFEST): a sidecar with `error` is
rejected with located errors and no order; `reject_or_warn` follows the decision documented in
`conformance.py`; every other file gives exactly the listed orders — same po_number, buyer,
customer, and every listed line on the order, as sent: an order line with its product and quantity,
or, when it cannot be one (a quantity of 0, of 123,456,789,012), an unresolved line keeping the
partner's item and quantity that holds the order for review. A listed order without any line is
an order too, held. Whatever the verdict, the raw file is stored byte for byte and an
acknowledgment is produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.catalog.schemas import normalize_gln
from app.edi.documents import Interchange, ItemIdKind
from app.edi.issues import InterchangeRejected
from app.edi.models import EdiInterchange, PartnerItem, PartnerParty
from app.edi.parse import parse_interchange
from app.edi.partners import create_partner
from app.edi.snapshot import GTIN_KINDS, gtin_forms
from app.orders.models import SaleOrder, SaleOrderLine, UnresolvedOrderLine
from tests.builders import make_customer, make_product
from tests.edi.conformance import ALL_FILES, REJECT_OR_WARN_DECISIONS, file_id, sidecar

URL = "/api/v1/edi/interchanges"


@dataclass
class Setup:
    key: str
    customers: list[Customer]
    customer_by_buyer: dict[str | None, int]
    product_by_item: dict[str, str]


def _lenient(data: bytes) -> Interchange | None:
    try:
        return parse_interchange(data)
    except InterchangeRejected as rejection:
        return rejection.interchange


def _item_kinds(interchange: Interchange | None) -> dict[str, set[ItemIdKind]]:
    kinds: dict[str, set[ItemIdKind]] = {}
    for order in interchange.orders if interchange else ():
        for line in order.lines:
            if line.identifiers:
                first = line.identifiers[0]
                kinds.setdefault(first.value, set()).add(first.kind)
    return kinds


def _is_gln(value: str) -> bool:
    try:
        normalize_gln(value)
    except ValueError:
        return False
    return True


def set_up(session: Session, path: Path, data: bytes, orders: list[dict[str, Any]]) -> Setup:
    buyers = {order["buyer"] for order in orders}
    assert buyers == {None} or None not in buyers, "a file mixing orders with and without buyer"
    customer_by_buyer: dict[str | None, int] = {}
    customers = []
    unmapped: list[tuple[str, Customer]] = []
    for buyer in sorted(buyers, key=str):
        customer = make_customer(session, gln=buyer if buyer and _is_gln(buyer) else None)
        customers.append(customer)
        customer_by_buyer[buyer] = customer.id
        if buyer and customer.gln is None:
            unmapped.append((buyer, customer))
    if not customers:
        customers.append(make_customer(session))
    partner, key = create_partner(
        session, name=f"conformance {path.name}", customer_codes=[c.code for c in customers]
    )
    partner.csv_profile = (sidecar(path) or {}).get("csv_profile")  # the partner's CSV layout, if any
    session.add_all(PartnerParty(partner_id=partner.id, party_id=b, customer_id=c.id) for b, c in unmapped)

    kinds = _item_kinds(_lenient(data))
    fractional = {
        line["item"] for order in orders for line in order["lines"] if Decimal(str(line["quantity"])) % 1
    }
    product_by_item: dict[str, str] = {}
    product_by_gtin: dict[str, str] = {}
    for item in sorted({line["item"] for order in orders for line in order["lines"]}):
        forms = gtin_forms(item)
        by_gtin = bool(forms) and bool(kinds.get(item, set()) & GTIN_KINDS)
        code = product_by_gtin.get(forms[0]) if by_gtin else None
        if code is None:
            product = make_product(session, stock="1000000000", decimals=item in fractional)
            product.gtin = forms[0] if by_gtin else None
            code = product.code
            if by_gtin:
                product_by_gtin[forms[0]] = code
            if not by_gtin or kinds.get(item, set()) - GTIN_KINDS:
                session.add(PartnerItem(partner_id=partner.id, item_id=item, product_id=product.id))
        product_by_item[item] = code
    session.flush()
    return Setup(key, customers, customer_by_buyer, product_by_item)


def _orders_of(session: Session, customers: list[Customer]) -> list[SaleOrder]:
    query = (
        select(SaleOrder).where(SaleOrder.customer_id.in_([c.id for c in customers])).order_by(SaleOrder.id)
    )
    return list(session.execute(query).scalars())


def _located(issues: list[dict[str, Any]]) -> None:
    assert issues
    for issue in issues:
        assert issue["loc"] and issue["loc"] != "start of data" and issue["msg"], issue


def _captured_lines(session: Session, order: SaleOrder, setup: Setup) -> list[tuple[str, Decimal]]:
    lines = session.execute(select(SaleOrderLine).where(SaleOrderLine.order_id == order.id)).scalars()
    captured = [(line.product_code, line.quantity) for line in lines]
    unresolved = session.execute(
        select(UnresolvedOrderLine).where(UnresolvedOrderLine.order_id == order.id)
    ).scalars()
    for line in unresolved:
        assert order.status == "needs_review" and line.status == "open"
        captured.append((setup.product_by_item.get(line.items[0]["id"], "?"), Decimal(line.quantity)))
    return sorted(captured)


def check_accepted(
    session: Session, body: dict[str, Any], expected: list[dict[str, Any]], setup: Setup
) -> None:
    assert body["status"] in ("accepted", "partially_accepted"), body["errors"]
    messages = body["messages"]
    assert [m["po_number"] for m in messages] == [o["po_number"] for o in expected]
    orders = {order.number: order for order in _orders_of(session, setup.customers)}
    assert sorted(orders) == sorted(body["orders"])
    for message, wanted in zip(messages, expected, strict=True):
        assert message["status"] in ("captured", "needs_review"), message
        if not wanted["lines"]:
            assert message["status"] == "needs_review" and "no_line" in message["problems"]
        order = orders[message["order"]]
        assert order.customer_id == setup.customer_by_buyer[wanted["buyer"]]
        assert order.channel == "edi" and (order.external_references or {}).get("buyer_id") == wanted["buyer"]
        assert (order.external_references or {})["po_number"] == wanted["po_number"]
        lines = [(setup.product_by_item[li["item"]], Decimal(str(li["quantity"]))) for li in wanted["lines"]]
        assert _captured_lines(session, order, setup) == sorted(lines)


@pytest.mark.parametrize("path", ALL_FILES, ids=file_id)
def test_file_through_ingestion(client: TestClient, session: Session, path: Path) -> None:
    data = path.read_bytes()
    expected = sidecar(path)
    listed = (expected or {}).get("orders") or (expected or {}).get("lenient_orders") or []
    setup = set_up(session, path, data, listed)
    before = session.execute(select(func.count()).select_from(SaleOrder)).scalar_one()

    answer = client.post(URL, content=data, headers={"X-API-Key": setup.key})

    assert answer.status_code == 201, answer.text
    body = answer.json()
    row = session.get(EdiInterchange, body["id"])
    assert row is not None and row.raw == data and row.size == len(data)  # nothing lost
    assert body["acknowledgment_url"] is not None
    decision = REJECT_OR_WARN_DECISIONS.get(path.name)
    rejected = expected is None or "error" in expected or (decision is not None and decision[0] == "reject")
    if rejected:
        assert body["status"] == "rejected" and body["orders"] == []
        _located(body["errors"])
        assert session.execute(select(func.count()).select_from(SaleOrder)).scalar_one() == before
        if decision is not None:
            assert decision[1].value in {e["code"] for e in body["errors"]}
        return
    assert expected is not None
    check_accepted(session, body, expected["orders"], setup)
    if decision is not None:
        assert decision[1].value in {w["code"] for w in body["warnings"]}
