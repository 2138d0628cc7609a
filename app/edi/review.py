"""Settling the lines a partner sent that could not become order lines as sent: a person maps each
to a product, corrects its quantity or removes it, with a reason (`app.orders.review`); when the
order leaves review, the partner is told how it now stands (`app.edi.outbound`)."""

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.edi import outbound
from app.edi.schemas import LineCorrectionIn, LineMappingIn, LineRemovalIn
from app.orders import review
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


def _told(session: Session, reviewed: review.Reviewed) -> SaleOrder:
    """Once the order leaves review, its partner gets the order response as it now stands."""
    if reviewed.released:
        session.flush()
        outbound.after_review(session, order=reviewed.order)
    return reviewed.order
