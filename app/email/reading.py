"""Reading one RFC 822 message, with no database: its headers, a safe text body, and its attachments
typed by their content (never by the name or type the sender claims).

Nothing from the message is ever rendered as HTML: an HTML-only body becomes plain text here, and
no remote content is fetched. Archives are kept as they are, never unpacked."""

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Final

MAX_MESSAGE_BYTES: Final = 20 * 1_048_576
MAX_ATTACHMENT_BYTES: Final = 10 * 1_048_576
MAX_ATTACHMENTS: Final = 50
MAX_TEXT_CHARS: Final = 200_000


@dataclass(frozen=True)
class Attachment:
    filename: str
    declared_type: str
    detected_type: str  # edifact, x12, xml, csv, xlsx, pdf, zip, image, text, binary
    data: bytes
    too_large: bool = False

    @property
    def is_order_file(self) -> bool:
        return self.detected_type in ("edifact", "x12", "xml", "csv", "xlsx") and not self.too_large


@dataclass(frozen=True)
class ReceivedEmail:
    """A message as Carnet keeps it: `raw` is what was received, byte for byte."""

    raw: bytes
    content_hash: str
    message_id: str | None
    sender_name: str
    sender_address: str
    subject: str
    sent_at: datetime | None
    text: str
    attachments: tuple[Attachment, ...]
    problems: tuple[str, ...]


class _TextOfHtml(HTMLParser):
    """The words of an HTML body, with line breaks where blocks end; scripts and styles dropped."""

    BLOCKS: Final = frozenset({"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "table", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head"):
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head") and self._skipping:
            self._skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t\r\f\v]+", " ", text)).strip()


def detect_type(data: bytes) -> str:
    """What a file is, from its first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if b"xl/workbook" in data else "zip"
    if head.startswith((b"UNA", b"UNB")):
        return "edifact"
    if head.startswith(b"ISA"):
        return "x12"
    if head.startswith(b"<"):
        return "xml"
    if head[:8] in (b"\x89PNG\r\n\x1a\n",) or head.startswith((b"\xff\xd8\xff", b"GIF8")):
        return "image"
    if b"\x00" in head:
        return "binary"
    first_line = head.split(b"\n", 1)[0]
    if first_line.count(b";") >= 1 or first_line.count(b",") >= 1 or first_line.count(b"\t") >= 1:
        return "csv"
    return "text"


def read_email(raw: bytes, *, size: int | None = None) -> ReceivedEmail:
    """Parse a message; what cannot be read is said in `problems`, never raised. `size` is the whole
    message's when only its headers were fetched (a message over the limit stays in the mailbox)."""
    problems: list[str] = []
    content_hash = hashlib.sha256(raw).hexdigest()
    size = len(raw) if size is None else size
    if size > MAX_MESSAGE_BYTES:
        problems.append(
            f"message of {size // 1_048_576} MB, over the {MAX_MESSAGE_BYTES // 1_048_576} MB limit: "
            "only its headers are kept, the whole message stays in the mailbox"
        )
        headers = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0][:65536]
        message = BytesParser(policy=policy.default).parsebytes(headers + b"\r\n\r\n", headersonly=True)
        return _received(headers, content_hash, message, "", (), problems)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    text = _body_text(message, problems)
    attachments = _attachments(message, problems)
    return _received(raw, content_hash, message, text, attachments, problems)


def _received(
    raw: bytes,
    content_hash: str,
    message: EmailMessage,
    text: str,
    attachments: tuple[Attachment, ...],
    problems: list[str],
) -> ReceivedEmail:
    name, address = _sender(message)
    try:
        sent_at = parsedate_to_datetime(str(message["date"])) if message["date"] else None
    except (TypeError, ValueError):
        sent_at = None
        problems.append(f"unreadable Date header {str(message['date'])[:80]!r}")
    message_id = str(message["message-id"]).strip()[:500] if message["message-id"] else None
    return ReceivedEmail(
        raw=raw,
        content_hash=content_hash,
        message_id=message_id,
        sender_name=name[:200],
        sender_address=address[:254],
        subject=_one_line(str(message["subject"] or ""))[:500],
        sent_at=sent_at,
        text=text[:MAX_TEXT_CHARS],
        attachments=attachments,
        problems=tuple(problems),
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _sender(message: EmailMessage) -> tuple[str, str]:
    header = message["from"]
    if header is None:
        return "", ""
    addresses = getattr(header, "addresses", None)
    if addresses:
        first: Address = addresses[0]
        return _one_line(first.display_name), first.addr_spec.lower()
    pairs = getaddresses([str(header)])
    return (_one_line(pairs[0][0]), pairs[0][1].lower()) if pairs else ("", "")


def _body_text(message: EmailMessage, problems: list[str]) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    try:
        content = body.get_content()
    except (LookupError, ValueError, AssertionError) as exc:
        problems.append(f"unreadable body ({exc})")
        payload = body.get_payload(decode=True)
        content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if body.get_content_type() == "text/html" else content.strip()


def _attachments(message: EmailMessage, problems: list[str]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for part in message.iter_attachments():
        if len(found) >= MAX_ATTACHMENTS:
            problems.append(
                f"more than {MAX_ATTACHMENTS} attachments: the rest are in the message as received"
            )
            break
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = _one_line(part.get_filename() or "")[:200] or "attachment"
        too_large = len(data) > MAX_ATTACHMENT_BYTES
        if too_large:
            problems.append(f"{filename}: {len(data) // 1_048_576} MB, over the attachment limit: not read")
        found.append(
            Attachment(
                filename=filename,
                declared_type=part.get_content_type()[:100],
                detected_type=detect_type(data),
                data=b"" if too_large else data,
                too_large=too_large,
            )
        )
    return tuple(found)
