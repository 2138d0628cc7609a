"""Queries of EDI ingestion. The snapshot of an interchange (customers, parties, products) is read
in a handful of set-based queries, whatever the number of messages in it."""

from collections.abc import Collection, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Row, Table, func, insert, select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import Partner, PartnerCustomer
from app.catalog.models import Customer, Product, ShippingAddress
from app.delivery.models import DeliveryNote
from app.edi.models import (
    EdiAcknowledgment,
    EdiEnvelopeClaim,
    EdiInterchange,
    EdiOrder,
    EdiPartnerProfile,
    InterchangeStatus,
    PartnerItem,
    PartnerParty,
)
from app.orders import repository as orders_repository
from app.orders.models import SaleOrder, UnresolvedOrderLine

_c = Customer.__table__.c
_a = ShippingAddress.__table__.c
_CUSTOMER_COLUMNS = (_c.id, _c.code, _c.name, _c.blocked, _c.discount_percent, _c.gln)
_ADDRESS_COLUMNS = (
    _a.id,
    _a.customer_id,
    _a.code,
    _a.name,
    _a.street,
    _a.street2,
    _a.postal_code,
    _a.city,
    _a.country,
    _a.gln,
)
# Declarative `__table__` is typed as any FromClause; these models are declared with a Table.
_interchange = cast(Table, EdiInterchange.__table__)
_acknowledgment = cast(Table, EdiAcknowledgment.__table__)
_edi_order = cast(Table, EdiOrder.__table__)


# Partners


def get_partner(session: Session, partner_id: int) -> Partner | None:
    return session.get(Partner, partner_id)


def get_partner_by_name(session: Session, name: str) -> Partner | None:
    if "\x00" in name:  # no partner has one, and PostgreSQL refuses it as a parameter
        return None
    return session.execute(select(Partner).where(Partner.name == name)).scalar_one_or_none()


def get_partner_profile(session: Session, partner_id: int) -> EdiPartnerProfile | None:
    return session.get(EdiPartnerProfile, partner_id)


