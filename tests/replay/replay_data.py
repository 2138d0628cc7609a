"""Captured documents for replay tests, made through the real services: orders captured, shipped
(a delivery note and its deferred invoice each), and every few a return (a deferred credit note)."""

import itertools
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.catalog.models import Customer, Product
from app.delivery.schemas import ReturnCreate
from app.fulfilment.service import record_return, ship_order
from app.orders.capture import capture_order
from app.orders.schemas import OrderCreate
from tests.builders import make_customer, make_product

REP = Actor(kind="user", id=9101, name="rep", role="rep")
WAREHOUSE = Actor(kind="user", id=9102, name="warehouse", role="warehouse")
FINANCE = Actor(kind="user", id=9103, name="finance", role="finance")
ADMIN = Actor(kind="user", id=9104, name="admin", role="admin")


@dataclass
class Captured:
    customers: list[Customer]
    products: list[Product]
    orders: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    credit_notes: list[str] = field(default_factory=list)

    @property
    def documents(self) -> int:
        return len(self.orders) + len(self.invoices) + len(self.credit_notes)


def catalogue(session: Session, *, customers: int = 4, products: int = 4) -> Captured:
    """Customers (one with a discount) and products at several VAT rates, books at VAT-inclusive prices."""
    prices = [("22.00", "5.5", True), ("35.00", "20", False), ("12.35", "10", False), ("3.20", "2.1", True)]
    return Captured(
        customers=[make_customer(session, discount_percent="5" if n == 0 else "0") for n in range(customers)],
        products=[
            make_product(session, price=price, vat_rate=rate, includes_vat=incl, stock="1000000")
            for price, rate, incl in itertools.islice(itertools.cycle(prices), products)
        ],
    )


def capture(
    session: Session, data: Captured, *, orders: int, credit_every: int = 2, ship: bool = True
) -> Captured:
    """`orders` orders of two lines, each shipped whole; every `credit_every`-th note sees one unit back."""
    for n in range(orders):
        customer = data.customers[n % len(data.customers)]
        first, second = data.products[n % len(data.products)], data.products[(n + 1) % len(data.products)]
        draft = OrderCreate(
            customer_code=customer.code,
            channel="phone",
            customer_reference=f"PO-{n:05d}",
            lines=[
                {"product_code": first.code, "quantity": 1 + n % 7},
                {"product_code": second.code, "quantity": 2, "discount_percent": "10"},
            ],
        )
        number = capture_order(session, draft=draft, actor=REP).number
        data.orders.append(number)
        if not ship:
            continue
        note = ship_order(session, number=number, lines=None, actor=WAREHOUSE)
        data.notes.append(note.number)
        data.invoices.append(note.number)
        if credit_every and n % credit_every == 0:
            back = ReturnCreate(
                customer_code=customer.code,
                delivery_note_number=note.number,
                lines=[{"product_code": first.code, "quantity": Decimal(1), "reason": "unsold"}],
            )
            credit_note = record_return(session, draft=back, actor=REP).credit_note
            data.credit_notes.append(credit_note.reference)
    return data
