"""Master data use cases: keep the snapshot of customers and products the ERP exported."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.catalog import repository
from app.catalog.models import Customer, Product, ShippingAddress
from app.catalog.schemas import (
    Address,
    CustomerCreate,
    CustomerRead,
    ProductCreate,
    ProductRead,
    ShippingAddressRead,
)
from app.clock import utcnow
from app.errors import Conflict, NotFound, NotPermitted
from app.pagination import Page, next_cursor


def save_customer(
    session: Session,
    *,
    data: CustomerCreate,
    snapshot_at: datetime | None = None,
    actor: audit.Who = audit.COMMAND_LINE,
) -> Customer:
    """Create or replace the customer with this code (the ERP's export is the truth)."""
    customer = repository.get_customer_by_code(session, data.code, with_addresses=True)
    created = customer is None
    if customer is None:
        customer = Customer(code=data.code, shipping_addresses=[])
        session.add(customer)
    billing = data.billing_address
    customer.name = data.name
    customer.siren = data.siren
    customer.vat_number = data.vat_number
    customer.gln = data.gln
    customer.email = data.email.lower() if data.email else None
    customer.phone = data.phone
    customer.billing_name = billing.name
    customer.billing_street = billing.street
    customer.billing_street2 = billing.street2
    customer.billing_postal_code = billing.postal_code
    customer.billing_city = billing.city
    customer.billing_country = billing.country
    customer.discount_percent = data.discount_percent
    customer.blocked = data.blocked
    customer.show_prices_on_delivery_note = data.show_prices_on_delivery_note
    customer.snapshot_at = snapshot_at or utcnow()

    existing = {address.code: address for address in customer.shipping_addresses}
    kept: list[ShippingAddress] = []
    for incoming in data.shipping_addresses:
        address = existing.get(incoming.code) or ShippingAddress(code=incoming.code)
        for field in ("name", "street", "street2", "postal_code", "city", "country", "gln", "is_default"):
            setattr(address, field, getattr(incoming, field))
        kept.append(address)
    customer.shipping_addresses = kept
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"GLN {data.gln} already belongs to another customer") from exc
    audit.record(
        session,
        actor=actor,
        action=Action.CUSTOMER_SAVED,
        subject="customer",
        ref=data.code,
        details={"created": created, "blocked": data.blocked, "discount_percent": data.discount_percent},
    )
    return customer


def default_shipping_address(addresses: Sequence[ShippingAddress]) -> ShippingAddress | None:
    """Where goods go when an order names no address: the customer's only address, else the one marked
    default; None when there is none (the billing address) or several without a default."""
    if len(addresses) == 1:
        return addresses[0]
    return next((address for address in addresses if address.is_default), None)


def shipping_address_data(address: ShippingAddress) -> dict[str, Any]:
    """A shipping address as an order and its delivery notes freeze it."""
    return {
        "code": address.code,
        "name": address.name,
        "street": address.street,
        "street2": address.street2,
        "postal_code": address.postal_code,
        "city": address.city,
        "country": address.country,
        "gln": address.gln,
    }


def save_product(
    session: Session,
    *,
    data: ProductCreate,
    snapshot_at: datetime | None = None,
    actor: audit.Who = audit.COMMAND_LINE,
) -> Product:
    """Create or replace the product with this code; the quantity reserved by open orders is kept."""
    now = snapshot_at or utcnow()
    product = repository.get_product_by_code(session, data.code)
    created = product is None
    if product is None:
        product = Product(code=data.code, reserved_quantity=0)
        session.add(product)
    for field in (
        "gtin",
        "name",
        "unit_price",
        "price_includes_vat",
        "price_locked",
        "vat_rate",
        "allows_decimal_quantity",
        "stock_on_hand",
        "supplier_code",
        "supplier_name",
    ):
        setattr(product, field, getattr(data, field))
    product.stock_as_of = data.stock_as_of or now
    product.snapshot_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"GTIN {data.gtin} already belongs to another product") from exc
    audit.record(
        session,
        actor=actor,
        action=Action.PRODUCT_SAVED,
        subject="product",
        ref=data.code,
        details={
            "created": created,
            "unit_price": data.unit_price,
            "vat_rate": data.vat_rate,
            "stock_on_hand": data.stock_on_hand,
        },
    )
    return product


