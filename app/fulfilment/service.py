"""The fulfilment use cases, each one unit of work: the goods movement, its deferred document and what
an EDI partner is told of it."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.delivery import returns as delivery_returns
from app.delivery import service as delivery_service
from app.delivery.models import DeliveryNote, GoodsReturn
from app.delivery.schemas import Consignment, DeliveryLineIn, ReturnCreate
from app.edi import outbound as edi_outbound
from app.errors import Conflict, FieldError
from app.fulfilment.schemas import ReturnWithCreditNoteRead
from app.invoicing import repository as invoicing_repository
from app.invoicing.models import DeferredDocument, DocumentStatus
from app.invoicing.service import deferred_document_read, issue_deferred_credit_note, issue_deferred_invoice
from app.orders.models import SaleOrder


@dataclass(frozen=True)
class RecordedReturn:
    goods_return: GoodsReturn
    credit_note: DeferredDocument


def ship_order(
    session: Session,
    *,
    number: str,
    lines: Sequence[DeliveryLineIn] | None,
    actor: Actor,
    consignment: Consignment | None = None,
) -> DeliveryNote:
    """Ship (part of) an order: its delivery note and the note's deferred invoice."""
    note = delivery_service.issue_delivery_note(
        session, number=number, lines=lines, actor=actor, consignment=consignment
    )
    invoice = issue_deferred_invoice(session, note=note)
    edi_outbound.after_shipment(session, note=note)  # the partner's despatch advice, in this unit
    audit.record(
        session,
        actor=actor,
        action=Action.DELIVERY_NOTE_ISSUED,
        subject="delivery_note",
        ref=note.number,
        details={
            "order": number,
            "lines": [[line.product_code, line.quantity] for line in note.lines],
            "gross": note.gross_total,
            "deferred_invoice": invoice.reference,
        },
    )
    return note


def void_delivery(session: Session, *, number: str, actor: Actor) -> DeliveryNote:
    """Void a delivery note and its deferred invoice, which must not have been replayed yet; an EDI
    partner gets its order response again, its goods backordered once more."""
    actor.require(*delivery_service.SHIPPING_ROLES)
    note = delivery_service.lock_delivery_note(session, number=number, actor=actor)
    delivery_service.check_voidable(session, note)
    invoice = invoicing_repository.invoice_of_note(session, note.id, lock=True)
    if invoice is not None and invoice.status != DocumentStatus.PENDING:
        raise Conflict(
            f"the deferred invoice {invoice.reference} of delivery note {number} is {invoice.status}, "
            "not pending: the note can no longer be voided in Carnet",
            errors=[FieldError(("path", "number"), f"deferred invoice {invoice.status}")],
            slug="invoice-not-pending",
        )
    delivery_service.void_delivery_note(session, note=note, actor=actor)
    if invoice is not None:
        invoice.status = DocumentStatus.VOID
        invoice.voided_at = note.voided_at
    edi_outbound.after_order_change(session, order=note.order)  # its goods wait again
    audit.record(
        session,
        actor=actor,
        action=Action.DELIVERY_NOTE_VOIDED,
        subject="delivery_note",
        ref=number,
        details={"order": note.order.number, "deferred_invoice": invoice.reference if invoice else None},
    )
    return note


def close_backorder(session: Session, *, number: str, line_no: int, actor: Actor) -> SaleOrder:
    """The customer gives up the rest of a backordered line (`delivery.service.close_backorder`); an
    EDI partner gets its order response with the line changed to what shipped."""
    order = delivery_service.close_backorder(session, number=number, line_no=line_no, actor=actor)
    edi_outbound.after_order_change(session, order=order)
    return order


def record_return(session: Session, *, draft: ReturnCreate, actor: Actor) -> RecordedReturn:
    """Record returned goods and issue their deferred credit note."""
    goods_return = delivery_returns.receive_return(session, draft=draft, actor=actor)
    credit_note = issue_deferred_credit_note(session, goods_return=goods_return)
    audit.record(
        session,
        actor=actor,
        action=Action.RETURN_RECORDED,
        subject="return",
        ref=goods_return.number,
        details={
            "customer": draft.customer_code,
            "delivery_note": draft.delivery_note_number,
            "lines": [[line.product_code, line.quantity] for line in goods_return.lines],
            "credit_note": credit_note.reference,
        },
    )
    return RecordedReturn(goods_return, credit_note)


def cancel_return(session: Session, *, number: str, reason: str, actor: Actor) -> RecordedReturn:
    """Cancel a return before its credit note was replayed: the goods leave the stock again and the
    credit note is voided (kept, with the reason), so the replay leaves it out and says why."""
    actor.require(*delivery_returns.RETURN_ROLES, Role.FINANCE)
    goods_return = delivery_returns.get_return(session, number=number, actor=actor, lock=True)
    credit_note = invoicing_repository.credit_note_of_return(session, goods_return.id, lock=True)
    assert credit_note is not None, "every return has its credit note"
    if credit_note.status != DocumentStatus.PENDING:
        raise Conflict(
            f"the credit note {credit_note.reference} of return {number} is {credit_note.status}, not "
            "pending: the return can no longer be cancelled in Carnet",
            errors=[FieldError(("path", "number"), f"credit note {credit_note.status}")],
            slug="credit-note-not-pending",
        )
    delivery_returns.cancel_goods_return(session, goods_return=goods_return, reason=reason, actor=actor)
    credit_note.status = DocumentStatus.VOID
    credit_note.voided_at, credit_note.void_reason = goods_return.cancelled_at, reason
    audit.record(
        session,
        actor=actor,
        action=Action.RETURN_CANCELLED,
        subject="return",
        ref=number,
        details={"reason": reason, "credit_note": credit_note.reference},
    )
    return RecordedReturn(goods_return, credit_note)


def get_return(session: Session, *, number: str, actor: Actor) -> RecordedReturn:
    goods_return = delivery_returns.get_return(session, number=number, actor=actor)
    credit_note = invoicing_repository.credit_note_of_return(session, goods_return.id)
    assert credit_note is not None, "every return has its credit note"
    return RecordedReturn(goods_return, credit_note)


def return_read(recorded: RecordedReturn) -> ReturnWithCreditNoteRead:
    return ReturnWithCreditNoteRead(
        **dict(delivery_returns.return_read(recorded.goods_return)),
        credit_note=deferred_document_read(recorded.credit_note),
    )
