"""EDIFACT acknowledgments: CONTRL (syntax report), EANCOM ORDRSP (order response) and APERAK
(application errors: a message refused, or kept but held for a person's review, and why).

Both are written as a complete interchange: UNA, UNB with the received sender and recipient
swapped, the messages, UNZ with the message count. Carnet rejects an interchange as a whole, so a
negative CONTRL rejects at UCI level (action 4) and lists the messages that hold errors with their
located UCS/UCD entries; a positive CONTRL acknowledges the interchange (action 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

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
from app.edi.documents import Envelope, Interchange, MessageHeader, PurchaseOrder
from app.edi.edifact_syntax import DEFAULT_CHARS, escape, format_segment
from app.edi.issues import InterchangeRejected, Issue, IssueCode

ACKNOWLEDGED = "7"
REJECTED = "4"
_SERVICE_SEGMENTS = frozenset(("UNB", "UNZ", "UNG", "UNE", "UNH", "UNT"))
_SYNTAX_ERROR: dict[IssueCode, str] = {
    IssueCode.UNSUPPORTED_SYNTAX: "2",
    IssueCode.INVALID_VALUE: "12",
    IssueCode.INVALID_SEGMENT_TAG: "12",
    IssueCode.MISSING_SEGMENT: "13",
    IssueCode.MISSING_VALUE: "13",
    IssueCode.MISSING_TRAILER: "13",
    IssueCode.TRUNCATED: "13",
    IssueCode.TOO_MANY_CONSTITUENTS: "16",
    IssueCode.INVALID_SEPARATORS: "20",
    IssueCode.INVALID_CHARACTER: "21",
    IssueCode.INVALID_RELEASE: "22",
    IssueCode.DUPLICATE_CONTROL_REFERENCE: "26",
    IssueCode.CONTROL_REFERENCE_MISMATCH: "28",
    IssueCode.CONTROL_COUNT_MISMATCH: "29",
    IssueCode.GROUPS_AND_MESSAGES_MIXED: "30",
    IssueCode.UNEXPECTED_SEGMENT: "33",
}
_UNSPECIFIED = "18"
_CODEC_BY_SYNTAX = {"UNOA": "ascii", "UNOB": "ascii", "UNOC": "latin-1", "UNOY": "utf-8"}
Element = str | tuple[str, ...]
Body = list[tuple[str, list[Element]] | str]
_LINE_ACTION = {  # EDIFACT 1229 on ORDRSP lines
    LineStatus.ACCEPTED: "5",  # accepted without amendment
    LineStatus.CHANGED: "3",  # changed
    LineStatus.BACKORDERED: "6",  # accepted with amendment: part now, the rest later
    LineStatus.REJECTED: "7",  # not accepted
    LineStatus.PENDING: "4",  # no action yet: the line waits for a person's review
}


def syntax_error_code(issue: Issue) -> str:
    """CONTRL data element 0085 for an issue."""
    return _SYNTAX_ERROR.get(issue.code, _UNSPECIFIED)


def edifact_contrl(subject: Interchange | InterchangeRejected, *, control: AckControl) -> bytes:
    """A CONTRL interchange answering every received EDIFACT interchange of ``subject``.

    One CONTRL message per received UNB..UNZ, numbered from ``control.message_ref``.
    """
    interchange, issues = subject_of(subject)
    eancom = any((m.association_code or "").startswith("EAN") for m in _all_messages(interchange))
    message_type = ("CONTRL", "D", "3", "UN", "EAN002" if eancom else "")
    messages = [
        _contrl_message(
            envelope,
            [i for i in issues if _belongs_to(i, envelope)],
            message_type,
            _message_ref(control, number),
            rejected=bool(issues),
        )
        for number, envelope in enumerate(interchange.envelopes)
    ]
    return reply_interchange(interchange.envelopes[0], messages, control, application_ref="CONTRL")


def eancom_ordrsp(
    interchange: Interchange,
    order: PurchaseOrder,
    outcomes: Sequence[LineOutcome],
    *,
    control: AckControl,
    response_number: str,
    held: str | None = None,
) -> bytes:
    """An EANCOM ORDRSP (D96A EAN005) answering one received order, line by line. ``held``: why the
    order waits for a person's review (it is kept, not refused), said in a header FTX."""
    answered = outcomes_by_position(order, outcomes)
    statuses = {o.status for o in answered}
    if statuses == {LineStatus.ACCEPTED}:
        function = "29"  # accepted without amendment
    elif statuses <= {LineStatus.REJECTED} and held is None:
        function = "27"  # not accepted (every line rejected, or a refused order without lines)
    else:
        function = "4"  # change
    # Written directly, as format_segment would: an interchange answers a thousand orders at once.
    body: Body = [
        f"BGM+231+{_text(response_number)}+{function}'",
        f"DTM+137:{control.prepared_at.strftime('%Y%m%d%H%M')}:203'",
    ]
    if held is not None:
        body.append(("FTX", ["AAI", "", "", held[:350]]))
    body.append(("RFF", [("ON", order.po_number)]))
    if order.document_date:
        body.append(f"DTM+171:{order.document_date.strftime('%Y%m%d')}:102'")
    for party in order.parties:
        if party.qualifier in ("BY", "SU", "DP") and party.id:
            agency = f"::{_text(party.id_agency)}" if party.id_agency else ""
            body.append(f"NAD+{_text(party.qualifier)}+{_text(party.id)}{agency}'")
    for line, outcome in zip(order.lines, answered, strict=True):
        item = line.identifiers[0] if line.identifiers else None
        number = _text(line.line_number or str(line.position))
        code = f"+{_text(item.value)}{':' + _text(item.qualifier) if item.qualifier else ''}" if item else ""
        body.append(f"LIN+{number}+{_LINE_ACTION[outcome.status]}{code}'")
        unit = f":{_text(line.unit)}" if line.unit else ""
        body.append(f"QTY+21:{decimal_text(outcome.ordered)}{unit}'")
        if outcome.status in (LineStatus.CHANGED, LineStatus.BACKORDERED):
            body.append(f"QTY+113:{decimal_text(outcome.confirmed)}{unit}'")
        if outcome.backordered:
            body.append(f"QTY+83:{decimal_text(outcome.backordered)}{unit}'")
        if outcome.status is LineStatus.PENDING:
            body.append("FTX+AAI+++held for review'")
    body.append("UNS+S'")
    body.append(f"CNT+2:{len(order.lines)}'")
    message = message_segments(control.message_ref, ("ORDRSP", "D", "96A", "UN", "EAN005"), body)
    return reply_interchange(envelope_of(interchange, order), [message], control, application_ref="ORDRSP")


