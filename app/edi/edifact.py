"""EDIFACT interchange reader: envelopes (UNB/UNZ, UNG/UNE, UNH/UNT) and their control checks.

Rejected (errors): UNT, UNE and UNZ counts that disagree with what was received, UNT/UNE
references that do not repeat their header's, a message without UNT (truncated file), segments
outside any message, a message or interchange without its mandatory parts, and every syntax error
the tokenizer reports (charset, release character, separators).

Tolerated with a warning, because real partners send it and the orders are complete and
individually checked by their UNT counts:

* no UNZ at the end of the file after complete messages (``missing_trailer``);
* a UNZ reference that differs from UNB's when the UNZ count is right (some software writes the
  UNB application reference there) (``control_reference_mismatch``);
* a message reference used twice in one interchange (``duplicate_control_reference``).

Non-ORDERS messages (INVOIC, APERAK...) are checked for their envelope only and listed in
``Interchange.skipped``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from app.edi.charsets import charset_name
from app.edi.documents import (
    DocumentFormat,
    Envelope,
    FunctionalGroup,
    Interchange,
    MessageHeader,
    PurchaseOrder,
)
from app.edi.edifact_orders import read_orders_message
from app.edi.edifact_syntax import Segment, tokenize
from app.edi.issues import InterchangeRejected, Issue, IssueCode, IssueLog, Location
from app.edi.perf import gc_paused
from app.edi.values import envelope_datetime, parse_count

_ENVELOPE_TAGS = frozenset(("UNB", "UNZ", "UNG", "UNE", "UNH"))
ORDER_MESSAGE_TYPE = "ORDERS"


@dataclass
class _GroupDraft:
    ung: Segment
    messages: list[MessageHeader] = field(default_factory=list)


@dataclass
class _EnvelopeDraft:
    unb: Segment
    messages: list[MessageHeader] = field(default_factory=list)
    groups: list[FunctionalGroup] = field(default_factory=list)
    group: _GroupDraft | None = None
    all_complete: bool = True
    references: set[str] = field(default_factory=set)

    @property
    def control_ref(self) -> str:
        return self.unb.value(5)


def parse_edifact(data: bytes) -> Interchange:
    """Read EDIFACT bytes (one or several interchanges) into an :class:`Interchange`.

    Raises :class:`InterchangeRejected` with located issues and, when the envelopes were readable,
    the leniently read interchange.
    """
    with gc_paused():
        tokens = tokenize(data)
        log = IssueLog(errors=list(tokens.errors), warnings=list(tokens.warnings))
        reader = _InterchangeReader(tokens.segments, log)
        reader.read()
    log.errors = [reader.in_message_context(issue) for issue in log.errors]
    interchange = reader.build(tokens.syntax, charset_name(tokens.encoding))
    if log.errors:
        raise InterchangeRejected(log.errors, interchange=interchange, format=DocumentFormat.EDIFACT)
    assert interchange is not None  # no error means an envelope was read
    return interchange


class _InterchangeReader:
    def __init__(self, segments: Sequence[Segment], log: IssueLog) -> None:
        self.segments = segments
        self.log = log
        self.envelopes: list[Envelope] = []
        self.orders: list[PurchaseOrder] = []
        self.skipped: list[MessageHeader] = []
        self.message_starts: list[int] = []
        self.message_spans: list[tuple[int, MessageHeader]] = []

    def read(self) -> None:
        position, count = 0, len(self.segments)
        while position < count:
            segment = self.segments[position]
            if segment.tag == "UNB":
                position = self.read_interchange(position)
            else:
                self.unexpected(segment, "outside an interchange (UNB..UNZ)")
                position += 1

    def build(self, syntax: str | None, encoding: str) -> Interchange | None:
        if not self.envelopes:
            if not self.log.errors:
                self.log.error(IssueCode.MISSING_SEGMENT, "no UNB interchange header", Location(offset=0))
            return None
        first = self.envelopes[0]
        return Interchange(
            format=DocumentFormat.EDIFACT,
            sender_id=first.sender_id,
            receiver_id=first.receiver_id,
            control_ref=first.control_ref,
            test=first.test,
            charset=syntax,
            prepared_at=first.prepared_at,
            orders=tuple(self.orders),
            warnings=tuple(self.log.warnings),
            skipped=tuple(self.skipped),
            envelopes=tuple(self.envelopes),
            encoding=encoding,
        )

    def in_message_context(self, issue: Issue) -> Issue:
        """Add message reference and position to a tokenizer issue, as CONTRL UCS needs them."""
        where = issue.where
        if where.segment_index is None or where.message_ref is not None:
            return issue
        rank = bisect_right(self.message_starts, where.segment_index) - 1
        if rank < 0 or self.message_spans[rank][0] < where.segment_index:
            return issue
        header = self.message_spans[rank][1]
        located = replace(
            where,
            segment_position=where.segment_index - self.message_starts[rank] + 1,
            message_ref=header.reference,
            group_ref=header.group_ref,
            interchange_ref=header.interchange_ref,
        )
        return replace(issue, where=located)

    def unexpected(self, segment: Segment, context: str, interchange_ref: str | None = None) -> None:
        where = Location(
            segment_index=segment.number, segment_tag=segment.tag, interchange_ref=interchange_ref
        )
        self.log.error(IssueCode.UNEXPECTED_SEGMENT, f"{segment.tag} segment {context}", where)

    def read_interchange(self, position: int) -> int:
        unb = self.segments[position]
        draft = _EnvelopeDraft(unb)
        self.check_unb(unb)
        position += 1
        while position < len(self.segments):
            segment = self.segments[position]
            tag = segment.tag
            if tag == "UNH":
                position = self.read_message(position, draft)
                continue
            if tag == "UNG":
                self.open_group(draft, segment)
            elif tag == "UNE":
                self.close_group(draft, segment)
            elif tag == "UNZ":
                self.close_interchange(draft, segment)
                return position + 1
            elif tag == "UNB":
                break
            else:
                self.unexpected(segment, "outside a message (UNH..UNT)", draft.control_ref)
            position += 1
        self.close_interchange(draft, None)
        return position

    def check_unb(self, unb: Segment) -> None:
        for element, name in ((2, "sender"), (3, "recipient"), (5, "control reference")):
            if not unb.value(element):
                where = Location(
                    segment_index=unb.number,
                    segment_tag="UNB",
                    element=element,
                    interchange_ref=unb.value(5) or None,
                )
                self.log.error(IssueCode.MISSING_VALUE, f"UNB has no interchange {name}", where)

    def open_group(self, draft: _EnvelopeDraft, ung: Segment) -> None:
        if draft.group is not None:
            self.missing_trailer_error(draft, ung, "UNE", draft.group)
            self.finish_group(draft, draft.group)
        if draft.messages:
            where = Location(segment_index=ung.number, segment_tag="UNG", interchange_ref=draft.control_ref)
            detail = "functional groups and messages outside groups are mixed in one interchange"
            self.log.error(IssueCode.GROUPS_AND_MESSAGES_MIXED, detail, where)
        if not ung.value(5):
            where = Location(
                segment_index=ung.number, segment_tag="UNG", element=5, interchange_ref=draft.control_ref
            )
            self.log.error(IssueCode.MISSING_VALUE, "UNG has no group reference", where)
        draft.group = _GroupDraft(ung)

    def close_group(self, draft: _EnvelopeDraft, une: Segment) -> None:
        group = draft.group
        if group is None:
            self.unexpected(une, "without a UNG", draft.control_ref)
            return
        self.check_trailer(
            une,
            declared=une.value(1),
            actual=len(group.messages),
            reference=une.value(2),
            expected_reference=group.ung.value(5),
            strict_reference=True,
            interchange_ref=draft.control_ref,
            group_ref=group.ung.value(5),
        )
        self.finish_group(draft, group)

    def finish_group(self, draft: _EnvelopeDraft, group: _GroupDraft) -> None:
        ung = group.ung
        draft.groups.append(
            FunctionalGroup(
                functional_id=ung.value(1),
                control_ref=ung.value(5),
                sender_id=ung.value(2) or None,
                receiver_id=ung.value(3) or None,
                version=":".join(c for c in ung.components(7) if c) or None,
                messages=tuple(group.messages),
            )
        )
        draft.group = None

    def close_interchange(self, draft: _EnvelopeDraft, unz: Segment | None) -> None:
        unb = draft.unb
        if draft.group is not None:
            self.missing_trailer_error(draft, unz or unb, "UNE", draft.group)
            self.finish_group(draft, draft.group)
        if not draft.messages and not draft.groups:
            where = Location(segment_index=unb.number, segment_tag="UNB", interchange_ref=draft.control_ref)
            self.log.error(IssueCode.MISSING_SEGMENT, "interchange holds no message (UNH)", where)
        if unz is None:
            where = Location(segment_index=unb.number, segment_tag="UNB", interchange_ref=draft.control_ref)
            detail = f"interchange {draft.control_ref} has no UNZ trailer"
            if draft.all_complete:
                self.log.warn(IssueCode.MISSING_TRAILER, detail + " after complete messages; accepted", where)
            else:
                self.log.error(IssueCode.MISSING_TRAILER, detail, where)
        else:
            actual = len(draft.groups) if draft.groups else len(draft.messages)
            self.check_trailer(
                unz,
                declared=unz.value(1),
                actual=actual,
                reference=unz.value(2),
                expected_reference=draft.control_ref,
                strict_reference=False,
                interchange_ref=draft.control_ref,
            )
        self.envelopes.append(_envelope(draft))

    def check_trailer(
        self,
        trailer: Segment,
        *,
        declared: str,
        actual: int,
        reference: str,
        expected_reference: str,
        strict_reference: bool,
        interchange_ref: str,
        group_ref: str | None = None,
    ) -> None:
        tag = trailer.tag
        at = Location(
            segment_index=trailer.number,
            segment_tag=tag,
            interchange_ref=interchange_ref,
            group_ref=group_ref,
        )
        if parse_count(declared) != actual:
            where = replace(at, element=1)
            detail = f"{tag} declares {declared or 'no'} count, {actual} received"
            self.log.error(IssueCode.CONTROL_COUNT_MISMATCH, detail, where)
        if reference != expected_reference:
            where = replace(at, element=2)
            detail = f"{tag} reference {reference!r} differs from the header's {expected_reference!r}"
            if strict_reference:
                self.log.error(IssueCode.CONTROL_REFERENCE_MISMATCH, detail, where)
            else:
                self.log.warn(
                    IssueCode.CONTROL_REFERENCE_MISMATCH, detail + "; the count matches, accepted", where
                )

    def missing_trailer_error(
        self, draft: _EnvelopeDraft, segment: Segment, trailer: str, group: _GroupDraft
    ) -> None:
        reference = group.ung.value(5)
        where = Location(
            segment_index=segment.number,
            segment_tag=segment.tag,
            interchange_ref=draft.control_ref,
            group_ref=reference,
        )
        self.log.error(
            IssueCode.MISSING_SEGMENT, f"{trailer} missing: group {reference} is not closed", where
        )

    def read_message(self, start: int, draft: _EnvelopeDraft) -> int:
        segments = self.segments
        end = start + 1
        while end < len(segments) and segments[end].tag not in _ENVELOPE_TAGS and segments[end].tag != "UNT":
            end += 1
        unh = segments[start]
        closed = end < len(segments) and segments[end].tag == "UNT"
        body = segments[start : end + 1] if closed else segments[start:end]
        group = draft.group
        header = MessageHeader(
            reference=unh.value(1),
            type=unh.value(2, 1),
            version=unh.value(2, 2) or None,
            release=unh.value(2, 3) or None,
            agency=unh.value(2, 4) or None,
            association_code=unh.value(2, 5) or None,
            interchange_ref=draft.control_ref,
            group_ref=group.ung.value(5) if group else None,
            segment_count=len(body),
        )
        self.check_message_envelope(unh, body, closed, header, draft)
        self.message_starts.append(unh.number)
        self.message_spans.append((body[-1].number, header))
        (group.messages if group else draft.messages).append(header)
        if header.type == ORDER_MESSAGE_TYPE:
            order = read_orders_message(body, header, self.log)
            if order is not None:
                self.orders.append(order)
        else:
            self.skipped.append(header)
        return end + 1 if closed else end

    def check_message_envelope(
        self,
        unh: Segment,
        body: Sequence[Segment],
        closed: bool,
        header: MessageHeader,
        draft: _EnvelopeDraft,
    ) -> None:
        def where(segment: Segment, element: int | None = None) -> Location:
            return Location(
                segment_index=segment.number,
                segment_tag=segment.tag,
                element=element,
                segment_position=1 if segment is unh else len(body),
                message_ref=header.reference,
                interchange_ref=draft.control_ref,
                group_ref=header.group_ref,
            )

        if not header.reference:
            self.log.error(IssueCode.MISSING_VALUE, "UNH has no message reference", where(unh, 1))
        if not header.type:
            self.log.error(IssueCode.MISSING_VALUE, "UNH has no message type", where(unh, 2))
        if header.reference in draft.references:
            detail = f"message reference {header.reference} used twice in interchange {draft.control_ref}"
            self.log.warn(IssueCode.DUPLICATE_CONTROL_REFERENCE, detail, where(unh, 1))
        draft.references.add(header.reference)
        if not closed:
            draft.all_complete = False
            last = body[-1]
            detail = f"message {header.reference} has no UNT trailer: the data is truncated or UNT is missing"
            self.log.error(IssueCode.TRUNCATED, detail, where(last))
            return
        unt = body[-1]
        declared = unt.value(1)
        if parse_count(declared) != len(body):
            detail = f"UNT declares {declared or 'no'} segments but the message has {len(body)}"
            self.log.error(IssueCode.CONTROL_COUNT_MISMATCH, detail, where(unt, 1))
        if unt.value(2) != header.reference:
            detail = f"UNT reference {unt.value(2)!r} differs from UNH {header.reference!r}"
            self.log.error(IssueCode.CONTROL_REFERENCE_MISMATCH, detail, where(unt, 2))


def _envelope(draft: _EnvelopeDraft) -> Envelope:
    unb = draft.unb
    return Envelope(
        control_ref=draft.control_ref,
        sender_id=unb.value(2, 1),
        receiver_id=unb.value(3, 1),
        sender_qualifier=unb.value(2, 2) or None,
        receiver_qualifier=unb.value(3, 2) or None,
        syntax=unb.value(1, 1) or None,
        syntax_version=unb.value(1, 2) or None,
        test=unb.value(11) == "1",
        prepared_at=envelope_datetime(unb.value(4, 1), unb.value(4, 2)),
        messages=tuple(draft.messages),
        groups=tuple(draft.groups),
        acknowledgment_requested=unb.value(9) == "1",
    )