def partner_customers(session: Session, partner_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    query = (
        select(*_CUSTOMER_COLUMNS)
        .join(PartnerCustomer, PartnerCustomer.customer_id == _c.id)
        .where(PartnerCustomer.partner_id == partner_id)
    )
    return session.connection().execute(query).all()


def partner_customer_ids(session: Session, partner_id: int) -> Sequence[int]:
    query = select(PartnerCustomer.customer_id).where(PartnerCustomer.partner_id == partner_id)
    return session.execute(query).scalars().all()


def customers_by_gln(session: Session, glns: Collection[str]) -> Sequence[Row[*tuple[Any, ...]]]:
    """Any customer, the partner's or not: to tell "not yours" from "unknown"."""
    if not glns:
        return []
    return session.connection().execute(select(*_CUSTOMER_COLUMNS).where(_c.gln.in_(glns))).all()


def party_mappings(
    session: Session, partner_id: int, party_ids: Collection[str]
) -> Sequence[Row[*tuple[Any, ...]]]:
    if not party_ids:
        return []
    query = select(PartnerParty.party_id, PartnerParty.customer_id, PartnerParty.shipping_address_id).where(
        PartnerParty.partner_id == partner_id, PartnerParty.party_id.in_(party_ids)
    )
    return session.execute(query).all()


def shipping_addresses(
    session: Session, *, customer_ids: Collection[int], glns: Collection[str], ids: Collection[int]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Addresses of the given customers that have one of `glns` or one of `ids`."""
    if not customer_ids or not (glns or ids):
        return []
    clauses = []
    if glns:
        clauses.append(_a.gln.in_(glns))
    if ids:
        clauses.append(_a.id.in_(ids))
    query = select(*_ADDRESS_COLUMNS).where(
        _a.customer_id.in_(customer_ids), clauses[0] if len(clauses) == 1 else clauses[0] | clauses[1]
    )
    return session.connection().execute(query).all()


def item_mappings(session: Session, partner_id: int, item_ids: Collection[str]) -> dict[str, str]:
    """Partner article number → our product code."""
    if not item_ids:
        return {}
    query = (
        select(PartnerItem.item_id, Product.code)
        .join(Product, Product.id == PartnerItem.product_id)
        .where(PartnerItem.partner_id == partner_id, PartnerItem.item_id.in_(item_ids))
    )
    return {item_id: code for item_id, code in session.execute(query).all()}


def products_for_capture(
    session: Session, *, codes: set[str], gtins: set[str]
) -> list[orders_repository.CaptureProduct]:
    return orders_repository.products_for_capture(session, codes=codes, gtins=gtins)


# Mapping administration


def get_party_mapping(session: Session, partner_id: int, party_id: str) -> PartnerParty | None:
    query = select(PartnerParty).where(
        PartnerParty.partner_id == partner_id, PartnerParty.party_id == party_id
    )
    return session.execute(query).scalar_one_or_none()


def list_party_mappings(session: Session, partner_id: int) -> Sequence[Row[str, str, str | None]]:
    query = (
        select(PartnerParty.party_id, Customer.code, ShippingAddress.code)
        .join(Customer, Customer.id == PartnerParty.customer_id)
        .outerjoin(ShippingAddress, ShippingAddress.id == PartnerParty.shipping_address_id)
        .where(PartnerParty.partner_id == partner_id)
        .order_by(PartnerParty.party_id)
    )
    return session.execute(query).all()


def get_item_mapping(session: Session, partner_id: int, item_id: str) -> PartnerItem | None:
    query = select(PartnerItem).where(PartnerItem.partner_id == partner_id, PartnerItem.item_id == item_id)
    return session.execute(query).scalar_one_or_none()


def list_item_mappings(session: Session, partner_id: int) -> Sequence[Row[str, str]]:
    query = (
        select(PartnerItem.item_id, Product.code)
        .join(Product, Product.id == PartnerItem.product_id)
        .where(PartnerItem.partner_id == partner_id)
        .order_by(PartnerItem.item_id)
    )
    return session.execute(query).all()


def is_partner_customer(session: Session, partner_id: int, customer_id: int) -> bool:
    query = select(PartnerCustomer.customer_id).where(
        PartnerCustomer.partner_id == partner_id, PartnerCustomer.customer_id == customer_id
    )
    return session.execute(query).first() is not None


def get_customer_by_code(session: Session, code: str) -> Customer | None:
    query = select(Customer).where(Customer.code == code).options(selectinload(Customer.shipping_addresses))
    return session.execute(query).scalar_one_or_none()


def get_product_by_code(session: Session, code: str) -> Product | None:
    return session.execute(select(Product).where(Product.code == code)).scalar_one_or_none()


# Interchanges


def insert_interchange(session: Session, values: dict[str, Any]) -> int:
    interchange_id: int = (
        session.connection().execute(insert(_interchange).returning(_interchange.c.id), values).scalar_one()
    )
    return interchange_id


def get_interchange(session: Session, interchange_id: int, *, lock: bool = False) -> EdiInterchange | None:
    query = select(EdiInterchange).where(EdiInterchange.id == interchange_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def find_original(
    session: Session, *, partner_id: int, content_key: str, control_key: str | None
) -> EdiInterchange | None:
    """The interchange of this partner that already created orders from the same bytes or envelope."""
    clause = EdiInterchange.content_key == content_key
    if control_key is not None:
        clause = clause | (EdiInterchange.control_key == control_key)
    query = (
        select(EdiInterchange)
        .where(EdiInterchange.partner_id == partner_id, clause)
        .order_by(EdiInterchange.id)
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def list_interchanges(
    session: Session, *, partner_id: int | None, status: str | None, before_id: int | None, limit: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    t = _interchange.c
    query = (
        select(
            t.id,
            t.partner_id,
            t.received_at,
            t.status,
            t.format,
            t.control_ref,
            t.size,
            t.order_numbers,
            t.duplicate_of_id,
            t.sender_id,
            # Counted and picked by the database: a large interchange's warnings weigh hundreds of kB.
            func.json_array_length(t.errors).label("error_count"),
            func.json_array_length(t.warnings).label("warning_count"),
            t.errors[0]["msg"].as_string().label("first_error"),
            t.errors[0]["code"].as_string().label("first_error_code"),
            Partner.name.label("partner_name"),
        )
        .join(Partner, Partner.id == t.partner_id)
        .order_by(t.id.desc())
        .limit(limit)
    )
    if partner_id is not None:
        query = query.where(t.partner_id == partner_id)
    if status:
        query = query.where(t.status == status)
    if before_id is not None:
        query = query.where(t.id < before_id)
    return session.execute(query).all()


def count_interchanges_by_status(session: Session) -> dict[str, int]:
    t = _interchange.c
    query = select(t.status, func.count()).group_by(t.status)
    return {status: count for status, count in session.execute(query)}


def resubmitted_from(session: Session, interchange_id: int) -> int | None:
    """The refused interchange an admin had processed again as this one, if any."""
    t = _interchange.c
    return session.execute(select(t.id).where(t.resubmitted_as_id == interchange_id)).scalar_one_or_none()


def count_refused_interchanges(session: Session, *, since: datetime) -> int:
    t = _interchange.c
    query = select(func.count()).where(
        t.status == InterchangeStatus.REJECTED, t.resubmitted_as_id.is_(None), t.received_at >= since
    )
    return session.execute(query).scalar_one()


def pending_interchange_ids(session: Session) -> Sequence[int]:
    query = select(EdiInterchange.id).where(EdiInterchange.status == "received").order_by(EdiInterchange.id)
    return session.execute(query).scalars().all()


# The EDI side of orders


def insert_edi_orders(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(_edi_order), rows)


def get_edi_order(session: Session, order_id: int) -> EdiOrder | None:
    return session.get(EdiOrder, order_id)


def unresolved_lines(session: Session, order_id: int) -> Sequence[UnresolvedOrderLine]:
    query = select(UnresolvedOrderLine).where(UnresolvedOrderLine.order_id == order_id)
    return session.execute(query).scalars().all()


def stock_of(session: Session, product_ids: Collection[int]) -> Sequence[Row[int, Decimal, Decimal]]:
    """Each product's stock on hand and reserved quantity: (id, on hand, reserved)."""
    query = select(Product.id, Product.stock_on_hand, Product.reserved_quantity).where(
        Product.id.in_(product_ids)
    )
    return session.execute(query).all()


# Where partners' orders stand


def list_orders(
    session: Session,
    *,
    customer_ids: Collection[int] | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> Sequence[SaleOrder]:
    """Orders newest first, with their lines, unresolved lines and customer, one page."""
    query = (
        select(SaleOrder)
        .options(
            selectinload(SaleOrder.lines),
            selectinload(SaleOrder.unresolved_lines),
            selectinload(SaleOrder.customer),
        )
        .order_by(SaleOrder.id.desc())
        .limit(limit)
    )
    if customer_ids is not None:
        query = query.where(SaleOrder.customer_id.in_(customer_ids))
    if status is not None:
        query = query.where(SaleOrder.status == status)
    if before_id is not None:
        query = query.where(SaleOrder.id < before_id)
    return session.execute(query).scalars().all()


def delivery_notes_of(session: Session, order_ids: Collection[int]) -> Sequence[DeliveryNote]:
    if not order_ids:
        return []
    query = (
        select(DeliveryNote)
        .where(DeliveryNote.order_id.in_(order_ids))
        .options(selectinload(DeliveryNote.lines))
        .order_by(DeliveryNote.id)
    )
    return session.execute(query).scalars().all()


# Acknowledgments


def insert_acknowledgments(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(_acknowledgment), rows)


def acknowledgment_summaries(session: Session, interchange_id: int) -> Sequence[Row[*tuple[Any, ...]]]:
    a = _acknowledgment.c
    query = (
        select(a.id, a.kind, a.control_ref, a.po_number, a.order_number, a.content_type, a.created_at)
        .where(a.interchange_id == interchange_id)
        .order_by(a.id)
    )
    return session.connection().execute(query).all()


def list_outbox(
    session: Session, *, partner_id: int | None, after_id: int | None, limit: int
) -> Sequence[Row[*tuple[Any, ...]]]:
    a = _acknowledgment.c
    query = (
        select(
            a.id,
            a.kind,
            a.interchange_id,
            a.control_ref,
            a.po_number,
            a.order_number,
            a.delivery_note_number,
            a.content_type,
            a.created_at,
        )
        .order_by(a.id)
        .limit(limit)
    )
    if partner_id is not None:
        query = query.where(a.partner_id == partner_id)
    if after_id is not None:
        query = query.where(a.id > after_id)
    return session.connection().execute(query).all()


def get_acknowledgment(
    session: Session, interchange_id: int, acknowledgment_id: int
) -> EdiAcknowledgment | None:
    query = select(EdiAcknowledgment).where(
        EdiAcknowledgment.id == acknowledgment_id, EdiAcknowledgment.interchange_id == interchange_id
    )
    return session.execute(query).scalar_one_or_none()


def envelope_claims(session: Session, *, partner_id: int, keys: Collection[str]) -> dict[str, int]:
    """Which of these envelopes already created orders, and in which interchange."""
    if not keys:
        return {}
    rows = session.execute(
        select(EdiEnvelopeClaim.envelope_key, EdiEnvelopeClaim.interchange_id).where(
            EdiEnvelopeClaim.partner_id == partner_id, EdiEnvelopeClaim.envelope_key.in_(set(keys))
        )
    )
    return {key: interchange_id for key, interchange_id in rows}


def claim_envelopes(session: Session, *, partner_id: int, interchange_id: int, keys: Collection[str]) -> None:
    session.add_all(
        EdiEnvelopeClaim(partner_id=partner_id, envelope_key=key, interchange_id=interchange_id)
        for key in keys
    )
