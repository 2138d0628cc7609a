"""Thousands of captured documents in a few seconds, for the fault test and the benchmark: orders,
their delivery notes and deferred invoices, returns and deferred credit notes, written with Core
inserts (one executemany per table and chunk) and priced by app/pricing.py like the services do.

Only what replay reads is realistic (numbers, customers, lines, frozen totals, links between
documents); stock and reservations are left alone.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, insert

from app.catalog.models import Customer, Product
from app.delivery.models import DeliveryNote, DeliveryNoteLine, GoodsReturn, GoodsReturnLine
from app.invoicing.models import DeferredDocument, DeferredDocumentLine
from app.money import rate_str
from app.orders.models import SaleOrder, SaleOrderLine
from app.pricing import Totals, compute_totals, price_line

START = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
CHUNK = 500
ADDRESS = {
    "code": "DP1",
    "name": "Dépôt",
    "street": "1 quai de la Gare",
    "postal_code": "69002",
    "city": "Lyon",
    "country": "FR",
}
PRODUCTS = (  # price, VAT rate, VAT-inclusive
    (Decimal("22.00"), Decimal("5.5"), True),
    (Decimal("35.00"), Decimal("20"), False),
    (Decimal("12.35"), Decimal("10"), False),
    (Decimal("3.20"), Decimal("2.1"), True),
)


@dataclass(frozen=True)
class BulkCounts:
    orders: int
    invoices: int
    credit_notes: int

    @property
    def documents(self) -> int:
        return self.orders + self.invoices + self.credit_notes


def bulk_capture(
    connection: Connection,
    *,
    orders: int,
    customers: int = 20,
    credit_every: int = 3,
    start: datetime = START,
) -> BulkCounts:
    """`orders` shipped orders of two lines, each with its note and invoice; every `credit_every`-th
    note has a return of one unit and its credit note. Documents are a second apart from `start`."""
    customer_ids = _insert(connection, Customer.__table__, [_customer(n, start) for n in range(customers)])
    product_rows = [_product(n, start) for n in range(len(PRODUCTS))]
    product_ids = _insert(connection, Product.__table__, product_rows)
    products = list(zip(product_ids, product_rows, strict=True))
    invoices = credit_notes = 0
    for first in range(0, orders, CHUNK):
        batch = range(first, min(first + CHUNK, orders))
        plans = [_plan(n, customer_ids, products, start) for n in batch]
        order_ids = _insert(connection, SaleOrder.__table__, [p["order"] for p in plans])
        line_rows = [
            dict(line, order_id=oid) for p, oid in zip(plans, order_ids, strict=True) for line in p["lines"]
        ]
        line_ids = iter(_insert(connection, SaleOrderLine.__table__, line_rows))
        note_ids = _insert(
            connection,
            DeliveryNote.__table__,
            [dict(p["note"], order_id=oid) for p, oid in zip(plans, order_ids, strict=True)],
        )
        note_lines, document_rows = [], []
        for plan, order_id, note_id in zip(plans, order_ids, note_ids, strict=True):
            for line in plan["lines"]:
                note_lines.append(_note_line(line, next(line_ids), note_id))
            document_rows.append(
                _document("invoice", plan, order_id, note_id, None, plan["note"]["issued_at"])
            )
        note_line_ids = _insert(connection, DeliveryNoteLine.__table__, note_lines)
        invoice_ids = _insert(connection, DeferredDocument.__table__, document_rows)
        invoices += len(invoice_ids)
        _insert(
            connection,
            DeferredDocumentLine.__table__,
            [
                _document_line(note_line, invoice_id, note_line_id, None, plan["discount"])
                for index, (plan, invoice_id) in enumerate(zip(plans, invoice_ids, strict=True))
                for note_line, note_line_id in zip(
                    note_lines[2 * index : 2 * index + 2],
                    note_line_ids[2 * index : 2 * index + 2],
                    strict=True,
                )
            ],
        )
        credit_notes += _returns(
            connection, plans, order_ids, note_ids, note_lines, note_line_ids, invoice_ids, credit_every
        )
    return BulkCounts(orders=orders, invoices=invoices, credit_notes=credit_notes)


def _returns(
    connection: Connection,
    plans: list[dict[str, Any]],
    order_ids: list[int],
    note_ids: list[int],
    note_lines: list[dict[str, Any]],
    note_line_ids: list[int],
    invoice_ids: list[int],
    credit_every: int,
) -> int:
    chosen = [i for i, plan in enumerate(plans) if credit_every and plan["n"] % credit_every == 0]
    if not chosen:
        return 0
    returned_at = {i: plans[i]["note"]["issued_at"] + timedelta(hours=2) for i in chosen}
    return_ids = _insert(
        connection,
        GoodsReturn.__table__,
        [
            {
                "number": f"RET-2026-{plans[i]['n'] + 1:06d}",
                "customer_id": plans[i]["order"]["customer_id"],
                "delivery_note_id": note_ids[i],
                "recorded_at": returned_at[i],
                "recorded_by": "user:1",
                "warnings": [],
            }
            for i in chosen
        ],
    )
    return_lines = []
    for i, return_id in zip(chosen, return_ids, strict=True):
        line = note_lines[2 * i]
        return_lines.append(
            {
                "return_id": return_id,
                "line_no": 1,
                "product_id": line["product_id"],
                "product_code": line["product_code"],
                "gtin": None,
                "description": line["description"],
                "quantity": Decimal(1),
                "reason": "unsold",
                "delivery_note_line_id": note_line_ids[2 * i],
            }
        )
    return_line_ids = _insert(connection, GoodsReturnLine.__table__, return_lines)
    credits = []
    credit_lines = []
    for i, return_id, return_line_id in zip(chosen, return_ids, return_line_ids, strict=True):
        delivered = note_lines[2 * i]
        priced = price_line(
            quantity=Decimal(1),
            unit_price=delivered["unit_price"],
            price_includes_vat=delivered["price_includes_vat"],
            vat_rate=delivered["vat_rate"],
            line_discount_percent=delivered["discount_percent"],
            customer_discount_percent=plans[i]["discount"],
        )
        plan = dict(plans[i], totals=compute_totals([priced]))
        credits.append(
            _document(
                "credit_note", plan, order_ids[i], note_ids[i], return_id, returned_at[i], invoice_ids[i]
            )
        )
        credit_lines.append((priced, delivered, note_line_ids[2 * i], return_line_id, plans[i]["discount"]))
    credit_ids = _insert(connection, DeferredDocument.__table__, credits)
    _insert(
        connection,
        DeferredDocumentLine.__table__,
        [
            _document_line(
                dict(
                    delivered,
                    quantity=priced.quantity,
                    line_amount=priced.line_amount,
                    net_amount=priced.net_amount,
                ),
                credit_id,
                note_line_id,
                return_line_id,
                discount,
            )
            for (priced, delivered, note_line_id, return_line_id, discount), credit_id in zip(
                credit_lines, credit_ids, strict=True
            )
        ],
    )
    return len(credit_ids)


def _plan(
    n: int, customer_ids: list[int], products: list[tuple[int, dict[str, Any]]], start: datetime
) -> dict[str, Any]:
    customer_id = customer_ids[n % len(customer_ids)]
    discount = Decimal(5) if customer_id == customer_ids[0] else Decimal(0)
    created = start + timedelta(seconds=n)
    lines, priced_lines = [], []
    for line_no, (index, quantity, line_discount) in enumerate(
        (
            (n % len(products), Decimal(1 + n % 7), Decimal(0)),
            ((n + 1) % len(products), Decimal(2), Decimal(10)),
        ),
        start=1,
    ):
        product_id, product = products[index]
        priced = price_line(
            quantity=quantity,
            unit_price=product["unit_price"],
            price_includes_vat=product["price_includes_vat"],
            vat_rate=product["vat_rate"],
            line_discount_percent=line_discount,
            customer_discount_percent=discount,
        )
        priced_lines.append(priced)
        lines.append(
            {
                "line_no": line_no,
                "product_id": product_id,
                "product_code": product["code"],
                "gtin": None,
                "description": product["name"],
                "external_line_no": None,
                "quantity": quantity,
                "unit_price": priced.unit_price,
                "price_includes_vat": priced.price_includes_vat,
                "discount_percent": line_discount,
                "vat_rate": priced.vat_rate,
                "line_amount": priced.line_amount,
                "net_amount": priced.net_amount,
                "shipped_quantity": quantity,
                "backordered_quantity": Decimal(0),
            }
        )
    totals = compute_totals(priced_lines)
    shipped = created + timedelta(minutes=30)
    order = {
        "number": f"CMD-2026-{n + 1:06d}",
        "status": "shipped",
        "customer_id": customer_id,
        "channel": "phone",
        "customer_reference": f"PO-{n:05d}",
        "requested_date": None,
        "shipping_address": ADDRESS,
        "notes": None,
        "customer_discount_percent": discount,
        **_totals(totals),
        "warnings": [],
        "problems": [],
        "external_references": None,
        "content_fingerprint": f"{n:064d}",
        "captured_by": "user:1",
        "created_at": created,
        "cancelled_at": None,
    }
    note = {
        "number": f"BL-2026-{n + 1:06d}",
        "status": "issued",
        "customer_id": customer_id,
        "issue_date": shipped.date(),
        "issued_at": shipped,
        "issued_by": "user:2",
        "shipping_address": ADDRESS,
        "show_prices": True,
        "customer_discount_percent": discount,
        **_totals(totals),
        "print_count": 0,
    }
    return {"n": n, "order": order, "lines": lines, "note": note, "totals": totals, "discount": discount}


def _note_line(line: dict[str, Any], order_line_id: int, note_id: int) -> dict[str, Any]:
    return {
        "delivery_note_id": note_id,
        "line_no": line["line_no"],
        "order_line_id": order_line_id,
        "order_line_no": line["line_no"],
        "product_id": line["product_id"],
        "product_code": line["product_code"],
        "gtin": None,
        "description": line["description"],
        "ordered_quantity": line["quantity"],
        "quantity": line["quantity"],
        "backordered_quantity": Decimal(0),
        "unit_price": line["unit_price"],
        "price_includes_vat": line["price_includes_vat"],
        "discount_percent": line["discount_percent"],
        "vat_rate": line["vat_rate"],
        "line_amount": line["line_amount"],
        "net_amount": line["net_amount"],
    }


def _document(
    kind: str,
    plan: dict[str, Any],
    order_id: int,
    note_id: int,
    return_id: int | None,
    issued_at: datetime,
    invoice_id: int | None = None,
) -> dict[str, Any]:
    prefix = "DI" if kind == "invoice" else "DC"
    return {
        "kind": kind,
        "reference": f"{prefix}-2026-{plan['n'] + 1:06d}",
        "status": "pending",
        "idempotency_key": uuid.uuid4(),
        "customer_id": plan["order"]["customer_id"],
        "order_id": order_id,
        "delivery_note_id": note_id,
        "goods_return_id": return_id,
        "invoice_id": invoice_id,
        "issue_date": issued_at.date(),
        "issued_at": issued_at,
        **_totals(plan["totals"]),
    }


def _document_line(
    line: dict[str, Any], document_id: int, note_line_id: int, return_line_id: int | None, discount: Decimal
) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "line_no": line["line_no"],
        "product_id": line["product_id"],
        "product_code": line["product_code"],
        "gtin": None,
        "description": line["description"],
        "quantity": line["quantity"],
        "unit_price": line["unit_price"],
        "price_includes_vat": line["price_includes_vat"],
        "discount_percent": line["discount_percent"],
        "customer_discount_percent": discount,
        "vat_rate": line["vat_rate"],
        "line_amount": line["line_amount"],
        "net_amount": line["net_amount"],
        "delivery_note_line_id": note_line_id,
        "goods_return_line_id": return_line_id,
    }


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "net_total": totals.net,
        "vat_total": totals.vat,
        "gross_total": totals.gross,
        "vat_breakdown": [
            {"rate": rate_str(v.rate), "base": str(v.base), "amount": str(v.amount)}
            for v in totals.vat_breakdown
        ],
    }


def _customer(n: int, at: datetime) -> dict[str, Any]:
    return {
        "code": f"BULK{n:04d}",
        "name": f"Librairie {n}",
        "vat_number": f"FR{n % 90 + 10:02d}{n:09d}",
        "billing_street": f"{n} rue des Lilas",
        "billing_postal_code": "75011",
        "billing_city": "Paris",
        "billing_country": "FR",
        "discount_percent": Decimal(0),
        "blocked": False,
        "show_prices_on_delivery_note": True,
        "snapshot_at": at,
    }


def _product(n: int, at: datetime) -> dict[str, Any]:
    price, rate, included = PRODUCTS[n]
    return {
        "code": f"BULKP{n:03d}",
        "name": f"Article {n}",
        "unit_price": price,
        "price_includes_vat": included,
        "price_locked": False,
        "vat_rate": rate,
        "allows_decimal_quantity": False,
        "stock_on_hand": Decimal(1_000_000),
        "stock_as_of": at,
        "reserved_quantity": Decimal(0),
        "snapshot_at": at,
    }


def _insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = connection.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]
