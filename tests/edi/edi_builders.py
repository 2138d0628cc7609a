"""Builders for EDI ingestion tests: partners with customers and products, small EDIFACT and X12
purchase orders, and one call that stores and processes an interchange as the HTTP route does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import Partner
from app.auth.service import Actor, actor_from_api_key
from app.catalog.models import Customer, Product
from app.edi import ingestion
from app.edi.edifact_syntax import format_segment
from app.edi.models import PartnerItem, PartnerParty
from app.edi.partners import create_partner
from app.orders.models import SaleOrder
from tests.builders import make_customer

BUYER_GLN = "5412345000013"
DELIVERY_GLN = "5412345000020"
SUPPLIER_GLN = "5499999000009"


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str | int = 1
    qualifier: str = "EN"
    price: str | None = None
    number: str | None = None


@dataclass(frozen=True)
class Hub:
    """A partner, its key and the actor its key resolves to."""

    partner: Partner
    key: str
    actor: Actor
    customer: Customer


def make_hub(
    session: Session, *, gln: str | None = BUYER_GLN, others: int = 0, name: str | None = None
) -> Hub:
    customer = make_customer(session, gln=gln)
    extra = [make_customer(session) for _ in range(others)]
    partner, key = create_partner(
        session,
        name=name or f"Hub {customer.code}",
        customer_codes=[customer.code, *(c.code for c in extra)],
    )
    return Hub(partner, key, actor_from_api_key(session, key), customer)


def map_party(
    session: Session, hub: Hub, party_id: str, customer: Customer, address_id: int | None = None
) -> None:
    session.add(
        PartnerParty(
            partner_id=hub.partner.id,
            party_id=party_id,
            customer_id=customer.id,
            shipping_address_id=address_id,
        )
    )
    session.flush()


def map_item(session: Session, hub: Hub, item_id: str, product: Product) -> None:
    session.add(PartnerItem(partner_id=hub.partner.id, item_id=item_id, product_id=product.id))
    session.flush()


def orders_message(
    reference: str,
    po_number: str,
    lines: Sequence[Line],
    *,
    buyer: str | None = BUYER_GLN,
    delivery: str | None = None,
) -> list[str]:
    segments = [
        format_segment("UNH", [reference, ("ORDERS", "D", "96A", "UN", "EAN008")]),
        format_segment("BGM", ["220", po_number, "9"]),
        format_segment("DTM", [("137", "20261120", "102")]),
        format_segment("DTM", [("2", "20261125", "102")]),
    ]
    if buyer is not None:
        segments.append(format_segment("NAD", ["BY", (buyer, "", "9")]))
    if delivery is not None:
        segments.append(format_segment("NAD", ["DP", (delivery, "", "9")]))
    segments.append(format_segment("NAD", ["SU", (SUPPLIER_GLN, "", "9")]))
    for position, line in enumerate(lines, start=1):
        segments.append(
            format_segment("LIN", [line.number or str(position), "", (line.item, line.qualifier)])
        )
        segments.append(format_segment("QTY", [("21", str(line.quantity))]))
        if line.price is not None:
            segments.append(format_segment("PRI", [("AAA", line.price)]))
    segments += [format_segment("UNS", ["S"]), format_segment("CNT", [("2", str(len(lines)))])]
    segments.append(format_segment("UNT", [str(len(segments) + 1), reference]))
    return segments


def edifact(
    *messages: list[str], control_ref: str = "1001", sender: str = BUYER_GLN, test: bool = False
) -> bytes:
    unb: list[Any] = [("UNOC", "3"), (sender, "14"), (SUPPLIER_GLN, "14"), ("261120", "0830"), control_ref]
    if test:
        unb += ["", "", "", "", "", "1"]
    segments = ["UNA:+.? '", format_segment("UNB", unb)]
    for message in messages:
        segments += message
    segments.append(format_segment("UNZ", [str(len(messages)), control_ref]))
    return "\n".join(segments).encode("latin-1") + b"\n"


def order_edifact(
    lines: Sequence[Line], *, po_number: str = "PO-1", control_ref: str = "1001", **kwargs: Any
) -> bytes:
    buyer = kwargs.pop("buyer", BUYER_GLN)
    delivery = kwargs.pop("delivery", None)
    return edifact(
        orders_message("1", po_number, lines, buyer=buyer, delivery=delivery),
        control_ref=control_ref,
        **kwargs,
    )


def x12_850(
    lines: Sequence[Line], *, po_number: str = "PO-X1", control: str = "000000101", buyer: str | None = None
) -> bytes:
    body = [f"BEG*00*SA*{po_number}**20261120"]
    if buyer is not None:
        body.append(f"N1*BY*Buyer*92*{buyer}")
    for position, line in enumerate(lines, start=1):
        price = line.price or ""
        body.append(f"PO1*{line.number or position}*{line.quantity}*EA*{price}**{line.qualifier}*{line.item}")
    body.append(f"CTT*{len(lines)}")
    transaction = ["ST*850*0001", *body, f"SE*{len(body) + 2}*0001"]
    segments = [
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'BUYERX12':<15}*ZZ*{'CARNET':<15}*261120*0830*U*00401*"
        f"{control}*0*P*>",
        "GS*PO*BUYERX12*CARNET*20261120*0830*17*X*004010",
        *transaction,
        "GE*1*17",
        f"IEA*1*{control}",
    ]
    return "~\n".join(segments).encode() + b"~\n"


def ingest(
    session: Session, hub: Hub, data: bytes, *, content_type: str | None = None
) -> ingestion.InterchangeOutcome:
    """What `POST /edi/interchanges` does, on the test's session: store, parse, process."""
    stored = ingestion.store_interchange(session, actor=hub.actor, data=data, content_type=content_type)
    reading = ingestion.read_stored(data, stored)
    return ingestion.process_interchange(session, interchange_id=stored.id, reading=reading)


def order_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(SaleOrder)).scalar_one()
