"""X12 syntax layer: separators from the ISA segment, tokenizer and segment writer.

The ISA is read by counting element separators, not by byte offsets: partners pad it with
no-break spaces (two bytes each in UTF-8) or shorten it, and a 106-byte reading then takes a
letter for the segment terminator. The element separator is the character after ``ISA``, the
component separator is ISA16, and the segment terminator is the character after ISA16; line
breaks, spaces and tabs that follow a terminator (pretty-printed files) are ignored.

Each interchange of a concatenated file is tokenized with its own separators.

Hard-wrapped files (legacy networks deliver them cut every 80 columns, inside segments and values):
line breaks are no X12 data characters, so when the terminator is not one they are removed wherever
they are, with a warning. When the terminator is a line break and the ISA itself is cut, the breaks
that end segments cannot be told from the ones that cut them: the file is rejected.

Bytes are read as UTF-8, as the partner's declared character set, or, when not valid UTF-8,
Windows-1252, which a warning names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from app.edi.charsets import charset_name, decode_windows_1252
from app.edi.issues import InterchangeRejected, Issue, IssueCode, IssueLog, Location

ISA_LENGTH = 106
_LEADING_NOISE = "\r\n\t \xa0"
_NBSP = "\xa0"
_LINE_BREAKS = "\r\n"
_WRAPPED = "the file is hard-wrapped: line breaks inside segments removed"


@dataclass(frozen=True, slots=True)
class X12Separators:
    element: str = "*"
    component: str = ">"
    terminator: str = "~"


class X12Segment(NamedTuple):
    """One segment: tag, element values (components not split), 1-based number in the file."""

    tag: str
    elements: tuple[str, ...]
    number: int

    def value(self, element: int) -> str:
        """Element by 1-based position (ISA01 is 1); ``""`` when absent."""
        return self.elements[element - 1] if element <= len(self.elements) else ""


@dataclass(frozen=True, slots=True)
class X12InterchangeTokens:
    """One ISA..IEA: its separators and segments (the ISA first)."""

    separators: X12Separators
    segments: list[X12Segment]


@dataclass(frozen=True, slots=True)
class X12Tokens:
    interchanges: list[X12InterchangeTokens]
    errors: tuple[Issue, ...]
    warnings: tuple[Issue, ...]
    encoding: str = "utf-8"


def tokenize_x12(data: bytes, *, charset: str | None = None) -> X12Tokens:
    """Split X12 bytes into interchanges of segments; defects are returned, not raised.

    Raises :class:`InterchangeRejected` only when no ISA header can be read at the start.
    """
    log = IssueLog()
    if data.startswith(b"\xef\xbb\xbf"):
        log.warn(IssueCode.BOM, "UTF-8 byte order mark before ISA ignored", Location(offset=0))
        data = data[3:]
    text, encoding = _decode(data, charset, log)
    interchanges: list[X12InterchangeTokens] = []
    position = _skip_noise(text, 0)
    index = 0
    while position < len(text):
        if not text.startswith("ISA", position):
            where = Location(
                segment_index=index + 1, segment_tag=text[position : position + 3], offset=position
            )
            if not interchanges:
                raise InterchangeRejected(
                    [Issue(IssueCode.UNKNOWN_FORMAT, "X12 data must start with ISA", where)]
                )
            log.error(
                IssueCode.UNEXPECTED_DATA, "data after the IEA trailer is not an ISA interchange", where
            )
            break
        found = _read_separators(text, position, index + 1, log)
        if found is None:
            if not interchanges:
                raise InterchangeRejected(log.errors)
            break
        separators, isa_end = found
        tokens, position = _split(text, position, isa_end, separators, index, log)
        index += len(tokens.segments)
        interchanges.append(tokens)
        position = _skip_noise(text, position)
    return X12Tokens(
        interchanges=interchanges, errors=tuple(log.errors), warnings=tuple(log.warnings), encoding=encoding
    )


def _decode(data: bytes, charset: str | None, log: IssueLog) -> tuple[str, str]:
    if charset is not None:
        try:
            return data.decode(charset), charset_name(charset)
        except UnicodeDecodeError as exc:
            detail = f"byte 0x{data[exc.start]:02X} is not valid {charset}, the partner's character set"
            log.error(IssueCode.INVALID_CHARACTER, detail, Location(offset=exc.start))
            return data.decode(charset, errors="replace"), charset_name(charset)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        detail = "bytes outside ASCII are not UTF-8: read as windows-1252"
        log.warn(IssueCode.CHARSET_MISMATCH, detail, Location(offset=exc.start))
        return decode_windows_1252(data), "windows-1252"


def _skip_noise(text: str, position: int) -> int:
    while position < len(text) and text[position] in _LEADING_NOISE:
        position += 1
    return position


def _read_separators(text: str, start: int, index: int, log: IssueLog) -> tuple[X12Separators, int] | None:
    """The separators and the offset of the ISA terminator, or ``None`` when unusable."""
    where = Location(segment_index=index, segment_tag="ISA")
    element = text[start + 3 : start + 4]
    if not element or element.isalnum() or element.isspace():
        log.error(IssueCode.INVALID_SEPARATORS, f"unusable element separator {element!r} after ISA", where)
        return None
    cursor = start + 3
    for _ in range(15):
        cursor = text.find(element, cursor + 1)
        if cursor < 0:
            log.error(IssueCode.TRUNCATED, "ISA segment is incomplete: fewer than 16 elements", where)
            return None
    component_at = cursor + 1
    while text[component_at : component_at + 1] in ("\r", "\n"):
        component_at += 1
    component, terminator = text[component_at : component_at + 1], text[component_at + 1 : component_at + 2]
    raw_isa = text[start : component_at + 1]
    if "\n" in raw_isa or "\r" in raw_isa:
        if terminator in ("\r", "\n"):
            detail = (
                "the ISA is cut by a line break and the segment terminator is a line break: a hard-wrapped "
                "file whose terminators cannot be told from its wrapping"
            )
            log.error(IssueCode.HARD_WRAPPED, detail, where)
            return None
        log.warn(IssueCode.HARD_WRAPPED, _WRAPPED, where)
    usable = component and terminator and len({element, component, terminator}) == 3
    if not usable or component.isalnum() or terminator.isalnum() or component.isspace():
        detail = f"ISA16 {component!r} and terminator {terminator!r} are not usable separators"
        log.error(
            IssueCode.INVALID_SEPARATORS, detail, Location(segment_index=index, segment_tag="ISA", element=16)
        )
        return None
    isa = _unwrapped(raw_isa) + terminator  # ISA_LENGTH counts the terminator
    if _NBSP in isa:
        log.warn(IssueCode.ENVELOPE_LAYOUT, "ISA padded with no-break spaces instead of spaces", where)
    if len(isa) != ISA_LENGTH:
        log.warn(
            IssueCode.ENVELOPE_LAYOUT, f"ISA is {len(isa)} characters long, {ISA_LENGTH} expected", where
        )
    return X12Separators(element=element, component=component, terminator=terminator), component_at + 1


def _unwrapped(text: str) -> str:
    return text.replace("\r", "").replace("\n", "")


def _split(
    text: str, start: int, isa_end: int, separators: X12Separators, index: int, log: IssueLog
) -> tuple[X12InterchangeTokens, int]:
    """Segments from ISA up to and including IEA (or the end of the data)."""
    element, terminator = separators.element, separators.terminator
    isa = _unwrapped(text[start:isa_end]).split(element)
    index += 1
    segments = [X12Segment("ISA", tuple(isa[1:]), index)]
    position = isa_end + 1
    unwrap = terminator not in _LINE_BREAKS
    wrapped = False
    while position < len(text):
        end = text.find(terminator, position)
        raw = text[position:] if end < 0 else text[position:end]
        position = len(text) if end < 0 else end + 1
        raw = raw.lstrip(_LEADING_NOISE).rstrip("\r\n")
        if not raw:
            continue
        if unwrap and ("\n" in raw or "\r" in raw):
            raw = _unwrapped(raw)
            if not wrapped:
                wrapped = True
                if not any(w.code is IssueCode.HARD_WRAPPED for w in log.warnings):
                    where = Location(segment_index=index + 1, segment_tag=raw[:3])
                    log.warn(IssueCode.HARD_WRAPPED, _WRAPPED, where)
        index += 1
        parts = raw.split(element)
        segments.append(X12Segment(parts[0], tuple(parts[1:]), index))
        if end < 0 and not raw.endswith(separators.component):
            _unterminated(segments[-1], log)
        if parts[0] == "IEA":
            break
    return X12InterchangeTokens(separators, _strip_component_terminators(segments, separators, log)), position


def _unterminated(segment: X12Segment, log: IssueLog) -> None:
    where = Location(segment_index=segment.number, segment_tag=segment.tag)
    if segment.tag == "IEA":
        log.warn(IssueCode.MISSING_TERMINATOR, "the final IEA has no segment terminator", where)
    else:
        log.error(IssueCode.TRUNCATED, "the data ends inside a segment: the file is truncated", where)


def _strip_component_terminators(
    segments: list[X12Segment], separators: X12Separators, log: IssueLog
) -> list[X12Segment]:
    """Read files whose segments end with ISA16 (``~``) although ISA declares another terminator.

    Some software writes ``~`` in ISA16 and then ends every segment with ``~`` and a line break.
    When most segments end that way, the trailing ``~`` is taken as a terminator and the
    segments that lack it are reported.
    """
    component = separators.component
    body = segments[1:]
    ending = {s.number for s in body if s.elements and s.elements[-1].endswith(component)}
    if not ending:
        return segments
    if len(ending) * 2 > len(body):
        detail = f"segments end with ISA16 {component!r}: read as a terminator followed by a line break"
        log.warn(
            IssueCode.ENVELOPE_LAYOUT, detail, Location(segment_index=segments[0].number, segment_tag="ISA")
        )
        for segment in body:
            if segment.number not in ending:
                where = Location(segment_index=segment.number, segment_tag=segment.tag)
                log.warn(IssueCode.MISSING_TERMINATOR, f"segment lacks its terminator {component!r}", where)
    return [
        s._replace(elements=(*s.elements[:-1], s.elements[-1][: -len(component)]))
        if s.number in ending
        else s
        for s in segments
    ]


def format_x12_segment(tag: str, elements: Sequence[str], separators: X12Separators) -> str:
    """One segment with its terminator; trailing empty elements are dropped."""
    values = list(elements)
    while values and not values[-1]:
        values.pop()
    return separators.element.join([tag, *values]) + separators.terminator
