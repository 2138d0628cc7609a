"""X12 acknowledgments: 997 functional acknowledgment, 855 purchase order acknowledgment and 824
application advice (the application errors of a refused or held 850, X12's APERAK).

Each is written as a complete interchange (ISA/GS/ST..SE/GE/IEA) addressed back to the sender:
ISA05-08 and GS02-03 swapped, counts computed, control numbers from the caller. The 997 has one
transaction set per received functional group (AK1..AK9). Carnet rejects an interchange as a
whole, so when it is rejected every set is reported ``R``; sets carrying errors get AK3/AK4
detail and AK5 codes. Tolerated defects located in a set make it ``E`` (accepted, errors noted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.edi.ack_common import (
    AckControl,
    ApplicationError,
    LineOutcome,
    LineStatus,
    decimal_text,
    envelope_of,
    outcomes_by_position,
    subject_of,
)
from app.edi.documents import Envelope, FunctionalGroup, Interchange, PurchaseOrder
from app.edi.issues import InterchangeRejected, Issue, IssueCode
from app.edi.x12_syntax import X12Separators, format_x12_segment

SEPARATORS = X12Separators(element="*", component=">", terminator="~")
_AK5_CODE = {  # transaction set syntax error codes (718)
    IssueCode.TRUNCATED: "2",
    IssueCode.CONTROL_REFERENCE_MISMATCH: "3",
    IssueCode.CONTROL_COUNT_MISMATCH: "4",
    IssueCode.DUPLICATE_CONTROL_REFERENCE: "23",
}
_AK9_CODE = {  # functional group syntax error codes (716), for errors on GE
    IssueCode.MISSING_SEGMENT: "3",
    IssueCode.CONTROL_REFERENCE_MISMATCH: "4",
    IssueCode.CONTROL_COUNT_MISMATCH: "5",
}
_AK3_CODE = {  # segment syntax error codes (720)
    IssueCode.UNEXPECTED_SEGMENT: "2",
    IssueCode.MISSING_SEGMENT: "3",
}
_AK4_CODE = {  # element syntax error codes (723)
    IssueCode.MISSING_VALUE: "1",
    IssueCode.TOO_MANY_CONSTITUENTS: "3",
    IssueCode.INVALID_VALUE: "6",
    IssueCode.INVALID_CHARACTER: "6",
    IssueCode.INVALID_DATE: "8",
}
_ACK_STATUS = {
    LineStatus.ACCEPTED: "IA",
    LineStatus.CHANGED: "IQ",
    LineStatus.REJECTED: "IR",
    LineStatus.PENDING: "IH",  # item on hold: waits for a person's review
}


# Our application error codes (see app.edi.acknowledging) as X12 application error conditions (647),
# from the codes every version since 003050 has; the rest is 024, "other unlisted reason", with our text.
_TED_CODE = {
    "UNKBUYER": "027",  # customer identification number does not exist
    "NOTYOURS": "026",  # customer identification number is invalid
    "AMOUNT": "008",  # out of range
    "BADQTY": "008",
    "FRACQTY": "012",  # invalid combination: a fraction of a product sold in units
    "PRICE": "011",  # not matching
    "LINECNT": "010",  # total out of balance
    "NOLINE": "007",  # missing data
}
_NOT_TEXT = str.maketrans({c: " " for c in "*~>^\r\n\t"})


@dataclass(frozen=True, slots=True)
class OutSegment:
    tag: str
    elements: tuple[str, ...]


def x12_997(subject: Interchange | InterchangeRejected, *, control: AckControl) -> bytes:
    """A 997 interchange acknowledging every functional group received in ``subject``."""
    interchange, errors = subject_of(subject)
    rejected = bool(errors)
    envelope = interchange.envelopes[0]
    sets = []
    number = 0
    for received in interchange.envelopes:
        for group in received.groups:
            group_errors = [i for i in errors if _in_group(i, received, group)]
            group_warnings = [i for i in interchange.warnings if _in_group(i, received, group)]
            body = _acknowledge_group(group, group_errors, group_warnings, rejected=rejected)
            sets.append(transaction_set("997", set_ref(control, number), body))
            number += 1
    version = next((g.version for e in interchange.envelopes for g in e.groups if g.version), None)
    return reply_interchange(envelope, "FA", sets, control, version=version)


def x12_855(
    interchange: Interchange,
    order: PurchaseOrder,
    outcomes: Sequence[LineOutcome],
    *,
    control: AckControl,
    response_number: str,
    held: str | None = None,
) -> bytes:
    """An 855 interchange acknowledging one received 850, with one ACK per line. ``held``: why the
    order waits for a person's review (it is kept, not refused)."""
    answered = outcomes_by_position(order, outcomes)
    statuses = {o.status for o in answered}
    if statuses == {LineStatus.ACCEPTED}:
        acknowledgment_type = "AD"  # with detail, no change
    elif statuses <= {LineStatus.REJECTED} and held is None:
        acknowledgment_type = "RD"  # rejected with detail (every line, or an order without lines)
    else:
        acknowledgment_type = "AC"  # with detail and change
    today = control.prepared_at.strftime("%Y%m%d")
    po_date = order.document_date.strftime("%Y%m%d") if order.document_date else ""
    body = [
        OutSegment(
            "BAK", ("00", acknowledgment_type, order.po_number, po_date, "", "", "", response_number, today)
        )
    ]
    for line, outcome in zip(order.lines, answered, strict=True):
        unit = line.unit or "EA"
        product: tuple[str, ...] = ()
        for identifier in line.identifiers[:1]:
            product = (identifier.qualifier or "", identifier.value)
        price = decimal_text(line.unit_price) if line.unit_price is not None else ""
        body.append(
            OutSegment(
                "PO1", (line.line_number or "", decimal_text(line.quantity), unit, price, "", *product)
            )
        )
        body += [
            OutSegment("ACK", (code, decimal_text(quantity), unit)) for code, quantity in _ack_lines(outcome)
        ]
    body.append(OutSegment("CTT", (str(len(order.lines)),)))
    version = order.message.version if order.message else None
    return reply_interchange(
        envelope_of(interchange, order),
        "PR",
        [transaction_set("855", set_ref(control, 0), body)],
        control,
        version=version,
    )


