"""Picking list ("liste de préparation"): what the warehouse takes off the shelves, for one order or for
every order that may ship today, one line per product, sorted by product code.

A line asks for what the order can ship now: what is left to ship, as far as the stock on hand allows,
orders served in the order they were captured (as shipping without quantities does, see
`app.delivery.service.shippable_quantities`). What must wait for stock is left out, and counted.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.clock import utcnow
from app.delivery import repository
from app.delivery.pdf import BASE_STYLESHEET
from app.delivery.service import READING_ROLES, check_shippable, shippable_quantities, stock_left
from app.errors import FieldError, NotFound
from app.numbering import business_moment
from app.pdf import render_pdf
from app.templating import Lang, environment

TEMPLATE: Final = "pdf/picking_list.html"
STYLESHEET: Final = "css/picking_list.css"

LABELS: Final[dict[Lang, dict[str, str]]] = {
    "fr": {
        "title": "Liste de préparation",
        "day": "Date",
        "orders": "Commandes",
        "product_code": "Article",
        "gtin": "EAN / ISBN",
        "product_name": "Désignation",
        "quantity": "À prélever",
        "for_orders": "Pour les commandes",
        "picked": "Prélevé",
        "left_out": "{count} ligne(s) en attente de stock ne figurent pas sur cette liste (reliquats).",
        "nothing": "Rien à préparer : aucune ligne ne peut partir avec le stock disponible.",
    },
    "en": {
        "title": "Picking list",
        "day": "Date",
        "orders": "Orders",
        "product_code": "Item",
        "gtin": "EAN / ISBN",
        "product_name": "Description",
        "quantity": "To pick",
        "for_orders": "For orders",
        "picked": "Picked",
        "left_out": "{count} line(s) waiting for stock are not on this list (backorders).",
        "nothing": "Nothing to pick: no line can ship with the stock on hand.",
    },
}


@dataclass(frozen=True, slots=True)
class PickingLineView:
    product_code: str
    gtin: str | None
    name: str
    quantity: Decimal
    # (order number, quantity) for each order the product is picked for, in capture order.
    orders: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True)
class PickingListView:
    day: date
    order_numbers: tuple[str, ...]
    lines: tuple[PickingLineView, ...]
    left_out: int
    lang: Lang = "fr"


def picking_list(
    session: Session, *, actor: Actor, order_number: str | None = None, lang: Lang = "fr"
) -> PickingListView:
    """What to pick for this order, or, without a number, for every order that may ship today."""
    actor.require(*READING_ROLES)
    day = business_moment(utcnow()).day
    orders = [
        order
        for order in repository.orders_to_pick(session, number=order_number, day=day)
        if actor.may_see_customer(order.customer_id)
    ]
    if order_number is not None:
        if not orders:
            raise NotFound(
                f"no order {order_number!r}", errors=[FieldError(("query", "order"), "unknown order")]
            )
        check_shippable(orders[0])
    products = repository.products_by_ids(session, {line.product_id for o in orders for line in o.lines})
    left = stock_left(products.values())
    picked: dict[int, list[tuple[str, Decimal]]] = {}
    left_out = 0
    for order in orders:
        quantities = shippable_quantities(order, products, left)
        for line in order.lines:
            if line.line_no in quantities:
                picked.setdefault(line.product_id, []).append((order.number, quantities[line.line_no]))
            elif line.quantity > line.shipped_quantity:
                left_out += 1
    lines = sorted(
        (
            PickingLineView(
                product_code=products[product_id].code,
                gtin=products[product_id].gtin,
                name=products[product_id].name,
                quantity=sum((quantity for _, quantity in for_orders), Decimal(0)),
                orders=tuple(for_orders),
            )
            for product_id, for_orders in picked.items()
        ),
        key=lambda line: line.product_code,
    )
    return PickingListView(
        day=day,
        order_numbers=tuple(order.number for order in orders),
        lines=tuple(lines),
        left_out=left_out,
        lang=lang,
    )


def render_picking_list(view: PickingListView) -> bytes:
    html = environment.get_template(TEMPLATE).render(view=view, t=LABELS[view.lang], lang=view.lang)
    return render_pdf(html, stylesheets=(STYLESHEET,), base_stylesheet=BASE_STYLESHEET)
