"""Located problems found while reading an interchange, and the rejection that carries them.

Every problem has a location a partner can act on: a segment (EDIFACT/X12), a line and column
(CSV, XML) or an XPath (XML). The same :class:`Issue` type is used for errors (inside
:class:`InterchangeRejected`) and for tolerated defects (``Interchange.warnings``), so the HTTP
layer can render both as ``{code, detail, loc}`` and the acknowledgment builders can map codes to
CONTRL / 997 error codes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.edi.documents import DocumentFormat, Interchange

MAX_ISSUES = 200
"""Cap per list: a binary file fed as EDIFACT would otherwise yield one issue per byte."""


class IssueCode(StrEnum):
    """Machine-readable reason of an issue; stable, used by acknowledgments and the API."""

    UNKNOWN_FORMAT = "unknown_format"
    CONTENT_TYPE_MISMATCH = "content_type_mismatch"
    PROFILE_MISMATCH = "profile_mismatch"
    HARD_WRAPPED = "hard_wrapped"
    BOM = "byte_order_mark"
    CHARSET_MISMATCH = "charset_mismatch"
    UNSUPPORTED_SYNTAX = "unsupported_syntax"
    INVALID_CHARACTER = "invalid_character"
    INVALID_SEPARATORS = "invalid_separators"
    INVALID_RELEASE = "invalid_release"
    INVALID_SEGMENT_TAG = "invalid_segment_tag"
    TOO_MANY_CONSTITUENTS = "too_many_constituents"
    MISSING_SEGMENT = "missing_segment"
    MISSING_VALUE = "missing_value"
    INVALID_VALUE = "invalid_value"
    INVALID_DATE = "invalid_date"
    UNEXPECTED_SEGMENT = "unexpected_segment"
    UNEXPECTED_DATA = "unexpected_data"
    TRUNCATED = "truncated"
    MISSING_TRAILER = "missing_trailer"
    CONTROL_COUNT_MISMATCH = "control_count_mismatch"
    CONTROL_REFERENCE_MISMATCH = "control_reference_mismatch"
    DUPLICATE_CONTROL_REFERENCE = "duplicate_control_reference"
    GROUPS_AND_MESSAGES_MIXED = "groups_and_messages_mixed"
    CONTROL_TOTAL_MISMATCH = "control_total_mismatch"
    ENVELOPE_LAYOUT = "envelope_layout"
    MISSING_TERMINATOR = "missing_terminator"
    XML_SYNTAX = "xml_syntax"
    XML_FORBIDDEN = "xml_forbidden_construct"
    UNKNOWN_DOCUMENT = "unknown_document"
    CSV_LAYOUT = "csv_layout"
    TOO_MANY_ISSUES = "too_many_issues"


@dataclass(frozen=True, slots=True)
class Location:
    """Where an issue is. Only the fields that make sense for the format are set.

    ``segment_index`` counts segments from the start of the file (1 = first UNB/ISA), which is
    what a person reading the file needs; ``segment_position`` counts from the message header
    (UNH/ST = 1), which is what CONTRL UCS and 997 AK3 report.
    """

    segment_index: int | None = None
    segment_tag: str | None = None
    element: int | None = None
    component: int | None = None
    segment_position: int | None = None
    message_ref: str | None = None
    group_ref: str | None = None
    interchange_ref: str | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None
    xpath: str | None = None
    offset: int | None = None

    def __str__(self) -> str:
        parts: list[str] = []
        if self.segment_index is not None:
            parts.append(f"segment {self.segment_index} ({self.segment_tag or '?'})")
            if self.element is not None:
                parts.append(f"element {self.element}")
            if self.component is not None:
                parts.append(f"component {self.component}")
            if self.message_ref is not None:
                parts.append(f"in message {self.message_ref}")
        if self.line is not None:
            parts.append(f"line {self.line}")
            if self.column is not None:
                parts.append(f"column {self.column}")
        if self.field is not None:
            parts.append(f"({self.field})")
        if self.xpath is not None:
            parts.append(self.xpath)
        if not parts and self.offset is not None:
            parts.append(f"byte {self.offset}")
        return " ".join(parts) or "start of data"


@dataclass(frozen=True, slots=True)
class Issue:
    """One located problem: an error in a rejection, a warning on an accepted interchange."""

    code: IssueCode
    detail: str
    where: Location

    @property
    def loc(self) -> str:
        return str(self.where)

    @property
    def msg(self) -> str:
        """The detail, under the name the API uses for validation errors (``{loc, msg}``)."""
        return self.detail


@dataclass
class IssueLog:
    """Mutable collector used while parsing; frozen into tuples on the result."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)

    def error(self, code: IssueCode, detail: str, where: Location) -> None:
        _append_capped(self.errors, Issue(code, detail, where))

    def warn(self, code: IssueCode, detail: str, where: Location) -> None:
        _append_capped(self.warnings, Issue(code, detail, where))


def _append_capped(issues: list[Issue], issue: Issue) -> None:
    if len(issues) < MAX_ISSUES:
        issues.append(issue)
    elif len(issues) == MAX_ISSUES:
        issues.append(Issue(IssueCode.TOO_MANY_ISSUES, "further issues not reported", issue.where))


class InterchangeRejected(Exception):
    """The interchange as a whole is refused: no order from it may be captured.

    ``issues`` are the located errors (at least one). ``interchange`` is what a lenient reading
    recovered, when the data was readable at all, so the caller can store it next to the raw file
    and build a negative acknowledgment that names the partner's own references.
    """

    def __init__(
        self,
        issues: list[Issue] | tuple[Issue, ...],
        *,
        interchange: Interchange | None = None,
        format: DocumentFormat | None = None,
    ) -> None:
        if not issues:
            raise ValueError("a rejection needs at least one issue")
        self.issues: tuple[Issue, ...] = tuple(issues)
        self.interchange = interchange
        self.format = format if format is not None else (interchange.format if interchange else None)
        first = self.issues[0]
        super().__init__(f"{first.loc}: {first.detail}")
