"""Safe loading of partner XML (UBL, Order-X) and small helpers shared by their readers.

Partner XML is untrusted. Two layers, because a parser option forgotten once is an outage:

1. defusedxml's expat parser reads the bytes first with DTDs forbidden. An order never needs a
   DOCTYPE, and refusing it outright stops entity expansion (billion laughs), external entities
   (XXE, file disclosure) and any network access before anything is resolved. The refusal is
   located at the DOCTYPE's line and column.
2. lxml then builds the tree with entity resolution, DTD loading and network access disabled and
   the huge-tree guard on, so the readers get line numbers and XPaths for their own messages.
"""

from __future__ import annotations

from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

from app.edi.issues import InterchangeRejected, Issue, IssueCode, Location

_LXML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def load_xml(data: bytes) -> etree._Element:
    """The root element of a well-formed, DTD-free document; otherwise a located rejection."""
    gate = DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        gate.feed(data)
        gate.close()
    except DefusedXmlException as exc:
        expat = gate.parser
        where = Location(line=expat.CurrentLineNumber, column=expat.CurrentColumnNumber + 1)
        detail = f"{type(exc).__name__}: DOCTYPE, entity declarations and external references are refused"
        raise InterchangeRejected([Issue(IssueCode.XML_FORBIDDEN, detail, where)]) from exc
    except ParseError as exc:
        line, column = exc.position
        detail = f"not well-formed XML: {exc}"
        raise InterchangeRejected(
            [Issue(IssueCode.XML_SYNTAX, detail, Location(line=line, column=column + 1))]
        ) from exc
    except LookupError as exc:  # an encoding declaration Python does not know
        where = Location(line=gate.parser.CurrentLineNumber, column=gate.parser.CurrentColumnNumber + 1)
        raise InterchangeRejected(
            [Issue(IssueCode.XML_SYNTAX, f"unsupported encoding: {exc}", where)]
        ) from exc
    try:
        return etree.fromstring(data, parser=_LXML_PARSER)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        where = Location(line=line, column=column)
        raise InterchangeRejected(
            [Issue(IssueCode.XML_SYNTAX, f"not well-formed XML: {exc.msg}", where)]
        ) from exc


def local_name(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def namespace(element: etree._Element) -> str | None:
    uri = etree.QName(element).namespace
    return str(uri) if uri is not None else None


def text_of(element: etree._Element | None) -> str | None:
    """Stripped text of an element, ``None`` when absent or empty."""
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def where(element: etree._Element) -> Location:
    """Line and XPath of an element, so a partner can find it in the file they sent."""
    return Location(line=element.sourceline, xpath=element.getroottree().getpath(element))


def declared_encoding(root: etree._Element) -> str | None:
    encoding = root.getroottree().docinfo.encoding
    return str(encoding) if encoding else None
