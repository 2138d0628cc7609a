"""EDI use cases besides ingestion: reading interchanges and acknowledgments, partner mappings.

Who sees what: a partner its own interchanges only (another partner's is "not found"); reps and
admins every interchange; only admins the raw files and the mappings.
"""

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Partner, Role
from app.auth.service import Actor
from app.clock import utcnow
from app.edi import repository
from app.edi.ingestion import API_BASE, answer_body
from app.edi.models import EdiInterchange, EdiPartnerProfile, PartnerItem, PartnerParty
from app.edi.schemas import (
    AcknowledgmentRead,
    CsvProfileIn,
    InterchangeRead,
    InterchangeSummary,
    ItemMappingIn,
    ItemMappingRead,
    OutboxItem,
    PartnerDeliveryNote,
    PartnerDeliveryNoteLine,
    PartnerOrder,
    PartnerOrderLine,
    PartnerProfileIn,
    PartnerUnresolvedLine,
    PartyMappingIn,
    PartyMappingRead,
)
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.orders.models import SaleOrder
from app.pagination import Page, encode_cursor, next_cursor

READER_ROLES = (Role.REP,)


@dataclass(frozen=True)
class Download:
    body: bytes
    content_type: str
    filename: str


def _readable(session: Session, interchange_id: int, actor: Actor) -> EdiInterchange:
    if actor.kind == "user":
        actor.require(*READER_ROLES)
    row = repository.get_interchange(session, interchange_id)
    if row is None or (actor.kind == "partner" and row.partner_id != actor.id):
        raise NotFound(f"no interchange {interchange_id}")
    return row


def get_interchange(session: Session, *, interchange_id: int, actor: Actor) -> InterchangeRead:
    row = _readable(session, interchange_id, actor)
    partner = repository.get_partner(session, row.partner_id)
    acknowledgments = _acknowledgment_reads(session, row)
    return InterchangeRead.model_validate(
        {
            **answer_body(session, row),
            "partner": partner.name if partner is not None else "",
            "received_at": row.received_at,
            "received_by": row.received_by,
            "content_type": row.content_type,
            "size": row.size,
            "sha256": row.sha256,
            "control_ref": row.control_ref,
            "sender_id": row.sender_id,
            "test": row.test,
            "duplicate_of": row.duplicate_of_id,
            "resubmitted_as": row.resubmitted_as_id,
            "resubmitted_from": repository.resubmitted_from(session, row.id),
            "processed_at": row.processed_at,
            "acknowledgments": acknowledgments,
        }
    )


def list_interchanges(
    session: Session,
    *,
    actor: Actor,
    partner_name: str | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> Page[InterchangeSummary]:
    partner_id: int | None = None
    if actor.kind == "partner":
        if partner_name is not None and partner_name != actor.name:
            raise NotPermitted("a partner lists only its own interchanges")
        partner_id = actor.id
    else:
        actor.require(*READER_ROLES)
        if partner_name is not None:
            partner_id = _partner(session, partner_name).id
    rows = repository.list_interchanges(
        session, partner_id=partner_id, status=status, before_id=before_id, limit=limit + 1
    )
    items = [
        InterchangeSummary(
            id=row.id,
            partner=row.partner_name,
            received_at=row.received_at,
            status=row.status,
            format=row.format,
            control_ref=row.control_ref,
            size=row.size,
            orders=row.order_numbers,
            duplicate_of=row.duplicate_of_id,
            url=f"{API_BASE}/{row.id}",
            sender_id=row.sender_id,
            error_count=row.error_count,
            warning_count=row.warning_count,
            first_error=row.first_error,
            first_error_code=row.first_error_code,
        )
        for row in rows[:limit]
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)


def count_interchanges(session: Session, *, actor: Actor) -> dict[str, int]:
    """How many interchanges are in each status, for people who read them all."""
    actor.require(*READER_ROLES)
    return repository.count_interchanges_by_status(session)


def interchange_of_order(session: Session, *, order_id: int, actor: Actor) -> int | None:
    """The interchange an EDI order came in, for the people who read interchanges (else None)."""
    if actor.kind != "user" or actor.role not in (*READER_ROLES, Role.ADMIN):
        return None
    edi_order = repository.get_edi_order(session, order_id)
    return edi_order.interchange_id if edi_order is not None else None


def list_outbox(
    session: Session, *, actor: Actor, partner_name: str | None, after_id: int | None, limit: int
) -> Page[OutboxItem]:
    """Every document for a partner, oldest first from a cursor: what a transport polls. The cursor
    is the last document's, even on a short page: kept, it gives what comes later (an empty page
    then has no cursor: poll again with the one you have)."""
    partner_id = _listed_partner(session, actor, partner_name)
    rows = repository.list_outbox(session, partner_id=partner_id, after_id=after_id, limit=limit)
    items = [
        OutboxItem(**row._asdict(), url=f"{API_BASE}/{row.interchange_id}/acknowledgments/{row.id}")
        for row in rows
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[-1].id) if rows else None)


