"""Reading partner text whose character set is undeclared, or declared wrong.

Spreadsheets and old EDI converters write Windows-1252 (French Excel's "CSV (séparateur: point-
virgule)" among them, with its `€` and accented headers); newer systems write UTF-8, with or without a
byte order mark, sometimes UTF-16 with one. When nothing is declared, UTF-8 is tried first (it is
self-checking: Windows-1252 text with accents is almost never valid UTF-8), then Windows-1252, whose
five undefined bytes are read as Latin-1. What was chosen is always said.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

UTF_8 = "utf-8"
WINDOWS_1252 = "windows-1252"
_NAMES = {"cp1252": WINDOWS_1252, "iso8859-1": "iso-8859-1", "ascii": "us-ascii", "utf-8": UTF_8}


def charset_name(codec: str) -> str:
    """The usual name of a codec (`cp1252` is `windows-1252`, `latin-1` is `iso-8859-1`)."""
    name = codecs.lookup(codec).name
    return _NAMES.get(name, name)


def is_utf8(codec: str) -> bool:
    return codecs.lookup(codec).name == UTF_8


def is_windows_1252(codec: str) -> bool:
    return codecs.lookup(codec).name == "cp1252"


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    charset: str  # what the bytes were read as
    guessed: bool  # not UTF-8 although nothing else was declared: read as Windows-1252


def decode_undeclared(data: bytes) -> Decoded:
    """UTF-16 when it starts with its byte order mark; UTF-8 (a BOM dropped) when valid; otherwise
    Windows-1252 (Latin-1 for the bytes it leaves undefined)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Decoded(data.decode("utf-16", errors="replace"), "utf-16", False)
    try:
        return Decoded(data.decode("utf-8-sig"), UTF_8, False)
    except UnicodeDecodeError:
        return Decoded(decode_windows_1252(data), WINDOWS_1252, True)


def _windows_1252_table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined: as Latin-1
            table[code] = chr(code)
    return table


_WINDOWS_1252 = _windows_1252_table()


def decode_windows_1252(data: bytes) -> str:
    """Every byte maps: Windows-1252, and Latin-1 for the bytes it leaves undefined."""
    return data.decode("latin-1").translate(_WINDOWS_1252)