def get_customer(session: Session, *, code: str, actor: Actor) -> Customer:
    customer = repository.get_customer_by_code(session, code, with_addresses=True)
    if customer is None or not actor.may_see_customer(customer.id):
        raise NotFound(f"no customer {code!r}")
    return customer


def get_product(session: Session, *, code: str, actor: Actor) -> Product:
    product = repository.get_product_by_code(session, code)
    if product is None or not _may_see_product(actor, product):
        raise NotFound(f"no product {code!r}")
    return product


def only_supplier(actor: Actor) -> str | None:
    """The supplier whose titles the actor is limited to (a supplier's user); None: every title."""
    if actor.role != Role.SUPPLIER:
        return None
    if not actor.supplier_code:
        raise NotPermitted("this supplier account is tied to no supplier")
    return actor.supplier_code


def _may_see_product(actor: Actor, product: Product) -> bool:
    supplier = only_supplier(actor)
    return supplier is None or product.supplier_code == supplier


def list_customers(
    session: Session, *, actor: Actor, q: str | None, after_id: int | None, limit: int
) -> Page[CustomerRead]:
    rows = repository.list_customers(
        session, q=q, after_id=after_id, limit=limit, customer_ids=actor.customer_ids
    )
    cursor = next_cursor(rows, limit)
    return Page[CustomerRead](items=[customer_read(c) for c in rows], next_cursor=cursor)


def list_products(
    session: Session, *, q: str | None, after_id: int | None, limit: int, actor: Actor
) -> Page[ProductRead]:
    rows = repository.list_products(
        session, q=q, after_id=after_id, limit=limit, supplier_code=only_supplier(actor)
    )
    cursor = next_cursor(rows, limit)
    return Page[ProductRead](items=[product_read(p) for p in rows], next_cursor=cursor)


def customer_read(customer: Customer) -> CustomerRead:
    return CustomerRead(
        code=customer.code,
        name=customer.name,
        siren=customer.siren,
        vat_number=customer.vat_number,
        gln=customer.gln,
        email=customer.email,
        phone=customer.phone,
        billing_address=Address(
            name=customer.billing_name,
            street=customer.billing_street,
            street2=customer.billing_street2,
            postal_code=customer.billing_postal_code,
            city=customer.billing_city,
            country=customer.billing_country,
        ),
        shipping_addresses=[
            ShippingAddressRead(
                code=a.code,
                name=a.name,
                street=a.street,
                street2=a.street2,
                postal_code=a.postal_code,
                city=a.city,
                country=a.country,
                gln=a.gln,
                is_default=a.is_default,
            )
            for a in customer.shipping_addresses
        ],
        discount_percent=customer.discount_percent,
        blocked=customer.blocked,
        show_prices_on_delivery_note=customer.show_prices_on_delivery_note,
        snapshot_at=customer.snapshot_at,
    )


def product_read(product: Product) -> ProductRead:
    return ProductRead(
        code=product.code,
        gtin=product.gtin,
        name=product.name,
        unit_price=product.unit_price,
        price_includes_vat=product.price_includes_vat,
        price_locked=product.price_locked,
        vat_rate=product.vat_rate,
        allows_decimal_quantity=product.allows_decimal_quantity,
        stock_on_hand=product.stock_on_hand,
        reserved_quantity=product.reserved_quantity,
        available_quantity=product.stock_on_hand - product.reserved_quantity,
        stock_as_of=product.stock_as_of,
        supplier_code=product.supplier_code,
        supplier_name=product.supplier_name,
    )
