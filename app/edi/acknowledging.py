"""Which acknowledgments an ingestion sends back, built with the pure builders of
:mod:`app.edi.acknowledgments` and numbered from the partner's own gapless counter.

* EDIFACT: a CONTRL for the interchange (positive, or negative with the located syntax errors),
  then one EANCOM ORDRSP per ORDERS message: accepted, backordered (stock shortfall) or held for
  review (unresolved) per line; a refused message is answered "not accepted". A message with
  application errors (refused, or its order held: unknown items, impossible quantities, a price
  that differs...) also gets an APERAK listing them, line by line.
* X12: a 997 for the interchange, then one 855 per 850 set, likewise, and an 824 application advice
  where EDIFACT has its APERAK.
* XML (UBL, Order-X) and CSV have no acknowledgment message of their own: they get one JSON
  acknowledgment with the same content (outcome per order and per line), and so does an EDIFACT or
  X12 file too damaged to have an envelope to answer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.edi.ack_common import decimal_text
from app.edi.acknowledgments import (
    AckControl,
    ApplicationError,
    LineOutcome,
    eancom_aperak,
    eancom_ordrsp,
    edifact_contrl,
    x12_824,
    x12_855,
    x12_997,
)
from app.edi.documents import DocumentFormat, Interchange, PurchaseOrder
from app.edi.issues import InterchangeRejected
from app.edi.mapping import MessagePlan
from app.edi.snapshot import storable

EDIFACT_TYPE = "application/EDIFACT"
X12_TYPE = "application/EDI-X12"
JSON_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class AcknowledgmentDraft:
    kind: str
    control_ref: str
    content_type: str
    body: bytes
    po_number: str | None = None
    order_number: str | None = None


def series(partner_id: int) -> str:
    return f"edi-ack:{partner_id}"


def needed_for(interchange: Interchange, plans: Sequence[MessagePlan]) -> int:
    """One interchange-level acknowledgment, plus one response per order for EDIFACT and X12, plus an
    APERAK (EDIFACT) or 824 (X12) per order with application errors."""
    if interchange.format in (DocumentFormat.EDIFACT, DocumentFormat.X12) and interchange.envelopes:
        advices = sum(1 for plan in plans if application_errors(plan))
        return 1 + len(interchange.orders) + advices
    return 1


# Our application error codes (APERAK ERC 9321, code list agency 91: assigned by the supplier), an..8;
# the 824 gives each its X12 condition code (app.edi.ack_x12).
_ERROR_CODES = {
    "unknown_buyer": "UNKBUYER",
    "buyer_not_yours": "NOTYOURS",
    "customer_blocked": "BLOCKED",
    "amount_out_of_range": "AMOUNT",
    "refused_by_capture": "REFUSED",
    "unknown_item": "UNKITEM",
    "invalid_quantity": "BADQTY",
    "fractional_quantity": "FRACQTY",
    "price_difference": "PRICE",
    "unknown_delivery_party": "UNKDP",
    "ambiguous_party": "AMBIGPTY",
    "line_count_mismatch": "LINECNT",
    "no_line": "NOLINE",
    "test_interchange": "TEST",
}


def application_errors(plan: MessagePlan) -> list[ApplicationError]:
    """What kept a message from being taken as sent: why it was refused, or why its order waits."""
    errors = [ApplicationError(_code(r.code), r.detail) for r in plan.refusals]
    if plan.plan is not None:
        errors += [ApplicationError(_code(p["code"]), p["detail"], p.get("line")) for p in plan.plan.problems]
        errors += [
            ApplicationError(_code(u.reason), u.detail, u.external_line_no) for u in plan.plan.unresolved
        ]
    return errors


def _code(reason: str) -> str:
    return _ERROR_CODES.get(reason, reason[:8].upper())


def for_rejection(
    rejection: InterchangeRejected, *, numbers: Iterator[int], now: datetime, summary: dict[str, Any]
) -> list[AcknowledgmentDraft]:
    """A negative CONTRL or 997 when the envelope was readable, otherwise the JSON answer."""
    number = str(next(numbers))
    control = AckControl(interchange_ref=number, prepared_at=now, group_ref=number)
    interchange = rejection.interchange
    if interchange is not None and interchange.envelopes:
        if rejection.format is DocumentFormat.EDIFACT:
            return [
                AcknowledgmentDraft(
                    "CONTRL", number, EDIFACT_TYPE, edifact_contrl(rejection, control=control)
                )
            ]
        if rejection.format is DocumentFormat.X12:
            return [AcknowledgmentDraft("997", number, X12_TYPE, x12_997(rejection, control=control))]
    return [_json(number, now, summary, [])]


def for_interchange(
    interchange: Interchange,
    plans: Sequence[MessagePlan],
    order_numbers: Sequence[str | None],
    *,
    numbers: Iterator[int],
    now: datetime,
    summary: dict[str, Any],
) -> list[AcknowledgmentDraft]:
    first = str(next(numbers))
    control = AckControl(interchange_ref=first, prepared_at=now, group_ref=first)
    if not interchange.envelopes or interchange.format not in (DocumentFormat.EDIFACT, DocumentFormat.X12):
        return [_json(first, now, summary, list(zip(plans, order_numbers, strict=True)))]
    edifact = interchange.format is DocumentFormat.EDIFACT
    drafts = [
        AcknowledgmentDraft("CONTRL", first, EDIFACT_TYPE, edifact_contrl(interchange, control=control))
        if edifact
        else AcknowledgmentDraft("997", first, X12_TYPE, x12_997(interchange, control=control))
    ]
    respond = eancom_ordrsp if edifact else x12_855
    for plan, order_number in zip(plans, order_numbers, strict=True):
        number = str(next(numbers))
        body = respond(
            interchange,
            plan.order,
            plan.outcomes,
            control=AckControl(interchange_ref=number, prepared_at=now, group_ref=number),
            response_number=order_number or number,
            held=plan.held,
        )
        drafts.append(
            AcknowledgmentDraft(
                "ORDRSP" if edifact else "855",
                number,
                EDIFACT_TYPE if edifact else X12_TYPE,
                body,
                po_number=storable(plan.order.po_number, 100),
                order_number=order_number,
            )
        )
        errors = application_errors(plan)
        if errors:
            number = str(next(numbers))
            advise = eancom_aperak if edifact else x12_824
            body = advise(
                interchange,
                plan.order,
                errors,
                control=AckControl(interchange_ref=number, prepared_at=now, group_ref=number),
                response_number=number,
                refused=plan.plan is None,
            )
            drafts.append(
                AcknowledgmentDraft(
                    "APERAK" if edifact else "824",
                    number,
                    EDIFACT_TYPE if edifact else X12_TYPE,
                    body,
                    po_number=storable(plan.order.po_number, 100),
                    order_number=order_number,
                )
            )
    return drafts


def _json(
    number: str, now: datetime, summary: dict[str, Any], answered: list[tuple[MessagePlan, str | None]]
) -> AcknowledgmentDraft:
    body = {
        "acknowledgment": number,
        "prepared_at": now.isoformat(),
        **summary,
        "orders": [
            _order_answer(plan.order, plan.outcomes, plan, order_number) for plan, order_number in answered
        ],
    }
    return AcknowledgmentDraft("JSON", number, JSON_TYPE, orjson.dumps(body))


def _order_answer(
    order: PurchaseOrder, outcomes: Sequence[LineOutcome], plan: MessagePlan, order_number: str | None
) -> dict[str, Any]:
    by_position = {outcome.position: outcome for outcome in outcomes}
    unresolved = {u.position: u for u in plan.plan.unresolved} if plan.plan is not None else {}
    return {
        "po_number": order.po_number,
        "buyer": order.buyer_id,
        "order": order_number,
        "status": plan.plan.status if plan.plan is not None else "refused",
        "review": plan.review_codes,
        "errors": [{"code": r.code, "msg": r.detail} for r in plan.refusals],
        "lines": [
            {
                "line": line.line_number or str(line.position),
                "item": line.item,
                "status": by_position[line.position].status.value,
                "ordered": decimal_text(by_position[line.position].ordered),
                "confirmed": decimal_text(by_position[line.position].confirmed),
                "backordered": decimal_text(by_position[line.position].backordered),
                **(
                    {"reason": unresolved[line.position].reason, "detail": unresolved[line.position].detail}
                    if line.position in unresolved
                    else {}
                ),
            }
            for line in order.lines
        ],
    }
