"""The partner snapshot of one interchange: every customer, party mapping, address and product
its messages may refer to, read in a handful of set-based queries whatever the number of messages.

Only the partner's own customers are in it (and the GLNs of other customers, to tell "not yours"
from "unknown"); item identifiers are looked up by GTIN in every form our catalogue may store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from app.catalog.schemas import normalize_gtin
from app.edi import repository
from app.edi.documents import Envelope, Interchange, ItemIdKind, PurchaseOrder
from app.orders.repository import CaptureProduct

GTIN_KINDS = frozenset((ItemIdKind.GTIN, ItemIdKind.ISBN, ItemIdKind.UPC))


def storable(text: str, length: int) -> str:
    """A partner's value fit for a text column: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "\ufffd")[:length]


@lru_cache(maxsize=65_536)
def gtin_forms(value: str) -> tuple[str, ...]:
    """The forms under which our catalogue may store this GTIN/ISBN/UPC/EAN-8 (13 digits, or the
    14-digit GTIN as sent); empty when it is not a valid one."""
    try:
        gtin = normalize_gtin(value)
    except ValueError:
        return ()
    if len(gtin) == 14 and gtin.startswith("0"):
        return gtin[1:], gtin
    return (gtin, "0" + gtin) if len(gtin) == 13 else (gtin,)


@dataclass
class Snapshot:
    """Everything an interchange's messages may refer to, read once."""

    customers: dict[int, Row[Any]]
    customer_by_gln: dict[str, Row[Any]]
    foreign_glns: set[str]
    parties: dict[str, Row[Any]]
    addresses: dict[int, Row[Any]]
    addresses_by_gln: dict[str, list[Row[Any]]]
    products_by_code: dict[str, CaptureProduct]
    products_by_gtin: dict[str, CaptureProduct]
    items: dict[str, str]
    sole_customer: Row[Any] | None = field(init=False)

    def __post_init__(self) -> None:
        only = list(self.customers.values())
        self.sole_customer = only[0] if len(only) == 1 else None


def envelope_of(interchange: Interchange, order: PurchaseOrder) -> Envelope | None:
    if not interchange.envelopes:
        return None
    reference = order.message.interchange_ref if order.message else None
    return next((e for e in interchange.envelopes if e.control_ref == reference), interchange.envelopes[0])


def senders(interchange: Interchange, order: PurchaseOrder, envelope: Envelope | None) -> list[str]:
    """Who sent the message, as the envelope says: the buyer when the message does not (X12 ISA06/GS02)."""
    senders: list[str] = []
    if envelope is not None:
        group_ref = order.message.group_ref if order.message else None
        senders += [g.sender_id for g in envelope.groups if g.control_ref == group_ref and g.sender_id]
        senders.append(envelope.sender_id)
    elif interchange.sender_id:
        senders.append(interchange.sender_id)
    return [s.strip() for s in senders if s and s.strip()]


def load_snapshot(session: Session, *, partner_id: int, interchange: Interchange) -> Snapshot:
    party_ids: set[str] = set()
    item_values: set[str] = set()
    gtins: set[str] = set()
    seller_codes: set[str] = set()
    for order in interchange.orders:
        party_ids.update(p.id.strip() for p in order.parties if p.id and p.id.strip())
        party_ids.update(senders(interchange, order, envelope_of(interchange, order)))
        for line in order.lines:
            for identifier in line.identifiers:
                item_values.add(identifier.value)
                if identifier.kind in GTIN_KINDS:
                    gtins.update(gtin_forms(identifier.value))
                elif identifier.kind is ItemIdKind.SELLER:
                    seller_codes.add(identifier.value)
    # A NUL can match nothing we store, and PostgreSQL refuses it even as a query parameter.
    party_ids, item_values, seller_codes = (
        {value for value in values if "\x00" not in value}
        for values in (party_ids, item_values, seller_codes)
    )
    customers = {row.id: row for row in repository.partner_customers(session, partner_id)}
    by_gln = {row.gln: row for row in customers.values() if row.gln}
    unknown_glns = party_ids - by_gln.keys()
    foreign = {
        row.gln for row in repository.customers_by_gln(session, unknown_glns) if row.id not in customers
    }
    parties = {
        row.party_id: row
        for row in repository.party_mappings(session, partner_id, party_ids)
        if row.customer_id in customers
    }
    address_rows = repository.shipping_addresses(
        session,
        customer_ids=customers.keys(),
        glns=party_ids,
        ids={row.shipping_address_id for row in parties.values() if row.shipping_address_id},
    )
    addresses_by_gln: dict[str, list[Row[Any]]] = {}
    for address in address_rows:
        if address.gln:
            addresses_by_gln.setdefault(address.gln, []).append(address)
    items = repository.item_mappings(session, partner_id, item_values)
    products = repository.products_for_capture(session, codes=seller_codes | set(items.values()), gtins=gtins)
    return Snapshot(
        customers=customers,
        customer_by_gln=by_gln,
        foreign_glns=foreign,
        parties=parties,
        addresses={a.id: a for a in address_rows},
        addresses_by_gln=addresses_by_gln,
        products_by_code={p.code: p for p in products},
        products_by_gtin={p.gtin: p for p in products if p.gtin},
        items=items,
    )