def x12_824(
    interchange: Interchange,
    order: PurchaseOrder,
    errors: Sequence[ApplicationError],
    *,
    control: AckControl,
    response_number: str,
    refused: bool,
) -> bytes:
    """An 824 (functional group AG) reporting the application errors of one received 850: rejected
    (``refused``: OTI01 TR) or accepted with errors, held for review (TE). Its OTI names the 850 (PO
    number, the partner's application codes, group and set control numbers); each error is a TED
    (condition code 647, our text); a line's TED points at PO1 and an NTE gives the partner's line."""
    if not errors:
        raise ValueError("an 824 reports at least one application error")
    message = order.message
    envelope = envelope_of(interchange, order)
    group = next(
        (g for g in envelope.groups if message is not None and g.control_ref == message.group_ref), None
    )
    version = message.version if message is not None else None
    moment = control.prepared_at
    original = (  # OTI08-11: the 850's group and set control numbers, its type and version
        (message.group_ref or "", message.reference, message.type, version or "")
        if message is not None
        else ("", "", "850", "")
    )
    body = [
        OutSegment("BGN", ("11", response_number, moment.strftime("%Y%m%d"), moment.strftime("%H%M"))),
        OutSegment(
            "OTI",
            (
                "TR" if refused else "TE",
                "PO",
                _text(order.po_number, 30) or "NA",
                _text(group.sender_id or "", 15) if group else "",
                _text(group.receiver_id or "", 15) if group else "",
                "",
                "",
                *original,
            ),
        ),
    ]
    for error in errors:
        code = _TED_CODE.get(error.code, "024")
        if error.line is None:
            body.append(OutSegment("TED", (code, _text(error.text, 60))))
        else:
            body.append(OutSegment("TED", (code, _text(error.text, 60), "PO1")))
            body.append(OutSegment("NTE", ("LIN", _text(error.line, 80))))
    return reply_interchange(
        envelope,
        "AG",
        [transaction_set("824", set_ref(control, 0), body)],
        control,
        version=version,
    )


def _text(value: str, size: int) -> str:
    """Free text as an X12 element: no separator inside, within the element's length."""
    return value.translate(_NOT_TEXT).strip()[:size]


def _ack_lines(outcome: LineOutcome) -> list[tuple[str, Decimal]]:
    """ACK01 status and quantity: a backorder is reported as the part shipped (IA) and the rest (IB)."""
    if outcome.status is not LineStatus.BACKORDERED:
        as_sent = outcome.status in (LineStatus.REJECTED, LineStatus.PENDING)
        return [(_ACK_STATUS[outcome.status], outcome.ordered if as_sent else outcome.confirmed)]
    lines: list[tuple[str, Decimal]] = []
    if outcome.confirmed:
        lines.append(("IA", outcome.confirmed))
    lines.append(("IB", outcome.backordered))
    return lines


def _in_group(issue: Issue, envelope: Envelope, group: FunctionalGroup) -> bool:
    where = issue.where
    return where.interchange_ref in (None, envelope.control_ref) and where.group_ref == group.control_ref


