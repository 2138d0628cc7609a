"""Bytes a person downloads or opens in the browser (PDFs, reports, files as received): one place
that names the file.

A name can come from outside (an e-mail attachment, an ERP's invoice number, a supplier code):
the plain `filename` keeps only ASCII letters, digits and `._-`, so that no quote, control character
or character outside Latin-1 can break the header, and the name as it was travels beside it
percent-encoded (`filename*`, RFC 6266), which browsers prefer.
"""

import re
from typing import Final, Literal
from urllib.parse import quote

from starlette.responses import Response

Disposition = Literal["attachment", "inline"]

_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f/\\]")


def content_disposition(filename: str, disposition: Disposition = "attachment") -> str:
    """The `Content-Disposition` header value naming `filename`."""
    plain = _UNSAFE.sub("_", filename).strip(".") or "download"
    value = f'{disposition}; filename="{plain}"'
    original = _CONTROL.sub("_", filename)
    if original != plain:
        value += f"; filename*=UTF-8''{quote(original, safe='')}"
    return value


def file_response(
    body: bytes | str, *, filename: str, media_type: str, disposition: Disposition = "attachment"
) -> Response:
    """A file to save (`attachment`) or to open in the browser (`inline`, e.g. a PDF preview)."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename, disposition)},
    )
