"""X12 interchange reader: ISA/IEA, GS/GE, ST/SE envelopes and their control checks.

Rejected (errors): SE and GE counts that disagree with what was received, SE/GE control numbers
that differ from their header's, a set without SE (truncated file), a group without GE before
IEA, segments outside any set, an 850 without BEG or order number, unreadable quantities.

Tolerated with a warning, as real partners send them and each set is checked by its own SE count:

* no IEA at the end of the file after complete groups (``missing_trailer``);
* IEA02 different from ISA13 when IEA01 is right (``control_reference_mismatch``);
* an ISA that is not 106 characters, padded with no-break spaces, or whose segments end with
  ISA16 (``envelope_layout``, ``missing_terminator``);
* a set control number used twice in one group (``duplicate_control_reference``).

Sets other than 850 (810 invoices, 855...) are envelope-checked and listed in ``skipped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.edi.documents import (
    DocumentFormat,
    Envelope,
    FunctionalGroup,
    Interchange,
    MessageHeader,
    PurchaseOrder,
)
from app.edi.issues import InterchangeRejected, IssueCode, IssueLog, Location
from app.edi.perf import gc_paused
from app.edi.values import envelope_datetime, parse_count
from app.edi.x12_orders import read_purchase_order
from app.edi.x12_syntax import X12InterchangeTokens, X12Segment, tokenize_x12

ORDER_SET_TYPE = "850"
_PADDING = " \xa0"


@dataclass
class _GroupDraft:
    gs: X12Segment
    messages: list[MessageHeader] = field(default_factory=list)
    references: set[str] = field(default_factory=set)


def parse_x12(data: bytes, *, charset: str | None = None) -> Interchange:
    """Read X12 bytes (one or several interchanges) into an :class:`Interchange`. ``charset``: the
    partner's declared character set, if any (X12 declares none).

    Raises :class:`InterchangeRejected` with located issues and the leniently read interchange.
    """
    with gc_paused():
        tokens = tokenize_x12(data, charset=charset)
        log = IssueLog(errors=list(tokens.errors), warnings=list(tokens.warnings))
        orders: list[PurchaseOrder] = []
        skipped: list[MessageHeader] = []
        envelopes = [_InterchangeReader(t, log, orders, skipped).read() for t in tokens.interchanges]
    _warn_duplicate_interchanges(envelopes, tokens.interchanges, log)
    first = envelopes[0]
    interchange = Interchange(
        format=DocumentFormat.X12,
        sender_id=first.sender_id,
        receiver_id=first.receiver_id,
        control_ref=first.control_ref,
        test=first.test,
        charset=None,
        prepared_at=first.prepared_at,
        orders=tuple(orders),
        warnings=tuple(log.warnings),
        skipped=tuple(skipped),
        envelopes=tuple(envelopes),
        encoding=tokens.encoding,
    )
    if log.errors:
        raise InterchangeRejected(log.errors, interchange=interchange)
    return interchange


def _warn_duplicate_interchanges(
    envelopes: list[Envelope], tokens: list[X12InterchangeTokens], log: IssueLog
) -> None:
    seen: set[tuple[str, str]] = set()
    for envelope, interchange in zip(envelopes, tokens, strict=True):
        key = (envelope.sender_id, envelope.control_ref)
        if key in seen:
            isa = interchange.segments[0]
            where = Location(segment_index=isa.number, segment_tag="ISA", element=13)
            detail = f"interchange control number {envelope.control_ref} repeated in the same file"
            log.warn(IssueCode.DUPLICATE_CONTROL_REFERENCE, detail, where)
        seen.add(key)


class _InterchangeReader:
    def __init__(
        self,
        tokens: X12InterchangeTokens,
        log: IssueLog,
        orders: list[PurchaseOrder],
        skipped: list[MessageHeader],
    ) -> None:
        self.segments = tokens.segments
        self.log = log
        self.orders = orders
        self.skipped = skipped
        self.isa = tokens.segments[0]
        self.control_ref = _isa_value(self.isa, 13)
        self.groups: list[FunctionalGroup] = []
        self.all_complete = True

    def read(self) -> Envelope:
        self.check_isa()
        group: _GroupDraft | None = None
        position, count = 1, len(self.segments)
        iea: X12Segment | None = None
        while position < count:
            segment = self.segments[position]
            tag = segment.tag
            if tag == "ST":
                if group is None:
                    self.log.error(
                        IssueCode.UNEXPECTED_SEGMENT,
                        "ST segment outside a functional group (GS..GE)",
                        self.at(segment),
                    )
                position = self.read_set(position, group or _GroupDraft(X12Segment("GS", (), segment.number)))
                continue
            if tag == "GS":
                if group is not None:
                    self.missing(segment, group)
                    self.finish_group(group)
                group = _GroupDraft(segment)
                if not segment.value(6):
                    self.log.error(
                        IssueCode.MISSING_VALUE, "GS06 (group control number) is empty", self.at(segment, 6)
                    )
            elif tag == "GE" and group is not None:
                self.check_trailer(
                    segment,
                    len(group.messages),
                    group.gs.value(6),
                    strict_reference=True,
                    group_ref=group.gs.value(6),
                )
                self.finish_group(group)
                group = None
            elif tag == "IEA":
                iea = segment
                break
            else:
                context = "outside a functional group (GS..GE)" if group is None else "outside a set (ST..SE)"
                self.log.error(IssueCode.UNEXPECTED_SEGMENT, f"{tag} segment {context}", self.at(segment))
            position += 1
        if group is not None:
            self.missing(iea or self.segments[-1], group)
            self.finish_group(group)
        self.close(iea)
        return self.envelope()

    def at(self, segment: X12Segment, element: int | None = None, group_ref: str | None = None) -> Location:
        return Location(
            segment_index=segment.number,
            segment_tag=segment.tag,
            element=element,
            group_ref=group_ref,
            interchange_ref=self.control_ref,
        )

    def missing(self, segment: X12Segment, group: _GroupDraft) -> None:
        self.all_complete = False
        reference = group.gs.value(6)
        detail = f"GE missing: group {reference} is not closed"
        self.log.error(IssueCode.MISSING_SEGMENT, detail, self.at(segment, group_ref=reference))

    def check_isa(self) -> None:
        isa = self.isa
        if len(isa.elements) != 16:
            self.log.error(
                IssueCode.ENVELOPE_LAYOUT, f"ISA has {len(isa.elements)} elements, 16 expected", self.at(isa)
            )
        if parse_count(self.control_ref) is None:
            self.log.error(
                IssueCode.INVALID_VALUE,
                f"ISA13 control number {self.control_ref!r} is not numeric",
                self.at(isa, 13),
            )

    def check_trailer(
        self,
        trailer: X12Segment,
        actual: int,
        expected_ref: str,
        *,
        strict_reference: bool,
        group_ref: str | None = None,
    ) -> None:
        tag = trailer.tag
        declared = trailer.value(1).strip(_PADDING)
        if parse_count(declared) != actual:
            detail = f"{tag}01 declares {declared or 'no'} count, {actual} received"
            self.log.error(IssueCode.CONTROL_COUNT_MISMATCH, detail, self.at(trailer, 1, group_ref))
        reference = trailer.value(2).strip(_PADDING)
        if reference != expected_ref:
            detail = f"{tag}02 {reference!r} differs from the header's control number {expected_ref!r}"
            where = self.at(trailer, 2, group_ref)
            if strict_reference:
                self.log.error(IssueCode.CONTROL_REFERENCE_MISMATCH, detail, where)
            else:
                self.log.warn(
                    IssueCode.CONTROL_REFERENCE_MISMATCH, detail + "; the count matches, accepted", where
                )

    def finish_group(self, group: _GroupDraft) -> None:
        gs = group.gs
        if not group.messages:
            where = self.at(gs, group_ref=gs.value(6))
            self.log.error(IssueCode.MISSING_SEGMENT, f"group {gs.value(6)} holds no set (ST)", where)
        self.groups.append(
            FunctionalGroup(
                functional_id=gs.value(1),
                control_ref=gs.value(6),
                sender_id=gs.value(2) or None,
                receiver_id=gs.value(3) or None,
                version=gs.value(8) or None,
                messages=tuple(group.messages),
            )
        )

    def close(self, iea: X12Segment | None) -> None:
        if not self.groups:
            self.log.error(
                IssueCode.MISSING_SEGMENT, "interchange holds no functional group (GS)", self.at(self.isa)
            )
        if iea is not None:
            self.check_trailer(iea, len(self.groups), self.control_ref, strict_reference=False)
            return
        detail = f"interchange {self.control_ref} has no IEA trailer"
        if self.all_complete:
            self.log.warn(
                IssueCode.MISSING_TRAILER, detail + " after complete groups; accepted", self.at(self.isa)
            )
        else:
            self.log.error(IssueCode.MISSING_TRAILER, detail, self.at(self.isa))

    def read_set(self, start: int, group: _GroupDraft) -> int:
        segments = self.segments
        end = start + 1
        while end < len(segments) and segments[end].tag not in ("SE", "ST", "GE", "GS", "IEA"):
            end += 1
        closed = end < len(segments) and segments[end].tag == "SE"
        body = segments[start : end + 1] if closed else segments[start:end]
        st = segments[start]
        header = MessageHeader(
            reference=st.value(2),
            type=st.value(1),
            version=group.gs.value(8) or None,
            agency=group.gs.value(7) or None,
            interchange_ref=self.control_ref,
            group_ref=group.gs.value(6),
            segment_count=len(body),
        )
        self.check_set_envelope(body, closed, header, group)
        group.messages.append(header)
        if header.type == ORDER_SET_TYPE:
            order = read_purchase_order(body, header, self.log)
            if order is not None:
                self.orders.append(order)
        else:
            self.skipped.append(header)
        return end + 1 if closed else end

    def check_set_envelope(
        self, body: Sequence[X12Segment], closed: bool, header: MessageHeader, group: _GroupDraft
    ) -> None:
        def where(segment: X12Segment, element: int | None = None) -> Location:
            return Location(
                segment_index=segment.number,
                segment_tag=segment.tag,
                element=element,
                segment_position=1 if segment.tag == "ST" else len(body),
                message_ref=header.reference,
                group_ref=header.group_ref,
                interchange_ref=self.control_ref,
            )

        st = body[0]
        if not header.type or not header.reference:
            self.log.error(
                IssueCode.MISSING_VALUE, "ST01 and ST02 are mandatory", where(st, 1 if not header.type else 2)
            )
        if header.reference in group.references:
            detail = f"set control number {header.reference} used twice in group {header.group_ref}"
            self.log.warn(IssueCode.DUPLICATE_CONTROL_REFERENCE, detail, where(st, 2))
        group.references.add(header.reference)
        if not closed:
            self.all_complete = False
            detail = f"set {header.reference} has no SE trailer: the data is truncated or SE is missing"
            self.log.error(IssueCode.TRUNCATED, detail, where(body[-1]))
            return
        se = body[-1]
        declared = se.value(1)
        if parse_count(declared) != len(body):
            detail = f"SE01 declares {declared or 'no'} segments but the set has {len(body)}"
            self.log.error(IssueCode.CONTROL_COUNT_MISMATCH, detail, where(se, 1))
        if se.value(2) != header.reference:
            detail = f"SE02 {se.value(2)!r} differs from ST02 {header.reference!r}"
            self.log.error(IssueCode.CONTROL_REFERENCE_MISMATCH, detail, where(se, 2))

    def envelope(self) -> Envelope:
        isa = self.isa
        return Envelope(
            control_ref=self.control_ref,
            sender_id=_isa_value(isa, 6),
            receiver_id=_isa_value(isa, 8),
            sender_qualifier=_isa_value(isa, 5) or None,
            receiver_qualifier=_isa_value(isa, 7) or None,
            syntax="X12",
            syntax_version=_isa_value(isa, 12) or None,
            test=_isa_value(isa, 15) == "T",
            prepared_at=envelope_datetime(_isa_value(isa, 9), _isa_value(isa, 10)),
            messages=(),
            groups=tuple(self.groups),
            acknowledgment_requested=_isa_value(isa, 14) == "1",
        )


def _isa_value(isa: X12Segment, element: int) -> str:
    return isa.value(element).strip(_PADDING)
