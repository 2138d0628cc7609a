"""From a partner's purchase orders to order plans: whose order it is, where it goes, which products.

Parties: the partner's own mapping (`partner_party`) first, then our master data (customer.gln,
shipping_address.gln), always restricted to the partner's customers. Items: GTIN/ISBN/UPC first
(normalised to the GTIN our catalogue stores), then the partner's article numbers (`partner_item`),
then a seller-assigned id (EDIFACT SA, X12 VN...) read as our own product code.

What a message can become:
* an order, `captured` — or `needs_review` when a person must look at it. Every line the partner
  sent is on it, as sent: a line that cannot be an order line (an unknown item; a zero, negative,
  out-of-range or fractional-for-a-unit-product quantity; an amount no line can hold) is an
  unresolved line keeping the partner's values, reserving nothing, until a person maps, corrects
  or removes it (`app.orders.review`). Other reasons for review, in the order's `problems`: an
  unknown delivery party, a price that differs from ours, a buyer id we do not know while the
  customer is still certain (the only customer of the partner, its delivery point, the envelope's
  sender), a test interchange, a message without any line. A message whose lines are all
  unresolved is still an order, held;
* nothing, with a refusal, when no customer can be determined, when the buyer is another partner's
  customer or blocked, or when the order's total is more than an order can hold.

The snapshot (app/edi/snapshot.py) is read once for the whole interchange; planning is then pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from app.edi.ack_common import LineOutcome, LineStatus
from app.edi.documents import Envelope, Interchange, ItemIdKind, OrderLine, PurchaseOrder
from app.edi.snapshot import GTIN_KINDS, Snapshot, envelope_of, gtin_forms, load_snapshot, senders, storable
from app.errors import DomainError
from app.orders.capture import LineToPrice, OrderPlan, UnresolvedLinePlan, plan_lines
from app.orders.models import Channel, OrderStatus
from app.orders.repository import CaptureProduct

MAX_QUANTITY = Decimal(1_000_000)
MAX_AMOUNT = Decimal("9999999999.99")  # Money() is NUMERIC(12, 2)
_ZERO = Decimal(0)
_MILLI = Decimal("0.001")


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    detail: str
    party_id: str | None = None  # an unknown buyer's id: what an admin maps to a customer


@dataclass(frozen=True)
class MessagePlan:
    """What one business document becomes: an order plan, or refusals; and the answer per line."""

    order: PurchaseOrder
    envelope: Envelope | None
    plan: OrderPlan | None
    refusals: tuple[Refusal, ...]
    outcomes: tuple[LineOutcome, ...]
    customer_code: str | None = None
    line_nos: dict[int, int] | None = None  # the order line each partner line became, by position

    @property
    def review_codes(self) -> list[str]:
        """Why the order waits for a person: its problems and its unresolved lines' reasons."""
        if self.plan is None:
            return []
        return sorted({p["code"] for p in self.plan.problems} | {u.reason for u in self.plan.unresolved})

    @property
    def held(self) -> str | None:
        if self.plan is None or self.plan.status != OrderStatus.NEEDS_REVIEW:
            return None
        return f"held for review: {', '.join(self.review_codes)}"


