"""Robustness through the whole ingestion: damaged fixtures (and corpus files) never give a server error, are
always kept byte for byte, and never leave part of an interchange's orders behind.

The partner has a single customer (so that buyers it does not know still land somewhere) and
every item of the samples is known, by GTIN or through a partner item mapping, so that damaged
files do reach order capture. Mutations are those of transfers gone wrong: flipped bytes,
truncation, deleted ranges, repeated or dropped segments.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.edi.models import EdiInterchange, PartnerItem
from app.edi.samples import eancom_orders_interchange
from app.edi.snapshot import gtin_forms
from app.orders.models import SaleOrder, SaleOrderLine
from tests.builders import make_product
from tests.edi.conformance import ALL_FILES, sidecar
from tests.edi.edi_builders import Hub, make_hub

SAMPLES = {path.name: path.read_bytes() for path in ALL_FILES}
SAMPLE_GTINS = ["4006381333931", "9783898307529"]
SAMPLES["generated.edi"] = eancom_orders_interchange(
    4,
    3,
    buyer_gln="5412345000013",
    delivery_gln="5412345000020",
    gtins=SAMPLE_GTINS,
    sender="5412345000013",
    receiver="5499999000009",
    control_ref="77",
)
_SEGMENT_END = re.compile(rb"['~\n\x15]|</[^>]*>")


def _items() -> set[str]:
    items = set(SAMPLE_GTINS)
    for path in ALL_FILES:
        expected = sidecar(path) or {}
        for order in expected.get("orders", []) + expected.get("lenient_orders", []):
            items.update(line["item"] for line in order["lines"])
    return items


@pytest.fixture
def fuzz_hub(session: Session) -> Hub:
    hub = make_hub(session, gln=None)
    taken: set[str] = set()
    for item in sorted(_items()):
        forms = gtin_forms(item)
        product = make_product(session, stock="1000", decimals=True)
        if forms and forms[0] not in taken:
            product.gtin = forms[0]
            taken.add(forms[0])
        session.add(PartnerItem(partner_id=hub.partner.id, item_id=item, product_id=product.id))
    session.flush()
    return hub


def _bounds(data: bytes) -> list[int]:
    return [0, *(m.end() for m in _SEGMENT_END.finditer(data)), len(data)]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    data = SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))]
    for _ in range(draw(st.integers(1, 3))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "truncate", "delete", "repeat_segment", "drop_segment"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 40)) :]
        else:
            bounds = _bounds(data)
            index = draw(st.integers(0, len(bounds) - 2))
            start, end = bounds[index], bounds[index + 1]
            segment = data[start:end]
            data = (
                data[:end] + segment + data[end:] if kind == "repeat_segment" else data[:start] + data[end:]
            )
    return data


def _count(session: Session, model: type[SaleOrder]) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=damaged())
def test_damaged_files_never_fail_the_server_nor_leave_partial_orders(
    client: TestClient, session: Session, fuzz_hub: Hub, data: bytes
) -> None:
    before = _count(session, SaleOrder)
    answer = client.post("/api/v1/edi/interchanges", content=data, headers={"X-API-Key": fuzz_hub.key})
    assert answer.status_code in (200, 201), answer.text
    body = answer.json()
    row = session.get(EdiInterchange, body["id"])
    assert row is not None
    if answer.status_code == 201:
        assert row.raw == data
    created = _count(session, SaleOrder) - before
    assert created == (len(body["orders"]) if answer.status_code == 201 else 0)
    assert body["status"] in ("accepted", "partially_accepted", "rejected")
    if body["status"] == "rejected":
        assert body["orders"] == [] and body["errors"]
    else:
        assert body["orders"] and len(body["orders"]) == sum(m["order"] is not None for m in body["messages"])
    for number in body["orders"] if answer.status_code == 201 else ():
        lines = session.execute(
            select(func.count())
            .select_from(SaleOrderLine)
            .join(SaleOrder, SaleOrder.id == SaleOrderLine.order_id)
            .where(SaleOrder.number == number)
        ).scalar_one()
        assert lines >= 1
