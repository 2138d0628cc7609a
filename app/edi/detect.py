"""Recognising the format of a received body from its first bytes, and from its Content-Type.

The bytes decide whenever they carry a signature (``UNA``/``UNB``, ``ISA``, an XML root element):
partners and proxies mislabel bodies far more often than an EDIFACT file starts with ``ISA``.
Without one, the partner's profile decides (:mod:`app.edi.parse`), then the Content-Type, then the
look of the first line (CSV has no signature), read as UTF-8 or, when it is not, Windows-1252: a
French spreadsheet's header with a `€` is still text. A disagreement is a warning.
"""

from __future__ import annotations

import re

from app.edi.charsets import decode_undeclared
from app.edi.documents import DocumentFormat
from app.edi.issues import InterchangeRejected, Issue, IssueCode, Location
from app.edi.orderx import ROOT_NAME as ORDERX_ROOT
from app.edi.orderx import RSM_NAMESPACE
from app.edi.ubl import ORDER_NAMESPACE as UBL_ORDER_NAMESPACE

_SNIFF_BYTES = 65536
_CONTENT_TYPES = {
    "application/edifact": DocumentFormat.EDIFACT,
    "application/edi-edifact": DocumentFormat.EDIFACT,
    "application/edi-x12": DocumentFormat.X12,
    "application/x12": DocumentFormat.X12,
    "text/csv": DocumentFormat.CSV,
    "application/csv": DocumentFormat.CSV,
    "text/comma-separated-values": DocumentFormat.CSV,
}
_XML_CONTENT_TYPES = ("application/xml", "text/xml")
_PROLOG = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>)", re.DOTALL)
_ROOT = re.compile(r"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)([^>]*)>?")


def format_from_content_type(content_type: str | None) -> DocumentFormat | None:
    """The format a Content-Type names, ``None`` for XML (UBL or Order-X) or unknown types."""
    if not content_type:
        return None
    media_type = content_type.split(";", 1)[0].strip().lower()
    return _CONTENT_TYPES.get(media_type)


def signature_format(data: bytes) -> DocumentFormat | None:
    """The format the first bytes show (``UNA``/``UNB``, ``ISA``, an XML root), ``None`` without one;
    raises :class:`InterchangeRejected` for XML that is neither a UBL Order nor an Order-X."""
    head = _text_head(data)
    stripped = head.lstrip(" \t\r\n\ufeff")
    if stripped.startswith(("UNA", "UNB")):
        return DocumentFormat.EDIFACT
    if stripped.startswith("ISA"):
        return DocumentFormat.X12
    if stripped.startswith("<"):
        return _xml_format(head)
    return None


def detect_format(
    data: bytes, content_type: str | None = None, *, csv_expected: bool = False
) -> DocumentFormat:
    """The format of ``data``; raises :class:`InterchangeRejected` when none fits. ``csv_expected``:
    the partner has a CSV layout, so data without a signature is its CSV."""
    found = signature_format(data)
    if found is not None:
        return found
    declared = format_from_content_type(content_type)
    first_line = _first_line(data)
    if csv_expected or declared is DocumentFormat.CSV or (declared is None and _looks_like_csv(first_line)):
        return DocumentFormat.CSV
    detail = "not EDIFACT (UNA/UNB), X12 (ISA), XML or CSV data" if first_line else "the body is empty"
    raise InterchangeRejected([Issue(IssueCode.UNKNOWN_FORMAT, detail, Location(offset=0))])


def _first_line(data: bytes) -> str:
    """The first line with text, as UTF-8 or, when it is not, Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _text_head(data).lstrip(" \t\r\n\ufeff").split("\n", 1)[0].rstrip("\r")
    head = data[:_SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return decode_undeclared(head.split(b"\n", 1)[0]).text.rstrip("\r")


def _text_head(data: bytes) -> str:
    head = data[:_SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def _xml_format(head: str) -> DocumentFormat:
    position = 0
    while match := _PROLOG.match(head, position):
        if match.end() == position:
            break
        position = match.end()
    root = _ROOT.match(head, head.index("<", position) if "<" in head[position:] else position)
    if root is not None:
        prefix, name, attributes = root.groups()
        declared = re.search(
            rf'xmlns{":" + re.escape(prefix) if prefix else ""}\s*=\s*["\']([^"\']*)["\']', attributes
        )
        uri = declared.group(1) if declared else ""
        if name == "Order" and uri == UBL_ORDER_NAMESPACE:
            return DocumentFormat.UBL
        if name == ORDERX_ROOT and uri == RSM_NAMESPACE:
            return DocumentFormat.ORDERX
    line = head.count("\n", 0, root.start() if root else 0) + 1
    name = root.group(2) if root else "?"
    detail = f"XML root element {name!r} is neither a UBL 2 Order nor an Order-X message"
    raise InterchangeRejected([Issue(IssueCode.UNKNOWN_DOCUMENT, detail, Location(line=line))])


def _looks_like_csv(first_line: str) -> bool:
    return bool(first_line) and first_line.isprintable() and ("," in first_line or ";" in first_line)


def content_type_disagrees(detected: DocumentFormat, content_type: str | None) -> bool:
    """Whether the Content-Type names another format than the bytes show (a warning, not an error)."""
    if not content_type:
        return False
    if content_type.split(";", 1)[0].strip().lower() in _XML_CONTENT_TYPES:
        return detected not in (DocumentFormat.UBL, DocumentFormat.ORDERX)
    declared = format_from_content_type(content_type)
    return declared is not None and declared is not detected