def eancom_aperak(
    interchange: Interchange,
    order: PurchaseOrder,
    errors: Sequence[ApplicationError],
    *,
    control: AckControl,
    response_number: str,
    refused: bool,
) -> bytes:
    """An EANCOM APERAK (D96A EAN001) reporting the application errors of one received order:
    not accepted (``refused``) or accepted with errors to review."""
    if not errors:
        raise ValueError("an APERAK reports at least one application error")
    body: Body = [
        ("BGM", [("12E", "", "9"), response_number, "27" if refused else "6"]),
        ("DTM", [("137", control.prepared_at.strftime("%Y%m%d%H%M"), "203")]),
        ("RFF", [("ON", order.po_number)]),
    ]
    if order.document_date:
        body.append(("DTM", [("171", order.document_date.strftime("%Y%m%d"), "102")]))
    if order.message is not None:
        body.append(("RFF", [("ACW", order.message.reference)]))  # the message acknowledged
    for party in order.parties:
        if party.qualifier in ("BY", "SU") and party.id:
            body.append(("NAD", [party.qualifier, (party.id, "", party.id_agency or "")]))
    for error in errors:
        body.append(("ERC", [(error.code[:8], "", "91")]))
        body.append(("FTX", ["AAO", "", "", error.text[:350]]))
        if error.line is not None:
            body.append(("RFF", [("LI", error.line)]))
    message = message_segments(control.message_ref, ("APERAK", "D", "96A", "UN", "EAN001"), body)
    return reply_interchange(envelope_of(interchange, order), [message], control, application_ref="APERAK")


def _all_messages(interchange: Interchange) -> list[MessageHeader]:
    return [
        m for e in interchange.envelopes for m in (*e.messages, *(m for g in e.groups for m in g.messages))
    ]


def _message_ref(control: AckControl, offset: int) -> str:
    return (
        str(int(control.message_ref) + offset)
        if control.message_ref.isdigit()
        else f"{control.message_ref}{offset}"
    )


def _belongs_to(issue: Issue, envelope: Envelope) -> bool:
    reference = issue.where.interchange_ref
    return reference is None or reference == envelope.control_ref


def _contrl_message(
    envelope: Envelope, issues: list[Issue], message_type: tuple[str, ...], reference: str, *, rejected: bool
) -> list[str]:
    """One CONTRL; ``rejected`` holds for every interchange of a transmission refused as a whole."""
    envelope_issues = [i for i in issues if i.where.message_ref is None and i.where.group_ref is None]
    first = envelope_issues[0] if envelope_issues else None
    uci: list[Element] = [
        envelope.control_ref,
        (envelope.sender_id, envelope.sender_qualifier or ""),
        (envelope.receiver_id, envelope.receiver_qualifier or ""),
        REJECTED if rejected else ACKNOWLEDGED,
    ]
    if first is not None:
        uci += _error_reference(first)
    body: Body = [("UCI", uci)]
    for group in envelope.groups:
        group_issues = [i for i in issues if i.where.group_ref == group.control_ref]
        if group_issues:
            ucf: list[Element] = [
                group.control_ref,
                group.sender_id or "",
                group.receiver_id or "",
            ]
            ucf.append(REJECTED)
            trailer_issues = [i for i in group_issues if i.where.message_ref is None]
            if trailer_issues:
                ucf += _error_reference(trailer_issues[0])
            body.append(("UCF", ucf))
        body += _message_reports(group.messages, group_issues)
    body += _message_reports(envelope.messages, issues)
    return message_segments(reference, message_type, body)


