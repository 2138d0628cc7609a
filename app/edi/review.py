"""An order held for review leaves it: a person settles the lines a partner sent that could not
become order lines as sent (maps each to a product, corrects its quantity or removes it, with a
reason: `app.orders.review`), or accepts the order as it stands (`app.orders.service`). When it
leaves review, an EDI partner is told how the order now stands (`app.edi.outbound`)."""

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.edi import outbound
from app.edi.schemas import LineCorrectionIn, LineMappingIn, LineRemovalIn
from app.orders import review
from app.orders import service as orders
from app.orders.models import SaleOrder


def map_line(session: Session, *, number: str, line_id: int, body: LineMappingIn, actor: Actor) -> SaleOrder:
    reviewed = review.map_line(
        session,
        number=number,
        line_id=line_id,
        product_code=body.product_code,
        gtin=body.gtin,
        quantity=body.quantity,
        reason=body.reason,
        actor=actor,
    )
    return _told(session, reviewed)


def correct_line(
    session: Session, *, number: str, line_id: int, body: LineCorrectionIn, actor: Actor
) -> SaleOrder:
    reviewed = review.correct_line(
        session, number=number, line_id=line_id, quantity=body.quantity, reason=body.reason, actor=actor
    )
    return _told(session, reviewed)


def remove_line(
    session: Session, *, number: str, line_id: int, body: LineRemovalIn, actor: Actor
) -> SaleOrder:
    reviewed = review.remove_line(session, number=number, line_id=line_id, reason=body.reason, actor=actor)
    return _told(session, reviewed)


def accept_order(session: Session, *, number: str, actor: Actor) -> SaleOrder:
    """Release an order held for review as it stands, once its lines are settled."""
    order = orders.accept_reviewed_order(session, number=number, actor=actor)
    session.flush()
    outbound.after_order_change(session, order=order)
    return order


def _told(session: Session, reviewed: review.Reviewed) -> SaleOrder:
    """Once the order leaves review, its partner gets the order response as it now stands."""
    if reviewed.released:
        session.flush()
        outbound.after_order_change(session, order=reviewed.order)
    return reviewed.order
