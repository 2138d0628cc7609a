"""Helpers shared by the fulfilment tests: orders captured through the service, API shortcuts, and a
picture of everything fulfilment may change (to prove a refusal changed nothing)."""

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.catalog.models import Customer, Product
from app.delivery.models import DeliveryNote, GoodsReturn, StockReceipt
from app.invoicing.models import DeferredDocument
from app.numbering import DocumentCounter
from app.orders.capture import capture_order
from app.orders.models import SaleOrder, SaleOrderLine
from app.orders.schemas import OrderCreate

REP = Actor(kind="user", id=9001, name="rep", role="rep")
WAREHOUSE = Actor(kind="user", id=9002, name="warehouse", role="warehouse")
FINANCE = Actor(kind="user", id=9003, name="finance", role="finance")


def order_of(session: Session, customer: Customer, *lines: tuple[Product, Any], **extra: Any) -> str:
    """Capture an order through the capture service; its number."""
    draft = OrderCreate(
        customer_code=customer.code,
        channel="phone",
        lines=[{"product_code": product.code, "quantity": quantity} for product, quantity in lines],
        **extra,
    )
    return capture_order(session, draft=draft, actor=REP).number


def ship(
    client: TestClient, headers: dict[str, str], number: str, lines: list[tuple[int, Any]] | None = None
) -> dict[str, Any]:
    body = None if lines is None else {"lines": [{"line_no": n, "quantity": q} for n, q in lines]}
    answer = client.post(f"/api/v1/orders/{number}/deliveries", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


def stock_of(session: Session, product: Product) -> tuple[Decimal, Decimal]:
    """(stock on hand, reserved) read from the database, not from the session's identity map."""
    row = session.execute(
        select(Product.stock_on_hand, Product.reserved_quantity)
        .where(Product.id == product.id)
        .execution_options(populate_existing=True)
    ).one()
    return row[0], row[1]


def fulfilment_state(session: Session) -> dict[str, Any]:
    """Everything a fulfilment request may change, as plain values."""
    session.flush()

    def count(model: type) -> int:
        return session.execute(select(func.count()).select_from(model)).scalar_one()

    return {
        "notes": count(DeliveryNote),
        "note_statuses": sorted(session.execute(select(DeliveryNote.number, DeliveryNote.status))),
        "prints": sorted(session.execute(select(DeliveryNote.number, DeliveryNote.print_count))),
        "documents": sorted(session.execute(select(DeferredDocument.reference, DeferredDocument.status))),
        "returns": count(GoodsReturn),
        "receipts": count(StockReceipt),
        "stock": sorted(
            session.execute(select(Product.code, Product.stock_on_hand, Product.reserved_quantity))
        ),
        "orders": sorted(session.execute(select(SaleOrder.number, SaleOrder.status))),
        "lines": sorted(
            session.execute(
                select(SaleOrderLine.id, SaleOrderLine.shipped_quantity, SaleOrderLine.backordered_quantity)
            )
        ),
        "counters": sorted(session.execute(select(DocumentCounter.name, DocumentCounter.next_value))),
    }


def assert_problem(answer: Any, status: int, *locs: list[Any]) -> dict[str, Any]:
    """A problem details answer with this status, locating an error at each of `locs`."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["status"] == status and problem["detail"]
    located = [error["loc"] for error in problem.get("errors", [])]
    for loc in locs:
        assert loc in located, (loc, problem)
    return problem