def _message_reports(messages: Sequence[MessageHeader], issues: list[Issue]) -> Body:
    reports: Body = []
    for message in messages:
        mine = [i for i in issues if i.where.message_ref == message.reference]
        if not mine:
            continue
        identifier = (
            message.type,
            message.version or "",
            message.release or "",
            message.agency or "",
            message.association_code or "",
        )
        service = [i for i in mine if i.where.segment_tag in _SERVICE_SEGMENTS]
        ucm: list[Element] = [message.reference, identifier, REJECTED]
        if service:
            ucm += _error_reference(service[0])
        reports.append(("UCM", ucm))
        for issue in mine:
            where = issue.where
            if issue in service or where.segment_position is None:
                continue
            if where.element is None:
                reports.append(("UCS", [str(where.segment_position), syntax_error_code(issue)]))
            else:
                reports.append(("UCS", [str(where.segment_position)]))
                reports.append(("UCD", [syntax_error_code(issue), _data_element_position(issue)]))
    return reports


def _error_reference(issue: Issue) -> list[Element]:
    """0085 syntax error, 0013 service segment tag, S011 element position of an envelope error."""
    where = issue.where
    tag = where.segment_tag if where.segment_tag in _SERVICE_SEGMENTS else ""
    return [syntax_error_code(issue), tag or "", _data_element_position(issue)]


def _data_element_position(issue: Issue) -> tuple[str, ...]:
    """S011: CONTRL counts the segment tag as position 1, so element 1 is position 2."""
    where = issue.where
    if where.element is None:
        return ("",)
    return str(where.element + 1), str(where.component or "")


@lru_cache(maxsize=4096)  # the same line numbers, items and units come back in every response
def _text(value: str) -> str:
    return escape(value, DEFAULT_CHARS)


def message_segments(reference: str, message_type: tuple[str, ...], body: Body) -> list[str]:
    """UNH, the body (each a segment to format, or one already written) and UNT counting them."""
    segments = [format_segment("UNH", [reference, message_type], DEFAULT_CHARS)]
    segments += [
        entry if isinstance(entry, str) else format_segment(entry[0], entry[1], DEFAULT_CHARS)
        for entry in body
    ]
    segments.append(format_segment("UNT", [str(len(segments) + 1), reference], DEFAULT_CHARS))
    return segments


def reply_interchange(
    received: Envelope, messages: list[list[str]], control: AckControl, *, application_ref: str
) -> bytes:
    """UNA/UNB/UNZ around ``messages``, addressed back to the sender of ``received``.

    Written in the received character set when it can hold every value, otherwise in UNOY
    (UTF-8, syntax 4): a replacement ``?`` would read as a release character.
    """
    body = "".join(segment for message in messages for segment in message)
    trailer = format_segment("UNZ", [str(len(messages)), control.interchange_ref], DEFAULT_CHARS)
    syntax = received.syntax if received.syntax in _CODEC_BY_SYNTAX else "UNOC"
    try:
        unb = _unb(received, control, application_ref, syntax, received.syntax_version or "3")
        return (DEFAULT_CHARS.una() + unb + body + trailer).encode(_CODEC_BY_SYNTAX[syntax])
    except UnicodeEncodeError:
        unb = _unb(received, control, application_ref, "UNOY", "4")
        return (DEFAULT_CHARS.una() + unb + body + trailer).encode("utf-8")


def _unb(received: Envelope, control: AckControl, application_ref: str, syntax: str, version: str) -> str:
    header: list[Element] = [
        (syntax, version),
        (received.receiver_id, received.receiver_qualifier or ""),
        (received.sender_id, received.sender_qualifier or ""),
        _unb_time(control.prepared_at, version),
        control.interchange_ref,
        "",
        application_ref,
        "",
        "",
        "",
        "1" if received.test else "",
    ]
    return format_segment("UNB", header, DEFAULT_CHARS)


def _unb_time(moment: datetime, version: str) -> tuple[str, str]:
    day = moment.strftime("%Y%m%d") if version == "4" else moment.strftime("%y%m%d")
    return day, moment.strftime("%H%M")
