"""Emails as customers send them, built for the tests."""

import io
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from openpyxl import Workbook


def email(
    *,
    sender: str = "Librairie du Parc <commandes@librairie-parc.fr>",
    subject: str = "Commande",
    text: str | None = "Bonjour, voici notre commande.",
    html: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    message_id: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "commandes@carnet-diffusion.fr"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="librairie-parc.fr")
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for filename, mime, data in attachments:
        maintype, subtype = mime.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
