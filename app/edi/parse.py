"""The one entry point of EDI ingestion: bytes in, an Interchange (or a located rejection) out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from app.edi.csv_orders import CsvProfile, parse_csv_orders
from app.edi.detect import content_type_disagrees, detect_format, signature_format
from app.edi.documents import DocumentFormat, Interchange
from app.edi.edifact import parse_edifact
from app.edi.issues import Issue, IssueCode, Location
from app.edi.orderx import parse_orderx
from app.edi.ubl import parse_ubl
from app.edi.x12 import parse_x12

_PARSERS: dict[DocumentFormat, Callable[[bytes], Interchange]] = {
    DocumentFormat.EDIFACT: parse_edifact,
    DocumentFormat.X12: parse_x12,
    DocumentFormat.UBL: parse_ubl,
    DocumentFormat.ORDERX: parse_orderx,
}


@dataclass(frozen=True, slots=True)
class ReadingProfile:
    """What a partner's profile says of its files, applied before the bytes are sniffed: the format
    (its files need not carry a signature: a CSV has none), the character set of its text (CSV, X12:
    formats that do not declare one), and its CSV layout."""

    format: DocumentFormat | None = None
    charset: str | None = None
    csv: CsvProfile | None = None


def parse_interchange(
    data: bytes,
    *,
    content_type: str | None = None,
    csv_profile: CsvProfile | None = None,
    profile: ReadingProfile | None = None,
) -> Interchange:
    """Parse a partner transmission in any supported format.

    The partner's profile is applied first: its format is the format of data that carries no
    signature of its own (``UNA``/``UNB``, ``ISA``, an XML root), and its CSV layout (``csv_profile``
    or ``profile.csv``) makes such data its CSV; without a profile the format is recognised from the
    bytes (see :mod:`app.edi.detect`). A signature that contradicts the profile wins, with a warning.
    Raises :class:`app.edi.issues.InterchangeRejected` with located issues when the interchange must
    be refused as a whole; tolerated defects are in ``Interchange.warnings``.
    """
    profile = profile or ReadingProfile()
    csv_profile = csv_profile or profile.csv
    signature = signature_format(data)
    if signature is None and profile.format is not None:
        detected = profile.format
    else:
        detected = signature or detect_format(data, content_type, csv_expected=csv_profile is not None)
    if detected is DocumentFormat.CSV:
        interchange = parse_csv_orders(data, csv_profile, charset=profile.charset)
    elif detected is DocumentFormat.X12:
        interchange = parse_x12(data, charset=profile.charset)
    else:
        interchange = _PARSERS[detected](data)
    warnings: list[Issue] = []
    if profile.format is not None and profile.format is not detected:
        detail = (
            f"the partner's profile says {profile.format.value} but the data is {detected.value}; "
            f"read as {detected.value}"
        )
        warnings.append(Issue(IssueCode.PROFILE_MISMATCH, detail, Location(offset=0)))
    if content_type_disagrees(detected, content_type):
        detail = f"Content-Type {content_type!r} but the data is {detected.value}; read as {detected.value}"
        warnings.append(Issue(IssueCode.CONTENT_TYPE_MISMATCH, detail, Location(offset=0)))
    if warnings:
        interchange = replace(interchange, warnings=(*warnings, *interchange.warnings))
    return interchange
