"""Which notices are due, and their words. Found after the fact, by looking for orders and delivery
notes that have no notice yet, so that capture and shipping never wait for (or know about) mail."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Final

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.catalog.models import Customer
from app.config import Settings
from app.delivery.models import DeliveryNote, DeliveryNoteStatus
from app.notices.models import CustomerNotice, NoticeKind, NoticeStatus
from app.orders.models import Channel, OrderStatus, SaleOrder, SaleOrderLine
from app.templating import Lang, environment
from app.tracking.service import current_token, issue_link

BATCH: Final = 200
SUBJECTS: Final[dict[Lang, dict[str, str]]] = {
    "fr": {
        NoticeKind.ORDER_CONFIRMATION: "Votre commande {number} est enregistrée",
        NoticeKind.DELIVERY: "Votre commande {number} est partie ({note})",
        NoticeKind.BACKORDER_SHIPPED: "Votre commande {number} : le reliquat est parti ({note})",
        NoticeKind.BACKORDER_CLOSED: "Votre commande {number} : un reliquat est abandonné",
    },
    "en": {
        NoticeKind.ORDER_CONFIRMATION: "Your order {number} is recorded",
        NoticeKind.DELIVERY: "Your order {number} has shipped ({note})",
        NoticeKind.BACKORDER_SHIPPED: "Your order {number}: the backorder has shipped ({note})",
        NoticeKind.BACKORDER_CLOSED: "Your order {number}: a backorder is given up",
    },
}


@dataclass(frozen=True)
class Queued:
    confirmations: int
    deliveries: int
    closures: int


def queue_due_notices(session: Session, *, settings: Settings, now: datetime) -> Queued:
    """Write the notices due for recent orders and delivery notes of customers who receive them."""
    if settings.customer_notices == "off":
        return Queued(0, 0, 0)
    since = now - timedelta(hours=settings.notice_window_hours)
    wants = Customer.email.is_not(None) & (Customer.email != "")
    if settings.customer_notices == "opt_in":
        wants &= Customer.email_notices.is_(True)
    confirmed = exists().where(
        CustomerNotice.kind == NoticeKind.ORDER_CONFIRMATION, CustomerNotice.order_id == SaleOrder.id
    )
    orders = session.execute(
        select(SaleOrder, Customer.email)
        .join(Customer, Customer.id == SaleOrder.customer_id)
        .where(
            wants,
            SaleOrder.created_at >= since,
            SaleOrder.channel != Channel.EDI,  # partners are answered by EDI
            SaleOrder.status != OrderStatus.CANCELLED,
            ~confirmed,
        )
        .options(selectinload(SaleOrder.lines))
        .order_by(SaleOrder.id)
        .limit(BATCH)
    ).all()
    told = exists().where(
        CustomerNotice.about_id == DeliveryNote.id, CustomerNotice.order_id == DeliveryNote.order_id
    )
    notes = session.execute(
        select(DeliveryNote, Customer.email)
        .join(Customer, Customer.id == DeliveryNote.customer_id)
        .where(
            wants, DeliveryNote.issued_at >= since, DeliveryNote.status == DeliveryNoteStatus.ISSUED, ~told
        )
        .options(
            selectinload(DeliveryNote.lines), selectinload(DeliveryNote.order).selectinload(SaleOrder.lines)
        )
        .order_by(DeliveryNote.id)
        .limit(BATCH)
    ).all()
    given_up = exists().where(
        CustomerNotice.kind == NoticeKind.BACKORDER_CLOSED,
        CustomerNotice.order_id == SaleOrderLine.order_id,
        CustomerNotice.about_id == SaleOrderLine.id,
    )
    closed = session.execute(
        select(SaleOrderLine, SaleOrder, Customer.email)
        .join(SaleOrder, SaleOrder.id == SaleOrderLine.order_id)
        .join(Customer, Customer.id == SaleOrder.customer_id)
        .where(wants, SaleOrder.created_at >= since, SaleOrderLine.closed_quantity > 0, ~given_up)
        .order_by(SaleOrderLine.id)
        .limit(BATCH)
    ).all()
    confirmations = sum(
        _queue_confirmation(session, order, email or "", settings, now) for order, email in orders
    )
    deliveries = sum(_queue_delivery(session, note, email or "", settings, now) for note, email in notes)
    closures = sum(
        _queue_closure(session, line, order, email or "", settings, now) for line, order, email in closed
    )
    return Queued(confirmations, deliveries, closures)


def _status_url(session: Session, order: SaleOrder, settings: Settings) -> str:
    token = current_token(session, order_id=order.id) or issue_link(
        session, order_number=order.number, issued_by="notices"
    )
    return f"{settings.public_url.rstrip('/')}/status/{token}"


def _queue_confirmation(
    session: Session, order: SaleOrder, email: str, settings: Settings, now: datetime
) -> bool:
    body = environment.get_template(f"email/order_confirmation.{settings.notice_lang}.txt").render(
        order=order, status_url=_status_url(session, order, settings), seller=settings.seller_name
    )
    subject = SUBJECTS[settings.notice_lang][NoticeKind.ORDER_CONFIRMATION].format(number=order.number)
    return _queue(session, NoticeKind.ORDER_CONFIRMATION, order.id, 0, email, subject, body, settings, now)


def _queue_delivery(
    session: Session, note: DeliveryNote, email: str, settings: Settings, now: datetime
) -> bool:
    earlier = session.execute(
        select(func.count()).where(
            DeliveryNote.order_id == note.order_id,
            DeliveryNote.id < note.id,
            DeliveryNote.status == DeliveryNoteStatus.ISSUED,
        )
    ).scalar_one()
    kind = NoticeKind.BACKORDER_SHIPPED if earlier else NoticeKind.DELIVERY
    waiting = [line for line in note.order.lines if line.backordered_quantity > 0]
    body = environment.get_template(f"email/delivery.{settings.notice_lang}.txt").render(
        note=note,
        order=note.order,
        waiting=waiting,
        backorder=kind == NoticeKind.BACKORDER_SHIPPED,
        status_url=_status_url(session, note.order, settings),
        seller=settings.seller_name,
    )
    subject = SUBJECTS[settings.notice_lang][kind].format(number=note.order.number, note=note.number)
    return _queue(session, kind, note.order_id, note.id, email, subject, body, settings, now)


def _queue_closure(
    session: Session, line: SaleOrderLine, order: SaleOrder, email: str, settings: Settings, now: datetime
) -> bool:
    body = environment.get_template(f"email/backorder_closed.{settings.notice_lang}.txt").render(
        line=line, order=order, status_url=_status_url(session, order, settings), seller=settings.seller_name
    )
    subject = SUBJECTS[settings.notice_lang][NoticeKind.BACKORDER_CLOSED].format(number=order.number)
    return _queue(
        session, NoticeKind.BACKORDER_CLOSED, order.id, line.id, email, subject, body, settings, now
    )


def _queue(
    session: Session,
    kind: NoticeKind,
    order_id: int,
    about_id: int,
    recipient: str,
    subject: str,
    body: str,
    settings: Settings,
    now: datetime,
) -> bool:
    notice = CustomerNotice(
        kind=kind,
        order_id=order_id,
        about_id=about_id,
        recipient=recipient,
        subject=subject,
        body=body,
        message_id=make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1]),
        status=NoticeStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(notice)
    except IntegrityError:  # another process queued it at the same moment
        return False
    return True


def due_for_sending(
    session: Session, *, now: datetime, lease: timedelta, limit: int = 20
) -> list[CustomerNotice]:
    """Claim pending notices whose time has come: they are not due again before `lease` is over, so
    that another process does not send them meanwhile."""
    query = (
        select(CustomerNotice)
        .where(and_(CustomerNotice.status == NoticeStatus.PENDING, CustomerNotice.next_attempt_at <= now))
        .order_by(CustomerNotice.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.execute(query).scalars())
    for notice in claimed:
        notice.next_attempt_at = now + lease
    session.flush()
    session.expunge_all()
    return claimed


def record_sent(session: Session, *, notice_id: int, now: datetime) -> None:
    notice = session.get(CustomerNotice, notice_id)
    if notice is not None:
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.attempts += 1


def record_failure(
    session: Session, *, notice_id: int, error: str, permanent: bool, now: datetime, settings: Settings
) -> None:
    """A refusal or a server out of reach: tried again later (sooner at first), given up after
    `notice_max_attempts` or on a permanent refusal."""
    notice = session.get(CustomerNotice, notice_id)
    if notice is None:
        return
    notice.attempts += 1
    notice.last_error = error[:500]
    if permanent or notice.attempts >= settings.notice_max_attempts:
        notice.status = NoticeStatus.GIVEN_UP
    else:
        delay = min(settings.notice_retry_seconds * 2 ** (notice.attempts - 1), 3600.0)
        notice.next_attempt_at = now + timedelta(seconds=delay)
