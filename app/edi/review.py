"""Settling the lines a partner sent that could not become order lines as sent: a person maps each
to a product, corrects its quantity or removes it, with a reason (`app.orders.review`)."""

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.edi.schemas import LineCorrectionIn, LineMappingIn, LineRemovalIn
from app.orders import review
from app.orders.models import SaleOrder


def map_line(session: Session, *, number: str, line_id: int, body: LineMappingIn, actor: Actor) -> SaleOrder:
    return review.map_line(
        session,
        number=number,
        line_id=line_id,
        product_code=body.product_code,
        gtin=body.gtin,
        quantity=body.quantity,
        reason=body.reason,
        actor=actor,
    ).order


def correct_line(
    session: Session, *, number: str, line_id: int, body: LineCorrectionIn, actor: Actor
) -> SaleOrder:
    return review.correct_line(
        session, number=number, line_id=line_id, quantity=body.quantity, reason=body.reason, actor=actor
    ).order


def remove_line(
    session: Session, *, number: str, line_id: int, body: LineRemovalIn, actor: Actor
) -> SaleOrder:
    return review.remove_line(session, number=number, line_id=line_id, reason=body.reason, actor=actor).order