def _listed_partner(session: Session, actor: Actor, partner_name: str | None) -> int | None:
    """Whose documents a caller lists: a partner its own; a rep or an admin anyone's, or every one."""
    if actor.kind == "partner":
        if partner_name is not None and partner_name != actor.name:
            raise NotPermitted("a partner lists only its own documents")
        return actor.id
    actor.require(*READER_ROLES)
    return _partner(session, partner_name).id if partner_name is not None else None


def list_partner_orders(
    session: Session,
    *,
    actor: Actor,
    partner_name: str | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> Page[PartnerOrder]:
    """Where a partner's customers' orders stand, newest first: per line what shipped and what is
    backordered, the lines not taken as sent, and the delivery notes. A partner sees its customers'
    orders, whatever the channel they came by; reps and admins any partner's (or every order)."""
    if actor.kind == "partner":
        if partner_name is not None and partner_name != actor.name:
            raise NotPermitted("a partner lists only its own customers' orders")
        customer_ids: frozenset[int] | None = actor.customer_ids or frozenset()
    else:
        actor.require(*READER_ROLES)
        customer_ids = (
            frozenset(repository.partner_customer_ids(session, _partner(session, partner_name).id))
            if partner_name is not None
            else None
        )
    orders = repository.list_orders(
        session, customer_ids=customer_ids, status=status, before_id=before_id, limit=limit
    )
    notes: dict[int, list[PartnerDeliveryNote]] = {}
    for note in repository.delivery_notes_of(session, [order.id for order in orders]):
        notes.setdefault(note.order_id, []).append(
            PartnerDeliveryNote(
                number=note.number,
                status=note.status,
                issue_date=note.issue_date,
                lines=[
                    PartnerDeliveryNoteLine(order_line_no=line.order_line_no, quantity=line.quantity)
                    for line in note.lines
                ],
            )
        )
    items = [_partner_order(order, notes.get(order.id, [])) for order in orders]
    return Page(items=items, next_cursor=next_cursor(orders, limit))


def _partner_order(order: SaleOrder, notes: list[PartnerDeliveryNote]) -> PartnerOrder:
    return PartnerOrder(
        number=order.number,
        status=order.status,
        channel=order.channel,
        customer_code=order.customer.code,
        po_number=order.customer_reference,
        created_at=order.created_at,
        requested_date=order.requested_date,
        lines=[
            PartnerOrderLine(
                line_no=line.line_no,
                external_line_no=line.external_line_no,
                product_code=line.product_code,
                gtin=line.gtin,
                description=line.description,
                ordered=line.quantity,
                shipped=line.shipped_quantity,
                backordered=line.backordered_quantity,
            )
            for line in order.lines
        ],
        unresolved_lines=[
            PartnerUnresolvedLine(
                external_line_no=line.external_line_no,
                items=line.items,
                quantity=line.quantity,
                reason=line.reason,
                status=line.status,
                order_line_no=line.order_line_no,
            )
            for line in order.unresolved_lines
        ],
        delivery_notes=notes,
    )


def list_acknowledgments(session: Session, *, interchange_id: int, actor: Actor) -> list[AcknowledgmentRead]:
    return _acknowledgment_reads(session, _readable(session, interchange_id, actor))


def _acknowledgment_reads(session: Session, row: EdiInterchange) -> list[AcknowledgmentRead]:
    return [
        AcknowledgmentRead(
            id=a.id,
            kind=a.kind,
            control_ref=a.control_ref,
            po_number=a.po_number,
            order_number=a.order_number,
            content_type=a.content_type,
            created_at=a.created_at,
            url=f"{API_BASE}/{row.id}/acknowledgments/{a.id}",
        )
        for a in repository.acknowledgment_summaries(session, row.id)
    ]


def get_acknowledgment(
    session: Session, *, interchange_id: int, acknowledgment_id: int, actor: Actor
) -> Download:
    _readable(session, interchange_id, actor)
    acknowledgment = repository.get_acknowledgment(session, interchange_id, acknowledgment_id)
    if acknowledgment is None:
        raise NotFound(f"no acknowledgment {acknowledgment_id} of interchange {interchange_id}")
    extension = {"JSON": "json", "997": "x12", "855": "x12", "856": "x12"}.get(acknowledgment.kind, "edi")
    return Download(
        acknowledgment.body,
        acknowledgment.content_type,
        f"{acknowledgment.kind.lower()}-{acknowledgment.control_ref}.{extension}",
    )


def get_raw(session: Session, *, interchange_id: int, actor: Actor) -> Download:
    if actor.role != Role.ADMIN:
        raise NotPermitted("only an admin downloads received files")
    row = repository.get_interchange(session, interchange_id)
    if row is None:
        raise NotFound(f"no interchange {interchange_id}")
    return Download(row.raw, row.content_type or "application/octet-stream", f"interchange-{row.id}.raw")


# Mappings (admins)


def _partner(session: Session, name: str) -> Partner:
    partner = repository.get_partner_by_name(session, name)
    if partner is None:
        raise NotFound(f"no partner {name!r}")
    return partner


def _admin_partner(session: Session, actor: Actor, name: str) -> Partner:
    if actor.role != Role.ADMIN:
        raise NotPermitted("only an admin manages partner mappings")
    return _partner(session, name)


def partner_customers_of(session: Session, *, interchange_id: int, actor: Actor) -> list[tuple[str, str]]:
    """The codes and names of the customers of the partner that sent an interchange: those its
    unknown buyers may be mapped to (admins)."""
    row = _readable(session, interchange_id, actor)
    if actor.role != Role.ADMIN:
        raise NotPermitted("only an admin manages partner mappings")
    return sorted((c.code, c.name) for c in repository.partner_customers(session, row.partner_id))


def map_buyer_of(
    session: Session, *, interchange_id: int, mapping: PartyMappingIn, actor: Actor
) -> PartyMappingRead:
    """Map a buyer an interchange named to one of its partner's customers (admins)."""
    row = _readable(session, interchange_id, actor)
    partner = repository.get_partner(session, row.partner_id)
    assert partner is not None
    return map_party(session, partner_name=partner.name, mapping=mapping, actor=actor)[0]


def map_party(
    session: Session, *, partner_name: str, mapping: PartyMappingIn, actor: Actor
) -> tuple[PartyMappingRead, bool]:
    """Map a partner's party id to one of the partner's customers (and one of its addresses);
    returns the mapping and whether it was created (rather than changed)."""
    partner = _admin_partner(session, actor, partner_name)
    customer = repository.get_customer_by_code(session, mapping.customer_code)
    if customer is None:
        raise InvalidInput(f"unknown customer {mapping.customer_code!r}", loc=("body", "customer_code"))
    if not repository.is_partner_customer(session, partner.id, customer.id):
        raise InvalidInput(
            f"customer {customer.code} is not one of partner {partner.name}'s", loc=("body", "customer_code")
        )
    address_id = None
    if mapping.shipping_address_code is not None:
        address = next(
            (a for a in customer.shipping_addresses if a.code == mapping.shipping_address_code), None
        )
        if address is None:
            raise InvalidInput(
                f"customer {customer.code} has no shipping address {mapping.shipping_address_code!r}",
                loc=("body", "shipping_address_code"),
            )
        address_id = address.id
    row = repository.get_party_mapping(session, partner.id, mapping.party_id)
    created = row is None
    if row is None:
        row = PartnerParty(partner_id=partner.id, party_id=mapping.party_id, customer_id=customer.id)
    row.customer_id, row.shipping_address_id = customer.id, address_id
    _save(session, row, f"party {mapping.party_id!r} is being mapped concurrently")
    audit.record(
        session,
        actor=actor,
        action=Action.PARTY_MAPPED,
        subject="partner",
        ref=partner.name,
        details={
            "party_id": mapping.party_id,
            "customer": customer.code,
            "shipping_address": mapping.shipping_address_code,
            "created": created,
        },
    )
    return PartyMappingRead(
        party_id=mapping.party_id,
        customer_code=customer.code,
        shipping_address_code=mapping.shipping_address_code,
    ), created


def map_item(
    session: Session, *, partner_name: str, mapping: ItemMappingIn, actor: Actor
) -> tuple[ItemMappingRead, bool]:
    partner = _admin_partner(session, actor, partner_name)
    product = repository.get_product_by_code(session, mapping.product_code)
    if product is None:
        raise InvalidInput(f"unknown product {mapping.product_code!r}", loc=("body", "product_code"))
    row = repository.get_item_mapping(session, partner.id, mapping.item_id)
    created = row is None
    if row is None:
        row = PartnerItem(partner_id=partner.id, item_id=mapping.item_id, product_id=product.id)
    row.product_id = product.id
    _save(session, row, f"item {mapping.item_id!r} is being mapped concurrently")
    audit.record(
        session,
        actor=actor,
        action=Action.ITEM_MAPPED,
        subject="partner",
        ref=partner.name,
        details={"item_id": mapping.item_id, "product": product.code, "created": created},
    )
    return ItemMappingRead(item_id=mapping.item_id, product_code=product.code), created


def _save(session: Session, row: PartnerParty | PartnerItem, conflict: str) -> None:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def list_party_mappings(session: Session, *, partner_name: str, actor: Actor) -> list[PartyMappingRead]:
    partner = _admin_partner(session, actor, partner_name)
    return [
        PartyMappingRead(party_id=party_id, customer_code=customer, shipping_address_code=address)
        for party_id, customer, address in repository.list_party_mappings(session, partner.id)
    ]


def list_item_mappings(session: Session, *, partner_name: str, actor: Actor) -> list[ItemMappingRead]:
    partner = _admin_partner(session, actor, partner_name)
    return [
        ItemMappingRead(item_id=item_id, product_code=code)
        for item_id, code in repository.list_item_mappings(session, partner.id)
    ]


def set_csv_profile(
    session: Session, *, partner_name: str, profile: CsvProfileIn | None, actor: Actor
) -> CsvProfileIn | None:
    """Store the partner's CSV layout (None: back to recognising the built-in layouts)."""
    partner = _admin_partner(session, actor, partner_name)
    _store_csv_profile(partner, profile)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.PARTNER_CSV_PROFILE_SET,
        subject="partner",
        ref=partner.name,
        details={"csv": partner.csv_profile},
    )
    return profile


