"""Order files attached to an email: what each asks for, line by line, before anything is priced.

EDIFACT, X12, Order-X/UBL and EDI-style CSV go through the EDI parsers (the same reading as for
partners). A customer's own spreadsheet (CSV or XLSX) needs only a column of items (code, EAN/ISBN)
and a column of quantities, found by their headers."""

import csv
import io
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

from app.edi.documents import Interchange, ItemIdKind, PurchaseOrder
from app.edi.ingestion import read_interchange
from app.email.reading import Attachment

ITEM_HEADERS: Final = frozenset(
    {
        "article",
        "code",
        "code article",
        "ref",
        "reference",
        "référence",
        "ean",
        "isbn",
        "gtin",
        "ean13",
        "code ean",
    }
)
QUANTITY_HEADERS: Final = frozenset(
    {"quantite", "quantité", "qte", "qté", "qty", "quantity", "nombre", "nb", "exemplaires", "ex"}
)
REFERENCE_HEADERS: Final = frozenset(
    {"commande", "n° commande", "numero commande", "votre commande", "order"}
)
MAX_ROWS: Final = 2_000


@dataclass(frozen=True)
class AskedLine:
    item: str
    by_gtin: bool
    quantity: Decimal | None
    raw_quantity: str


@dataclass(frozen=True)
class AskedOrder:
    """One order an attachment asks for: its reference when it gives one, its lines as written."""

    source: str
    reference: str | None
    lines: tuple[AskedLine, ...]


@dataclass(frozen=True)
class AttachmentReading:
    orders: tuple[AskedOrder, ...]
    problems: tuple[str, ...]


def read_order_file(attachment: Attachment) -> AttachmentReading:
    if attachment.detected_type == "xlsx":
        return _from_rows(attachment.filename, _xlsx_rows(attachment.data))
    if attachment.detected_type == "csv":
        customer_sheet = _from_rows(attachment.filename, _csv_rows(attachment.data))
        if customer_sheet.orders:
            return customer_sheet
    reading = read_interchange(attachment.data, content_type=None, csv_profile=None)
    if not isinstance(reading, Interchange):
        return AttachmentReading((), (f"{attachment.filename}: {reading}",))
    return AttachmentReading(tuple(_asked(attachment.filename, order) for order in reading.orders), ())


def _asked(source: str, order: PurchaseOrder) -> AskedOrder:
    lines = []
    for line in order.lines:
        identifier = next((i for i in line.identifiers if i.kind == ItemIdKind.GTIN), None) or (
            line.identifiers[0] if line.identifiers else None
        )
        lines.append(
            AskedLine(
                item=identifier.value if identifier else "",
                by_gtin=identifier is not None and identifier.kind == ItemIdKind.GTIN,
                quantity=line.quantity,
                raw_quantity=str(line.quantity),
            )
        )
    return AskedOrder(source, order.po_number or None, tuple(lines))


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)][: MAX_ROWS + 1]


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        return [
            ["" if cell is None else str(cell) for cell in row]
            for row in sheet.iter_rows(max_row=MAX_ROWS + 1, values_only=True)
        ]
    finally:
        workbook.close()


def _normal(header: str) -> str:
    return " ".join(header.strip().lower().replace("_", " ").replace(".", " ").split())


def _from_rows(source: str, rows: list[list[str]]) -> AttachmentReading:
    """A sheet with an item column and a quantity column (found by their headers in the first rows)."""
    for header_index, header in enumerate(rows[:10]):
        names = [_normal(cell) for cell in header]
        item = next((i for i, name in enumerate(names) if name in ITEM_HEADERS), None)
        quantity = next((i for i, name in enumerate(names) if name in QUANTITY_HEADERS), None)
        if item is None or quantity is None:
            continue
        reference_column = next((i for i, name in enumerate(names) if name in REFERENCE_HEADERS), None)
        lines, problems, reference = [], [], None
        for number, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
            if not any(cell.strip() for cell in row):
                continue
            code = row[item].strip() if item < len(row) else ""
            raw = row[quantity].strip() if quantity < len(row) else ""
            if reference_column is not None and reference is None and reference_column < len(row):
                reference = row[reference_column].strip() or None
            try:
                value: Decimal | None = Decimal(raw.replace(",", ".").replace(" ", ""))
            except InvalidOperation:
                value = None
                problems.append(f"{source}, row {number}: quantity {raw!r} is not a number")
            code = code.removesuffix(".0")  # a spreadsheet's number cell
            lines.append(AskedLine(code, code.isdigit() and len(code) in (8, 12, 13, 14), value, raw))
        if len(rows) > MAX_ROWS:
            problems.append(f"{source}: more than {MAX_ROWS} rows, the rest is not read")
        return AttachmentReading(
            (AskedOrder(source, reference, tuple(lines)),) if lines else (), tuple(problems)
        )
    return AttachmentReading((), ())
