"""The inbox's rules: a message is kept once, matched to a customer, its order files made into
orders held for a rep's review; the rest waits for a rep, who takes it, keys it or says why it is
not an order. An item never disappears."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.catalog.models import Customer
from app.catalog.repository import products_by_codes_or_gtins
from app.clock import utcnow
from app.email.models import CustomerMatch, InboxAttachment, InboxMessage, InboxMessageOrder, InboxState
from app.email.order_files import AskedOrder, AttachmentReading, read_order_file
from app.email.reading import ReceivedEmail, read_email
from app.errors import Conflict, DomainError, FieldError, InvalidInput, NotFound
from app.orders import capture
from app.orders.models import Channel, OrderStatus, SaleOrder
from app.orders.schemas import OrderCreate

INBOX_ROLES: Final = (Role.REP,)
MAILBOX: Final = Actor(kind="mailbox", id=0, name="mailbox", role=Role.REP)
# A shared webmail domain says nothing about who writes: never matched by domain.
WEBMAIL: Final = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.fr",
        "outlook.com",
        "outlook.fr",
        "live.fr",
        "yahoo.com",
        "yahoo.fr",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "laposte.net",
        "icloud.com",
        "gmx.fr",
        "gmx.com",
        "proton.me",
        "protonmail.com",
        "bbox.fr",
        "neuf.fr",
    }
)


@dataclass(frozen=True)
class ReadMessage:
    """A message read and its order files read, off the write path."""

    email: ReceivedEmail
    attachments: tuple[AttachmentReading | None, ...]


def read_message(raw: bytes, *, size: int | None = None) -> ReadMessage:
    email = read_email(raw, size=size)
    return ReadMessage(
        email, tuple(read_order_file(a) if a.is_order_file else None for a in email.attachments)
    )


class InboxAttachmentRead(BaseModel):
    id: int
    filename: str
    declared_type: str
    detected_type: str
    size: int


class InboxItemRead(BaseModel):
    id: int
    status: str
    customer_code: str | None
    customer_match: str
    orders: list[str]
    sender: str
    subject: str
    sent_at: datetime | None
    received_at: datetime
    taken_by: str | None
    not_an_order_reason: str | None
    problems: list[Any]
    attachments: list[InboxAttachmentRead]


@dataclass(frozen=True)
class Received:
    item: InboxItemRead
    new: bool


def receive_message(session: Session, *, read: ReadMessage, source: str) -> Received:
    """Keep the message (once: the same Message-ID or the same bytes are the same item) and make
    orders of its order files when the customer is known."""
    email = read.email
    if not email.sender_address and not email.message_id:
        raise InvalidInput("not an email: no From and no Message-ID header", loc=("body",))
    earlier = _same_message(session, email)
    if earlier is not None:
        return Received(inbox_item(session, earlier), new=False)
    customer, match = _match_customer(session, email.sender_address)
    message = InboxMessage(
        content_hash=email.content_hash,
        message_id=email.message_id,
        source=source[:100],
        sender_name=email.sender_name,
        sender_address=email.sender_address,
        subject=email.subject,
        sent_at=email.sent_at,
        received_at=utcnow(),
        text_body=email.text,
        raw=email.raw,
        customer_id=customer.id if customer else None,
        customer_match=match,
        state=InboxState.NEW,
        problems=[{"detail": problem} for problem in email.problems],
        attachments=[
            InboxAttachment(
                position=index,
                filename=a.filename,
                declared_type=a.declared_type,
                detected_type=a.detected_type,
                size=len(a.data),
                data=a.data,
            )
            for index, a in enumerate(email.attachments)
        ],
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:  # the same message, stored at this moment by another poller
        same = _same_message(session, email)
        assert same is not None
        return Received(inbox_item(session, same), new=False)
    asked = [order for reading in read.attachments if reading for order in reading.orders]
    problems = [p for reading in read.attachments if reading for p in reading.problems]
    if asked and customer is None:
        problems.append(
            "order files found, but the sender is not a known customer: a rep chooses the customer"
        )
    elif customer is not None:
        for order in asked:
            number, order_problems = _order_from_file(session, message, customer, order)
            problems.extend(order_problems)
            if number is not None:
                message.state = InboxState.KEYED
    message.problems = [*message.problems, *({"detail": p} for p in problems)]
    session.flush()
    return Received(inbox_item(session, message), new=True)


def _same_message(session: Session, email: ReceivedEmail) -> InboxMessage | None:
    same = InboxMessage.content_hash == email.content_hash
    if email.message_id:
        same = or_(same, InboxMessage.message_id == email.message_id)
    return session.execute(select(InboxMessage).where(same).limit(1)).scalar()


def _match_customer(session: Session, address: str) -> tuple[Customer | None, str]:
    if not address or "@" not in address:
        return None, CustomerMatch.NONE
    exact = (
        session.execute(select(Customer).where(func.lower(Customer.email) == address).limit(2))
        .scalars()
        .all()
    )
    if len(exact) == 1:
        return exact[0], CustomerMatch.ADDRESS
    if len(exact) > 1:
        return None, CustomerMatch.AMBIGUOUS
    domain = address.rsplit("@", 1)[1]
    if domain in WEBMAIL:
        return None, CustomerMatch.NONE
    same_domain = (
        session.execute(select(Customer).where(func.lower(Customer.email).endswith(f"@{domain}")).limit(2))
        .scalars()
        .all()
    )
    if len(same_domain) == 1:
        return same_domain[0], CustomerMatch.DOMAIN
    return None, CustomerMatch.AMBIGUOUS if same_domain else CustomerMatch.NONE


def _order_from_file(
    session: Session, message: InboxMessage, customer: Customer, asked: AskedOrder
) -> tuple[str | None, list[str]]:
    """An order held for review with the lines Carnet could read; the others are named for the rep
    (the file itself stays with the message)."""
    by_code, by_gtin = products_by_codes_or_gtins(
        session,
        codes=[line.item.upper() for line in asked.lines if not line.by_gtin],
        gtins=[line.item for line in asked.lines if line.by_gtin],
    )
    lines: list[dict[str, Any]] = []
    left_out: list[str] = []
    for number, line in enumerate(asked.lines, start=1):
        product = by_gtin.get(line.item) if line.by_gtin else by_code.get(line.item.upper())
        if product is None:
            left_out.append(f"{asked.source}, line {number}: unknown item {line.item!r}")
        elif line.quantity is None or line.quantity <= 0:
            left_out.append(f"{asked.source}, line {number}: quantity {line.raw_quantity!r} for {line.item}")
        else:
            lines.append({"product_code": product.code, "quantity": line.quantity})
    if not lines:
        return None, [*left_out, f"{asked.source}: no line could be read into an order"]
    try:
        draft = OrderCreate(
            customer_code=customer.code,
            channel=Channel.EMAIL,
            customer_reference=asked.reference[:100] if asked.reference else None,
            email_text=message.text_body or None,
            lines=lines,  # type: ignore[arg-type]
        )
        plan = capture.plan_order(session, draft=draft, actor=MAILBOX)
    except (ValidationError, DomainError) as exc:
        return None, [*left_out, f"{asked.source}: {getattr(exc, 'detail', exc)}"]
    review = [
        {
            "code": "email_attachment",
            "detail": f"read from {asked.source} in an email from {message.sender_address}",
        },
        *({"code": "line_left_out", "detail": detail} for detail in left_out),
    ]
    plan = replace(plan, status=OrderStatus.NEEDS_REVIEW, problems=(*plan.problems, *review))
    order = capture.record_order(session, plan=plan, actor=audit.Someone("system", None, MAILBOX.name))
    link_order(session, message_id=message.id, order_number=order.number)
    return order.number, left_out


def link_order(session: Session, *, message_id: int, order_number: str) -> None:
    """The order was made from this message: the item is keyed, and each leads to the other."""
    message = session.get(InboxMessage, message_id)
    if message is None:
        raise NotFound(
            f"no inbox item {message_id}", errors=[FieldError(("form", "inbox_item"), "unknown item")]
        )
    order_id = session.execute(select(SaleOrder.id).where(SaleOrder.number == order_number)).scalar_one()
    session.add(InboxMessageOrder(message_id=message_id, order_id=order_id))
    message.state = InboxState.KEYED
    session.flush()


def _message(session: Session, message_id: int, actor: Actor, *, lock: bool = False) -> InboxMessage:
    actor.require(*INBOX_ROLES)
    query = (
        select(InboxMessage)
        .where(InboxMessage.id == message_id)
        .options(selectinload(InboxMessage.attachments))
    )
    if lock:
        query = query.with_for_update()
    message = session.execute(query).scalar()
    if message is None:
        raise NotFound(f"no inbox item {message_id}")
    return message


def get_item(session: Session, *, message_id: int, actor: Actor) -> InboxItemRead:
    return inbox_item(session, _message(session, message_id, actor))


def get_message(session: Session, *, message_id: int, actor: Actor) -> InboxMessage:
    return _message(session, message_id, actor)


def take(session: Session, *, message_id: int, actor: Actor) -> InboxItemRead:
    """A rep takes the item (others see who); taking one already keyed or refused changes nothing."""
    message = _message(session, message_id, actor, lock=True)
    if message.state in (InboxState.NEW, InboxState.TAKEN):
        message.state = InboxState.TAKEN
        message.taken_by = actor.name
        message.taken_at = utcnow()
        session.flush()
        audit.record(session, actor=actor, action=Action.EMAIL_TAKEN, subject="email", ref=message_id)
    return inbox_item(session, message)


def not_an_order(session: Session, *, message_id: int, reason: str, actor: Actor) -> InboxItemRead:
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput("say why this email is not an order", loc=("reason",))
    message = _message(session, message_id, actor, lock=True)
    if message.state == InboxState.KEYED:
        raise Conflict("orders were made from this email: cancel them instead")
    message.state = InboxState.NOT_AN_ORDER
    message.not_an_order_reason = reason[:500]
    message.taken_by = actor.name
    message.taken_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.EMAIL_NOT_AN_ORDER,
        subject="email",
        ref=message_id,
        details={"reason": message.not_an_order_reason},
    )
    return inbox_item(session, message)


def list_items(session: Session, *, actor: Actor, state: str | None, limit: int = 100) -> list[InboxItemRead]:
    actor.require(*INBOX_ROLES)
    query = (
        select(InboxMessage).options(selectinload(InboxMessage.attachments)).order_by(InboxMessage.id.desc())
    )
    if state:
        query = query.where(InboxMessage.state == state)
    return [inbox_item(session, m) for m in session.execute(query.limit(limit)).scalars()]


def counts_by_state(session: Session) -> dict[str, tuple[int, datetime | None]]:
    """Per state: how many, and when the oldest was received."""
    rows = session.execute(
        select(InboxMessage.state, func.count(), func.min(InboxMessage.received_at)).group_by(
            InboxMessage.state
        )
    )
    return {state: (count, oldest) for state, count, oldest in rows}


def inbox_item(session: Session, message: InboxMessage) -> InboxItemRead:
    orders = session.execute(
        select(SaleOrder.number)
        .join(InboxMessageOrder, InboxMessageOrder.order_id == SaleOrder.id)
        .where(InboxMessageOrder.message_id == message.id)
        .order_by(SaleOrder.id)
    ).scalars()
    customer_code = (
        session.execute(select(Customer.code).where(Customer.id == message.customer_id)).scalar()
        if message.customer_id
        else None
    )
    attachments = session.execute(
        select(InboxAttachment)
        .where(InboxAttachment.message_id == message.id)
        .order_by(InboxAttachment.position)
    ).scalars()
    return InboxItemRead(
        id=message.id,
        status=message.state,
        customer_code=customer_code,
        customer_match=message.customer_match,
        orders=list(orders),
        sender=f"{message.sender_name} <{message.sender_address}>"
        if message.sender_name
        else message.sender_address,
        subject=message.subject,
        sent_at=message.sent_at,
        received_at=message.received_at,
        taken_by=message.taken_by,
        not_an_order_reason=message.not_an_order_reason,
        problems=message.problems,
        attachments=[
            InboxAttachmentRead(
                id=a.id,
                filename=a.filename,
                declared_type=a.declared_type,
                detected_type=a.detected_type,
                size=a.size,
            )
            for a in attachments
        ],
    )


def messages_of_order(session: Session, *, order_id: int) -> list[int]:
    return list(
        session.execute(
            select(InboxMessageOrder.message_id).where(InboxMessageOrder.order_id == order_id)
        ).scalars()
    )