def _acknowledge_group(
    group: FunctionalGroup, errors: list[Issue], warnings: list[Issue], *, rejected: bool
) -> list[OutSegment]:
    body = [OutSegment("AK1", (group.functional_id, group.control_ref))]
    accepted = 0
    for message in group.messages:
        set_errors = [i for i in errors if i.where.message_ref == message.reference]
        noted = any(i.where.message_ref == message.reference for i in warnings)
        body.append(OutSegment("AK2", (message.type, message.reference)))
        body += _segment_errors(set_errors)
        status = "R" if rejected else ("E" if noted else "A")
        accepted += status != "R"
        body.append(OutSegment("AK5", (status, *_set_codes(set_errors))[:6]))
    group_codes = sorted(
        {_AK9_CODE[i.code] for i in errors if i.where.message_ref is None and i.code in _AK9_CODE}
    )
    count = str(len(group.messages))
    body.append(
        OutSegment(
            "AK9",
            (
                _group_status(rejected, accepted, bool(warnings)),
                count,
                count,
                str(accepted),
                *group_codes[:5],
            ),
        )
    )
    return body


def _group_status(rejected: bool, accepted: int, noted: bool) -> str:
    """AK901: R rejected, P partially accepted, E accepted with errors noted, A accepted."""
    if rejected:
        return "P" if accepted else "R"
    return "E" if noted else "A"


def _segment_errors(errors: list[Issue]) -> list[OutSegment]:
    segments: list[OutSegment] = []
    for issue in errors:
        where = issue.where
        if where.segment_position is None or where.segment_tag in ("ST", "SE"):
            continue
        element_code = _AK4_CODE.get(issue.code)
        segment_code = _AK3_CODE.get(issue.code, "8" if element_code else "")
        segments.append(
            OutSegment("AK3", (where.segment_tag or "", str(where.segment_position), "", segment_code))
        )
        if element_code and where.element is not None:
            position = str(where.element) + (f">{where.component}" if where.component else "")
            segments.append(OutSegment("AK4", (position, "", element_code)))
    return segments


def _set_codes(errors: list[Issue]) -> list[str]:
    codes = {_AK5_CODE[i.code] for i in errors if i.code in _AK5_CODE}
    if any(i.where.segment_tag not in ("ST", "SE") for i in errors):
        codes.add("5")  # one or more segments in error
    return sorted(codes, key=int)


def set_ref(control: AckControl, offset: int) -> str:
    if control.message_ref.isdigit():
        return str(int(control.message_ref) + offset).zfill(max(4, len(control.message_ref)))
    return f"{control.message_ref}{offset}"


def transaction_set(set_type: str, reference: str, body: list[OutSegment]) -> list[OutSegment]:
    return [OutSegment("ST", (set_type, reference)), *body, OutSegment("SE", (str(len(body) + 2), reference))]


def reply_interchange(
    received: Envelope,
    functional_id: str,
    sets: list[list[OutSegment]],
    control: AckControl,
    *,
    version: str | None,
) -> bytes:
    """ISA/GS/GE/IEA around ``sets``, addressed back to the sender of ``received``."""
    if not control.interchange_ref.isdigit() or len(control.interchange_ref) > 9:
        raise ValueError(f"ISA13 must be 1 to 9 digits, got {control.interchange_ref!r}")
    moment = control.prepared_at
    isa_version = received.syntax_version or "00401"
    repetition = "^" if isa_version >= "00402" else "U"
    group = received.groups[0] if received.groups else None
    our_application = (group.receiver_id if group else None) or received.receiver_id
    their_application = (group.sender_id if group else None) or received.sender_id
    isa = (
        "00", " " * 10, "00", " " * 10,
        (received.receiver_qualifier or "ZZ").ljust(2), received.receiver_id.ljust(15)[:15],
        (received.sender_qualifier or "ZZ").ljust(2), received.sender_id.ljust(15)[:15],
        moment.strftime("%y%m%d"), moment.strftime("%H%M"), repetition, isa_version,
        control.interchange_ref.zfill(9), "0", "T" if received.test else "P", SEPARATORS.component,
    )  # fmt: skip
    gs = (
        functional_id,
        our_application,
        their_application,
        moment.strftime("%Y%m%d"),
        moment.strftime("%H%M"),
        control.group_ref,
        "X",
        version or "004010",
    )
    segments = [
        "ISA" + SEPARATORS.element + SEPARATORS.element.join(isa) + SEPARATORS.terminator,
        format_x12_segment("GS", gs, SEPARATORS),
    ]
    for transaction in sets:
        segments += [format_x12_segment(s.tag, s.elements, SEPARATORS) for s in transaction]
    segments.append(format_x12_segment("GE", (str(len(sets)), control.group_ref), SEPARATORS))
    segments.append(format_x12_segment("IEA", ("1", control.interchange_ref.zfill(9)), SEPARATORS))
    return "".join(segments).encode("ascii", errors="replace")