class Planner:
    """Plans the messages of one interchange in order, so that stock seen by each accounts for the
    quantities the previous ones will reserve."""

    def __init__(self, snapshot: Snapshot, *, caller: str, references: dict[str, Any]) -> None:
        self.snapshot = snapshot
        self.caller = caller
        self.references = references
        self.demanded: dict[int, Decimal] = {}

    def plan_all(self, interchange: Interchange) -> list[MessagePlan]:
        return [self.plan(interchange, order) for order in interchange.orders]

    def plan(self, interchange: Interchange, order: PurchaseOrder) -> MessagePlan:
        envelope = envelope_of(interchange, order)
        problems: list[dict[str, Any]] = []
        customer, refusal = self.customer_for(order, senders(interchange, order, envelope), problems)
        if refusal is not None:
            return MessagePlan(order, envelope, None, (refusal,), _rejected(order))
        assert customer is not None
        if customer.blocked:
            refusal = Refusal(
                "customer_blocked", f"customer {customer.code} is blocked: no order may be taken"
            )
            return MessagePlan(order, envelope, None, (refusal,), _rejected(order), customer.code)
        shipping_address = self.delivery_for(order, customer, problems)
        kept: list[tuple[OrderLine, CaptureProduct, Decimal]] = []
        unresolved: list[UnresolvedLinePlan] = []
        for line in order.lines:
            taken = self.line_for(line, problems)
            if isinstance(taken, UnresolvedLinePlan):
                unresolved.append(taken)
            else:
                kept.append((line, *taken))
        if not order.lines:
            problems.append({"code": "no_line", "detail": "the message holds no order line"})
        declared = order.declared_line_count
        if declared is not None and declared != len(order.lines):
            problems.append(
                {
                    "code": "line_count_mismatch",
                    "declared": declared,
                    "received": len(order.lines),
                    "detail": f"the partner declares {declared} line(s), {len(order.lines)} received: "
                    "a line may be missing",
                }
            )
        test = envelope.test if envelope is not None else interchange.test
        if test:
            problems.append(
                {"code": "test_interchange", "detail": "the partner marked the interchange as a test"}
            )
        references = self.external_references(interchange, order, envelope)
        try:
            plan = self.price(order, customer, kept, shipping_address, problems, unresolved, references)
            if any(planned.line_amount > MAX_AMOUNT for planned in plan.lines):
                too_large = {
                    line.position
                    for planned, (line, _, _) in zip(plan.lines, kept, strict=True)
                    if planned.line_amount > MAX_AMOUNT
                }
                for line, product, _ in kept:
                    if line.position in too_large:
                        why = f"the line's amount exceeds what an order line can hold ({MAX_AMOUNT})"
                        unresolved.append(_unresolved(line, "amount_out_of_range", why, product))
                unresolved.sort(key=lambda line: line.position)
                kept = [taken for taken in kept if taken[0].position not in too_large]
                plan = self.price(order, customer, kept, shipping_address, problems, unresolved, references)
        except DomainError as exc:  # a rule of capture we did not foresee: refuse, never crash
            details = "; ".join(e.msg for e in exc.errors) or exc.detail
            refusal = Refusal("refused_by_capture", details)
            return MessagePlan(order, envelope, None, (refusal,), _rejected(order), customer.code)
        if plan.totals.gross > MAX_AMOUNT:
            refusal = Refusal("amount_out_of_range", "the order's amounts exceed what an order can hold")
            return MessagePlan(order, envelope, None, (refusal,), _rejected(order), customer.code)
        outcomes = self.outcomes(order, kept)
        for product_id, quantity in plan.demand.items():
            self.demanded[product_id] = self.demanded.get(product_id, _ZERO) + quantity
        line_nos = {
            line.position: planned.line_no for planned, (line, _, _) in zip(plan.lines, kept, strict=True)
        }
        return MessagePlan(order, envelope, plan, (), outcomes, customer.code, line_nos)

    def customer_for(
        self, order: PurchaseOrder, senders: list[str], problems: list[dict[str, Any]]
    ) -> tuple[Row[Any] | None, Refusal | None]:
        snapshot = self.snapshot
        buyer = (order.buyer_id or "").strip()
        if buyer:
            customer = self.party_customer(buyer, "buyer", problems)
            if customer is not None:
                return customer, None
            if buyer in snapshot.foreign_glns:
                return None, Refusal("buyer_not_yours", f"buyer {buyer} is not one of your customers")
        delivery = (order.delivery_party_id or "").strip()
        customer = self.party_customer(delivery, "delivery party", problems) if delivery else None
        for sender in senders:
            customer = customer or self.party_customer(sender, "sender", problems)
        customer = customer or snapshot.sole_customer
        if customer is None:
            detail = (
                f"buyer {buyer} is unknown: no mapping and no customer with that GLN"
                if buyer
                else "the order names no buyer, and neither its delivery party nor the sender is known"
            )
            return None, Refusal("unknown_buyer", detail, party_id=buyer or None)
        if buyer:
            problems.append(
                {
                    "code": "unknown_buyer",
                    "party_id": buyer,
                    "customer_code": customer.code,
                    "detail": f"buyer {buyer} is unknown; taken as customer {customer.code}",
                }
            )
        return customer, None

    def party_customer(self, party_id: str, role: str, problems: list[dict[str, Any]]) -> Row[Any] | None:
        """The partner's customer a party id names: the partner's mapping of it (which also settles an
        id several customers share), else the customer with that GLN or whose delivery address has it.
        When several customers have it, the first (its own GLN first) is taken and the order is held."""
        snapshot = self.snapshot
        mapping = snapshot.parties.get(party_id)
        if mapping is not None:
            return snapshot.customers[mapping.customer_id]
        found: dict[int, Row[Any]] = {}
        own = snapshot.customer_by_gln.get(party_id)
        if own is not None:
            found[own.id] = own
        for owner in sorted({a.customer_id for a in snapshot.addresses_by_gln.get(party_id, ())}):
            found.setdefault(owner, snapshot.customers[owner])
        if not found:
            return None
        customers = list(found.values())
        if len(customers) > 1:
            codes = [c.code for c in customers]
            problems.append(
                {
                    "code": "ambiguous_party",
                    "party_id": party_id,
                    "role": role,
                    "customer_code": codes[0],
                    "candidates": codes,
                    "detail": f"{role} {party_id} is the GLN of {len(codes)} of your customers "
                    f"({', '.join(codes)}): taken as {codes[0]}; map the party to settle it",
                }
            )
        return customers[0]

    def delivery_for(
        self, order: PurchaseOrder, customer: Row[Any], problems: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        party = (order.delivery_party_id or "").strip()
        if not party or party == customer.gln:
            return None
        mapping = self.snapshot.parties.get(party)
        if mapping is not None and mapping.customer_id == customer.id:
            address = self.snapshot.addresses.get(mapping.shipping_address_id or 0)
            return _address(address) if address is not None else None
        found = [a for a in self.snapshot.addresses_by_gln.get(party, ()) if a.customer_id == customer.id]
        if len(found) == 1:
            return _address(found[0])
        problems.append(
            {
                "code": "unknown_delivery_party",
                "party_id": party,
                "detail": f"delivery party {party} is not an address of customer {customer.code}",
            }
        )
        return None

    def product_for(self, line: OrderLine) -> CaptureProduct | None:
        snapshot = self.snapshot
        for identifier in line.identifiers:
            if identifier.kind in GTIN_KINDS:
                for form in gtin_forms(identifier.value):
                    product = snapshot.products_by_gtin.get(form)
                    if product is not None:
                        return product
        for identifier in line.identifiers:
            code = snapshot.items.get(identifier.value)
            if code is not None:
                return snapshot.products_by_code.get(code)
        for identifier in line.identifiers:
            if identifier.kind is ItemIdKind.SELLER:
                product = snapshot.products_by_code.get(identifier.value)
                if product is not None:
                    return product
        return None

    def line_for(
        self, line: OrderLine, problems: list[dict[str, Any]]
    ) -> tuple[CaptureProduct, Decimal] | UnresolvedLinePlan:
        """The product and the quantity to capture, or the line kept unresolved, as sent."""
        label = _line_label(line)
        quantity = line.quantity
        product = self.product_for(line)
        if product is None:
            return _unresolved(line, "unknown_item", "no product of ours has this item id")
        if not _capturable(quantity):
            why = "an order line holds more than 0, at most 1,000,000, with three decimals at most"
            return _unresolved(line, "invalid_quantity", f"quantity {_text(quantity)}: {why}", product)
        if not product.allows_decimal_quantity and quantity != quantity.to_integral_value():
            why = f"{product.code} is sold in whole units"
            return _unresolved(line, "fractional_quantity", f"quantity {_text(quantity)}: {why}", product)
        if line.unit_price is not None and line.unit_price != product.unit_price:
            problems.append(
                {
                    "code": "price_difference",
                    "line": label,
                    "partner_price": _text(line.unit_price),
                    "our_price": _text(product.unit_price),
                    "detail": f"line {label}: the partner's price {_text(line.unit_price)} differs from "
                    f"ours, {_text(product.unit_price)} (ours is kept)",
                }
            )
        return product, quantity

    def price(
        self,
        order: PurchaseOrder,
        customer: Row[Any],
        kept: list[tuple[OrderLine, CaptureProduct, Decimal]],
        shipping_address: dict[str, Any] | None,
        problems: list[dict[str, Any]],
        unresolved: list[UnresolvedLinePlan],
        references: dict[str, Any],
    ) -> OrderPlan:
        return plan_lines(
            status=OrderStatus.NEEDS_REVIEW if problems or unresolved else OrderStatus.CAPTURED,
            problems=tuple(problems),
            unresolved=tuple(unresolved),
            external_references=references,
            caller=self.caller,
            customer=customer,
            channel=Channel.EDI,
            customer_reference=storable(order.po_number, 100) or None,
            requested_date=order.requested_delivery_date,
            shipping_address=shipping_address,
            notes=None,
            email_text=None,
            lines=[
                LineToPrice(product, quantity, product.unit_price, _ZERO, storable(_line_label(line), 35))
                for line, product, quantity in kept
            ],
            already_demanded=self.demanded,
        )

    def outcomes(
        self, order: PurchaseOrder, kept: list[tuple[OrderLine, CaptureProduct, Decimal]]
    ) -> tuple[LineOutcome, ...]:
        """Accepted, backordered (what stock does not cover now), or held for review (unresolved)."""
        captured = {line.position: (product, quantity) for line, product, quantity in kept}
        available: dict[int, Decimal] = {}
        answered: list[LineOutcome] = []
        for line in order.lines:
            if line.position not in captured:
                answered.append(LineOutcome.hold(line))
                continue
            product, quantity = captured[line.position]
            if product.id not in available:
                available[product.id] = (
                    product.stock_on_hand - product.reserved_quantity - self.demanded.get(product.id, _ZERO)
                )
            now = min(quantity, max(available[product.id], _ZERO))
            available[product.id] -= quantity
            if now < quantity:
                answered.append(
                    LineOutcome(line.position, LineStatus.BACKORDERED, line.quantity, now, quantity - now)
                )
            elif quantity != line.quantity:
                answered.append(LineOutcome.change(line, quantity))
            else:
                answered.append(LineOutcome.accept(line))
        return tuple(answered)

    def external_references(
        self, interchange: Interchange, order: PurchaseOrder, envelope: Envelope | None
    ) -> dict[str, Any]:
        message = order.message
        values = {
            **self.references,
            "interchange_ref": envelope.control_ref if envelope is not None else interchange.control_ref,
            "group_ref": message.group_ref if message else None,
            "message_ref": message.reference if message else None,
            "message_type": message.type if message else None,
            "sender_id": envelope.sender_id if envelope is not None else interchange.sender_id,
            "receiver_id": envelope.receiver_id if envelope is not None else interchange.receiver_id,
            "po_number": order.po_number,
            "document_type": order.document_type,
            "document_date": order.document_date.isoformat() if order.document_date else None,
            "requested_delivery_date": (
                order.requested_delivery_date.isoformat() if order.requested_delivery_date else None
            ),
            "buyer_id": order.buyer_id,
            "delivery_party_id": order.delivery_party_id,
            "currency": order.currency,
        }
        return {key: value for key, value in values.items() if value is not None}


def _capturable(quantity: Decimal) -> bool:
    """What an order line can hold: more than zero, at most a million, at most three decimals."""
    return _ZERO < quantity <= MAX_QUANTITY and quantity == quantity.quantize(_MILLI)


def _rejected(order: PurchaseOrder) -> tuple[LineOutcome, ...]:
    """The answer to every line of a refused message."""
    return tuple(LineOutcome.reject(line) for line in order.lines)


def _line_label(line: OrderLine) -> str:
    return line.line_number or str(line.position)


def _unresolved(
    line: OrderLine, reason: str, why: str, product: CaptureProduct | None = None
) -> UnresolvedLinePlan:
    label = _line_label(line)
    return UnresolvedLinePlan(
        position=line.position,
        external_line_no=storable(label, 35),
        items=tuple(
            {
                "id": storable(i.value, 35),
                "kind": i.kind.value,
                "qualifier": storable(i.qualifier, 10) if i.qualifier else None,
            }
            for i in line.identifiers
        ),
        description=storable(line.description, 300) if line.description else None,
        quantity=storable(_text(line.quantity), 40),
        unit=storable(line.unit, 20) if line.unit else None,
        unit_price=storable(_text(line.unit_price), 40) if line.unit_price is not None else None,
        reason=reason,
        detail=storable(f"line {label} ({line.item or 'no item id'} x {_text(line.quantity)}): {why}", 300),
        product_id=product.id if product is not None else None,
        product_code=product.code if product is not None else None,
    )


def _text(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def _address(row: Row[Any]) -> dict[str, Any]:
    return {
        "code": row.code,
        "name": row.name,
        "street": row.street,
        "street2": row.street2,
        "postal_code": row.postal_code,
        "city": row.city,
        "country": row.country,
        "gln": row.gln,
    }


def plan_messages(
    session: Session, *, partner_id: int, interchange: Interchange, caller: str, references: dict[str, Any]
) -> list[MessagePlan]:
    snapshot = load_snapshot(session, partner_id=partner_id, interchange=interchange)
    return Planner(snapshot, caller=caller, references=references).plan_all(interchange)