def _store_csv_profile(partner: Partner, profile: CsvProfileIn | None) -> None:
    if profile is not None:
        try:
            profile.to_profile()
        except (ValueError, LookupError) as exc:
            raise InvalidInput(f"unusable CSV profile: {exc}", loc=("body",)) from exc
    partner.csv_profile = profile.model_dump(mode="json") if profile is not None else None


def set_partner_profile(
    session: Session, *, partner_name: str, profile: PartnerProfileIn, actor: Actor
) -> PartnerProfileIn:
    partner = _admin_partner(session, actor, partner_name)
    _store_csv_profile(partner, profile.csv)
    row = repository.get_partner_profile(session, partner.id)
    if row is None:
        row = EdiPartnerProfile(partner_id=partner.id)
        session.add(row)
    row.format = profile.format.value if profile.format is not None else None
    row.charset = profile.charset
    row.despatch_advice = profile.despatch_advice
    row.updated_at = utcnow()
    row.updated_by = actor.caller_key
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.PARTNER_PROFILE_SET,
        subject="partner",
        ref=partner.name,
        details=profile.model_dump(mode="json"),
    )
    return profile


def get_partner_profile(session: Session, *, partner_name: str, actor: Actor) -> PartnerProfileIn:
    partner = _admin_partner(session, actor, partner_name)
    row = repository.get_partner_profile(session, partner.id)
    return PartnerProfileIn.model_validate(
        {
            "format": row.format if row is not None else None,
            "charset": row.charset if row is not None else None,
            "despatch_advice": row.despatch_advice if row is not None else False,
            "csv": partner.csv_profile,
        }
    )


def get_csv_profile(session: Session, *, partner_name: str, actor: Actor) -> CsvProfileIn | None:
    partner = _admin_partner(session, actor, partner_name)
    return CsvProfileIn.model_validate(partner.csv_profile) if partner.csv_profile else None
