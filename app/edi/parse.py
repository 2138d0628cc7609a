"""The one entry point of EDI ingestion: bytes in, an Interchange (or a located rejection) out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from app.edi.csv_orders import CsvProfile, parse_csv_orders
from app.edi.detect import content_type_disagrees, detect_format
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


def parse_interchange(
    data: bytes, *, content_type: str | None = None, csv_profile: CsvProfile | None = None
) -> Interchange:
    """Parse a partner transmission in any supported format.

    The format is recognised from the bytes (see :mod:`app.edi.detect`); ``csv_profile`` is the
    partner's CSV layout when known, otherwise a built-in layout is recognised. Raises
    :class:`app.edi.issues.InterchangeRejected` with located issues when the interchange must be
    refused as a whole; tolerated defects are in ``Interchange.warnings``.
    """
    detected = detect_format(data, content_type)
    if detected is DocumentFormat.CSV:
        interchange = parse_csv_orders(data, csv_profile)
    else:
        interchange = _PARSERS[detected](data)
    if content_type_disagrees(detected, content_type):
        detail = f"Content-Type {content_type!r} but the data is {detected.value}; read as {detected.value}"
        warning = Issue(IssueCode.CONTENT_TYPE_MISMATCH, detail, Location(offset=0))
        interchange = replace(interchange, warnings=(warning, *interchange.warnings))
    return interchange
