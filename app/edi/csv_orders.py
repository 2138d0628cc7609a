"""CSV purchase orders: one row per order line, rows grouped into orders by (buyer, order number).

A :class:`CsvProfile` says how a partner's export is laid out. Two are built in:

* :data:`FLAT_ORDERS_PROFILE`, the headerless 30-column "flat" EANCOM export (bots
  ``csv_orders`` grammar: every field quoted, comma separated, ISO-8859-1);
* :data:`FRENCH_HEADER_PROFILE`, a ``;``-separated sheet with a header row such as
  ``commande;client;livrer_a;article;quantite;prix_unitaire;date_livraison`` and decimal commas,
  recognised case- and accent-insensitively.

Numbers are refused when the other decimal mark appears in them: with a decimal-comma profile
``1.000`` could mean one or one thousand, and guessing would capture a wrong quantity.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from app.edi.charsets import WINDOWS_1252, charset_name, decode_undeclared, is_utf8, is_windows_1252
from app.edi.documents import DocumentFormat, Interchange, OrderLine, Party, PurchaseOrder
from app.edi.issues import InterchangeRejected, Issue, IssueCode, IssueLog, Location
from app.edi.values import item_identifier, parse_count, parse_decimal


class CsvField(StrEnum):
    BUYER = "buyer"
    PO_NUMBER = "po_number"
    LINE_NUMBER = "line_number"
    ITEM = "item"
    QUANTITY = "quantity"
    UNIT = "unit"
    UNIT_PRICE = "unit_price"
    DESCRIPTION = "description"
    DELIVERY_PARTY = "delivery_party"
    DELIVERY_DATE = "delivery_date"
    DOCUMENT_DATE = "document_date"
    DOCUMENT_TYPE = "document_type"
    CURRENCY = "currency"
    SUPPLIER = "supplier"
    INVOICEE = "invoicee"
    SENDER = "sender"
    RECEIVER = "receiver"
    TEST = "test"
    LINE_COUNT = "line_count"  # the number of lines the partner declares for the order


_REQUIRED = (CsvField.PO_NUMBER, CsvField.ITEM, CsvField.QUANTITY)


@dataclass(frozen=True)
class CsvProfile:
    """How to read one CSV layout.

    Headerless layouts give 0-based ``columns``; header layouts give accepted header names in
    ``headers`` (compared after :func:`normalize_header`), and the columns are found in the file.
    ``encoding`` UTF-8 (the default) means "UTF-8 unless the bytes are not": Windows-1252 is then
    read, with a warning that says so (or ``fallback_encoding``); another ``encoding`` is strict, its
    ``fallback_encoding`` tried with a warning.
    """

    name: str
    delimiter: str = ","
    quotechar: str = '"'
    decimal_mark: str = "."
    encoding: str = "utf-8"
    fallback_encoding: str | None = None
    has_header: bool = False
    columns: Mapping[CsvField, int] = field(default_factory=dict)
    headers: Mapping[CsvField, tuple[str, ...]] = field(default_factory=dict)
    date_formats: tuple[str, ...] = ("%Y-%m-%d", "%Y%m%d")
    test_values: tuple[str, ...] = ("1",)

    def __post_init__(self) -> None:
        mapped = self.headers if self.has_header else self.columns
        missing = [f.value for f in _REQUIRED if f not in mapped]
        if missing:
            raise ValueError(f"CSV profile {self.name!r} does not map {', '.join(missing)}")
        for encoding in (self.encoding, self.fallback_encoding or self.encoding):
            codecs.lookup(encoding)  # LookupError now rather than on the first partner file
        if len(self.delimiter) != 1 or self.decimal_mark not in ".,":
            raise ValueError(
                f"CSV profile {self.name!r}: one-character delimiter and '.' or ',' decimal mark"
            )


FLAT_ORDERS_PROFILE = CsvProfile(
    name="flat-orders",
    encoding="iso-8859-1",
    columns={
        CsvField.SENDER: 1,
        CsvField.RECEIVER: 2,
        CsvField.TEST: 3,
        CsvField.PO_NUMBER: 4,
        CsvField.DOCUMENT_DATE: 5,
        CsvField.DOCUMENT_TYPE: 7,
        CsvField.BUYER: 8,
        CsvField.SUPPLIER: 9,
        CsvField.DELIVERY_PARTY: 10,
        CsvField.INVOICEE: 13,
        CsvField.DELIVERY_DATE: 14,
        CsvField.LINE_NUMBER: 25,
        CsvField.ITEM: 26,
        CsvField.DESCRIPTION: 28,
        CsvField.QUANTITY: 29,
    },
    date_formats=("%Y%m%d", "%Y%m%d%H%M"),
)
FLAT_ORDERS_COLUMN_COUNT = 30

FRENCH_HEADER_PROFILE = CsvProfile(
    name="french-header",
    delimiter=";",
    decimal_mark=",",
    encoding="utf-8",
    fallback_encoding="cp1252",
    has_header=True,
    headers={
        CsvField.PO_NUMBER: ("commande", "numero_commande", "n_commande", "no_commande"),
        CsvField.BUYER: ("client", "code_client"),
        CsvField.DELIVERY_PARTY: ("livrer_a", "lieu_livraison", "adresse_livraison"),
        CsvField.ITEM: ("article", "code_article", "ean", "gtin", "reference"),
        CsvField.QUANTITY: ("quantite", "qte"),
        CsvField.UNIT_PRICE: ("prix_unitaire", "prix"),
        CsvField.DELIVERY_DATE: ("date_livraison",),
        CsvField.DOCUMENT_DATE: ("date_commande", "date"),
        CsvField.DESCRIPTION: ("designation", "libelle"),
        CsvField.LINE_NUMBER: ("ligne", "num_ligne", "no_ligne"),
        CsvField.UNIT: ("unite",),
        CsvField.CURRENCY: ("devise",),
        CsvField.LINE_COUNT: ("nb_lignes", "nombre_de_lignes", "nombre_lignes"),
    },
    date_formats=("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y"),
)


def normalize_header(name: str) -> str:
    """``"Livrer à"`` and ``"LIVRER_A"`` both become ``"livrer_a"``."""
    stripped = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "_", stripped.casefold()).strip("_")


def parse_csv_orders(
    data: bytes, profile: CsvProfile | None = None, *, charset: str | None = None
) -> Interchange:
    """Read CSV order lines; with no profile, recognise one of the built-in layouts. ``charset``: the
    partner's declared character set, which then wins over the profile's encoding."""
    log = IssueLog()
    if profile is None:
        profile = _recognise(data)
    text, encoding = _decode(data, profile, charset, log)
    rows = _rows(text, profile)
    columns, names = _columns(rows, profile)
    groups: dict[tuple[str, str], list[tuple[int, list[str]]]] = {}
    for line_number, row in rows[1:] if profile.has_header else rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(columns.values()):
            where = Location(line=line_number, column=len(row) + 1)
            detail = f"row has {len(row)} columns, at least {max(columns.values()) + 1} needed"
            log.error(IssueCode.CSV_LAYOUT, detail, where)
            continue
        key = (_cell(row, columns, CsvField.BUYER), _cell(row, columns, CsvField.PO_NUMBER))
        groups.setdefault(key, []).append((line_number, row))
    reader = _RowReader(profile, columns, names, log)
    orders = tuple(reader.order(group) for group in groups.values())
    if not orders and not log.errors:
        log.error(IssueCode.CSV_LAYOUT, "no order line in the file", Location(line=1))
    first = next(iter(groups.values()), [(0, [])])[0][1]
    interchange = Interchange(
        format=DocumentFormat.CSV,
        sender_id=_cell(first, columns, CsvField.SENDER) or (orders[0].buyer_id if orders else None),
        receiver_id=_cell(first, columns, CsvField.RECEIVER) or (orders[0].supplier_id if orders else None),
        control_ref=None,
        test=_cell(first, columns, CsvField.TEST) in profile.test_values if first else False,
        charset=charset or profile.encoding,
        prepared_at=None,
        orders=orders,
        warnings=tuple(log.warnings),
        encoding=encoding,
    )
    if log.errors:
        raise InterchangeRejected(log.errors, interchange=interchange)
    return interchange


def _recognise(data: bytes) -> CsvProfile:
    first_line = decode_undeclared(data.split(b"\n", 1)[0]).text
    for candidate in (FRENCH_HEADER_PROFILE,):
        names = {normalize_header(n) for n in first_line.split(candidate.delimiter)}
        if all(names & set(candidate.headers[f]) for f in _REQUIRED):
            return candidate
    try:
        first_row = next(csv.reader([first_line.rstrip("\r")]), [])
    except csv.Error:
        first_row = []
    if len(first_row) == FLAT_ORDERS_COLUMN_COUNT:
        return FLAT_ORDERS_PROFILE
    detail = "CSV layout not recognised: no known header row and not the 30-column flat layout"
    raise InterchangeRejected(
        [Issue(IssueCode.CSV_LAYOUT, detail, Location(line=1))], format=DocumentFormat.CSV
    )


def _decode(data: bytes, profile: CsvProfile, charset: str | None, log: IssueLog) -> tuple[str, str]:
    """The text, and the character set it was read as."""
    declared = charset or (None if is_utf8(profile.encoding) else profile.encoding)
    if declared is None:
        decoded = decode_undeclared(data)
        if not decoded.guessed:
            return decoded.text, decoded.charset
        fallback = profile.fallback_encoding or WINDOWS_1252
        detail = f"the data is not UTF-8: read as {charset_name(fallback)}"
        log.warn(IssueCode.CHARSET_MISMATCH, detail, _bad_byte(data, "utf-8"))
        if is_windows_1252(fallback):
            return decoded.text, decoded.charset
        return data.decode(fallback, errors="replace"), charset_name(fallback)
    try:
        return data.decode("utf-8-sig" if is_utf8(declared) else declared), charset_name(declared)
    except UnicodeDecodeError as exc:
        where = _bad_byte(data, declared)
        if profile.fallback_encoding is None or charset is not None:
            detail = f"byte 0x{data[exc.start]:02X} is not valid {declared}"
            raise InterchangeRejected(
                [Issue(IssueCode.INVALID_CHARACTER, detail, where)], format=DocumentFormat.CSV
            ) from exc
        fallback = profile.fallback_encoding
        log.warn(IssueCode.CHARSET_MISMATCH, f"the data is not {declared}: read as {fallback}", where)
        return data.decode(fallback, errors="replace"), charset_name(fallback)


def _bad_byte(data: bytes, encoding: str) -> Location:
    """Where the data stops being valid in ``encoding``."""
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return Location(line=data.count(b"\n", 0, exc.start) + 1, offset=exc.start)
    return Location(line=1, offset=0)


def _rows(text: str, profile: CsvProfile) -> list[tuple[int, list[str]]]:
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=profile.delimiter, quotechar=profile.quotechar, strict=True
    )
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        issue = Issue(IssueCode.CSV_LAYOUT, f"malformed CSV: {exc}", Location(line=reader.line_num or start))
        raise InterchangeRejected([issue], format=DocumentFormat.CSV) from exc
    return rows


def _columns(
    rows: list[tuple[int, list[str]]], profile: CsvProfile
) -> tuple[dict[CsvField, int], dict[int, str]]:
    """Column index per field, and the name to show in locations per column index."""
    if not profile.has_header:
        return dict(profile.columns), {index: name.value for name, index in profile.columns.items()}
    header = rows[0][1] if rows else []
    normalized = [normalize_header(name) for name in header]
    columns = {
        csv_field: normalized.index(alias)
        for csv_field, aliases in profile.headers.items()
        for alias in aliases
        if alias in normalized
    }
    missing = [f.value for f in _REQUIRED if f not in columns]
    if missing:
        detail = f"header row lacks the required column(s) {', '.join(missing)}"
        raise InterchangeRejected(
            [Issue(IssueCode.CSV_LAYOUT, detail, Location(line=1))], format=DocumentFormat.CSV
        )
    return columns, dict(enumerate(header))


def _cell(row: list[str], columns: Mapping[CsvField, int], csv_field: CsvField) -> str:
    index = columns.get(csv_field)
    return row[index].strip() if index is not None and index < len(row) else ""


class _RowReader:
    def __init__(
        self, profile: CsvProfile, columns: dict[CsvField, int], names: dict[int, str], log: IssueLog
    ):
        self.profile = profile
        self.columns = columns
        self.names = names
        self.log = log

    def where(self, line: int, csv_field: CsvField) -> Location:
        column = self.columns[csv_field]
        return Location(line=line, column=column + 1, field=self.names.get(column, csv_field.value))

    def order(self, rows: list[tuple[int, list[str]]]) -> PurchaseOrder:
        first_line, first = rows[0]
        po_number = _cell(first, self.columns, CsvField.PO_NUMBER)
        if not po_number:
            self.log.error(
                IssueCode.MISSING_VALUE, "order number is empty", self.where(first_line, CsvField.PO_NUMBER)
            )
        parties = [
            Party(qualifier, value)
            for csv_field, qualifier in (
                (CsvField.BUYER, "BY"),
                (CsvField.DELIVERY_PARTY, "DP"),
                (CsvField.SUPPLIER, "SU"),
                (CsvField.INVOICEE, "IV"),
            )
            if (value := _cell(first, self.columns, csv_field))
        ]
        lines: list[OrderLine] = []
        for line_number, row in rows:
            line = self.line(line_number, row, position=len(lines) + 1)
            if line is not None:
                lines.append(line)
        return PurchaseOrder(
            po_number=po_number,
            message=None,
            document_type=_cell(first, self.columns, CsvField.DOCUMENT_TYPE) or None,
            document_date=self.date(first_line, first, CsvField.DOCUMENT_DATE),
            requested_delivery_date=lines[0].requested_delivery_date if lines else None,
            currency=_cell(first, self.columns, CsvField.CURRENCY) or None,
            parties=tuple(parties),
            lines=tuple(lines),
            declared_line_count=self.count(first_line, first, CsvField.LINE_COUNT),
        )

    def count(self, line_number: int, row: list[str], csv_field: CsvField) -> int | None:
        text = _cell(row, self.columns, csv_field)
        if not text:
            return None
        count = parse_count(text)
        if count is None:
            self.log.error(
                IssueCode.INVALID_VALUE, f"{text!r} is not a count", self.where(line_number, csv_field)
            )
        return count

    def line(self, line_number: int, row: list[str], *, position: int) -> OrderLine | None:
        item = _cell(row, self.columns, CsvField.ITEM)
        if not item:
            self.log.error(IssueCode.MISSING_VALUE, "item is empty", self.where(line_number, CsvField.ITEM))
        quantity = self.number(line_number, row, CsvField.QUANTITY)
        if quantity is None:
            return None
        return OrderLine(
            position=position,
            line_number=_cell(row, self.columns, CsvField.LINE_NUMBER) or None,
            identifiers=(item_identifier(item, None),) if item else (),
            quantity=quantity,
            unit=_cell(row, self.columns, CsvField.UNIT) or None,
            unit_price=self.number(line_number, row, CsvField.UNIT_PRICE),
            description=_cell(row, self.columns, CsvField.DESCRIPTION) or None,
            requested_delivery_date=self.date(line_number, row, CsvField.DELIVERY_DATE),
        )

    def number(self, line_number: int, row: list[str], csv_field: CsvField) -> Decimal | None:
        # Spreadsheets write prices as "6,50 €", with a no-break space before the sign.
        text = re.sub(r"[\s\u00a0\u202f€]", "", _cell(row, self.columns, csv_field))
        if not text:
            if csv_field is CsvField.QUANTITY:
                self.log.error(
                    IssueCode.MISSING_VALUE, "quantity is empty", self.where(line_number, csv_field)
                )
            return None
        other_mark = "." if self.profile.decimal_mark == "," else ","
        value = None if other_mark in text else parse_decimal(text)
        if value is None:
            detail = f"{text!r} is not a number with decimal mark {self.profile.decimal_mark!r}"
            self.log.error(IssueCode.INVALID_VALUE, detail, self.where(line_number, csv_field))
        return value

    def date(self, line_number: int, row: list[str], csv_field: CsvField) -> date | None:
        text = _cell(row, self.columns, csv_field)
        if not text:
            return None
        for fmt in self.profile.date_formats:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
        self.log.warn(
            IssueCode.INVALID_DATE,
            f"{text!r} is not a known date format; ignored",
            self.where(line_number, csv_field),
        )
        return None
