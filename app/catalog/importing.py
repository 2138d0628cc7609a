"""Master-data snapshot import: customers, products and stock levels as the ERP exports them.

`carnet import customers|products|stock FILE [--as-of WHEN]`; the extension chooses the format:
`.csv` (also `.txt`, `.tsv`) or `.json`. Records are upserted by code: the export is the truth.

CSV, as a French ERP or Excel writes it:
- separator `;`, `,` or tab, recognised on the header line; fields quoted with `"` when needed;
- UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"); a file that is not valid UTF-8
  is read as Windows-1252 (Latin-1) and the report says so; anything else is refused;
- the first line names the columns, matched whatever the case, accents, spaces and punctuation
  (`Prix unitaire` = `prix_unitaire`, `Bloqué` = `bloque`), in French or in English;
- numbers with a decimal comma or point, spaces as thousands separators, `%` and `€` ignored;
- yes/no values: `oui`/`non`, `o`/`n`, `1`/`0`, `true`/`false`, `vrai`/`faux`, `yes`/`no`, `x`;
- dates: ISO 8601 or `dd/mm/yyyy [hh:mm]`, local time of the machine unless an offset is given;
- an empty cell means "no value": the field's default (none, 0, no).
JSON: a list of objects or `{"items": [...]}`, keyed by the same column names, or in the API's shapes
(customers: `billing_address: {...}`, `shipping_addresses: [{code, street, ...}]`).

Columns (* required; the first name is the canonical one):
products  code*, name*|nom|libelle|designation|titre, unit_price*|prix|prix_unitaire|price,
          vat_rate*|tva|taux_tva, gtin|ean|ean13|isbn|gencod|code_barre, price_includes_vat|ttc,
          price_locked|prix_fixe|prix_impose, allows_decimal_quantity|quantite_decimale,
          stock_on_hand|stock, stock_as_of|date_stock
customers code*|code_client, name*|nom|raison_sociale, billing_street*|adresse|rue,
          billing_postal_code*|code_postal|cp, billing_city*|ville, billing_street2|adresse_2|complement,
          billing_country|pays (default FR), billing_name|nom_facturation,
          vat_number|tva|tva_intra|numero_tva, gln, email|courriel, phone|telephone|tel,
          discount_percent|remise, blocked|bloque, show_prices_on_delivery_note|prix_sur_bl;
          one shipping address per row: shipping_code|code_livraison, shipping_name|nom_livraison,
          shipping_street|adresse_livraison, shipping_street2|complement_livraison,
          shipping_postal_code|cp_livraison, shipping_city|ville_livraison, shipping_country|pays_livraison,
          shipping_gln|gln_livraison
stock     code*, stock_on_hand*|stock|quantite|qte

Rules:
- Columns absent from the file are left as they are on existing records (new ones get the default);
  a product's quantity reserved by open orders is never touched. Giving the stock sets `stock_as_of`
  (the row's `date_stock`, else the snapshot's as-of).
- Customers: several rows with the same code give that customer several shipping addresses (customer
  columns repeated identically or left empty). With shipping columns in the file, a customer's shipping
  addresses become those of the file; without them, they are kept.
- A row is imported whole or not at all, and a customer with all its rows or not at all. A row is
  rejected for an invalid value (GTIN/ISBN/GLN check digit, EU VAT number, negative price...), a
  missing required value, a code, GTIN or GLN found twice in the file, a GTIN or GLN that belongs to
  another record, stock of an unknown product. The other rows are imported; each rejected row gets
  one report line: `file:line: column: reason`.
- The whole file is refused, and nothing imported, when it cannot be read or decoded, is not valid JSON,
  has an unknown or missing required column, or has no data rows.

This module reads, decodes and checks the file, then hands the accepted records to the bulk writers
of `app.catalog.bulk`, which write them to the database.
"""

import codecs
import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session

from app.catalog.bulk import (
    ADDRESS_PARTS,
    CUSTOMER_FIELDS,
    PRODUCT_FIELDS,
    Advance,
    aware,
    current_customers,
    current_products,
    write_customers,
    write_products,
    write_stock,
)
from app.catalog.models import SnapshotImport
from app.catalog.schemas import CustomerCreate, ProductCreate, StockLevel
from app.clock import utcnow
from app.errors import InvalidInput

ImportKind = Literal["customers", "products", "stock"]
KINDS: tuple[ImportKind, ...] = ("customers", "products", "stock")
PROGRESS_MIN_ROWS = 1_000

# Accepted column names, as `normalize_header` gives them; the first is the canonical one.
_PRODUCT_NAMES: dict[str, str] = {
    "code": "code code_article reference ref sku article",
    "name": "name nom libelle designation titre title description",
    "unit_price": "unit_price prix prix_unitaire price pu tarif",
    "vat_rate": "vat_rate tva taux_tva vat tax_rate",
    "gtin": "gtin ean ean13 ean_13 isbn isbn13 gencod code_barre code_barres barcode",
    "price_includes_vat": "price_includes_vat ttc prix_ttc includes_vat",
    "price_locked": "price_locked prix_fixe prix_impose prix_verrouille",
    "allows_decimal_quantity": "allows_decimal_quantity quantite_decimale qte_decimale decimal_quantity",
    "stock_on_hand": "stock_on_hand stock qte_stock quantite_stock",
    "stock_as_of": "stock_as_of date_stock stock_date",
}
_CUSTOMER_NAMES: dict[str, str] = {
    "code": "code code_client client customer_code numero_client n_client",
    "name": "name nom raison_sociale societe company nom_client",
    "vat_number": "vat_number tva tva_intra tva_intracommunautaire numero_tva n_tva no_tva vat vat_id",
    "gln": "gln code_gln",
    "email": "email e_mail mail courriel",
    "phone": "phone telephone tel",
    "billing_name": "billing_name nom_facturation",
    "billing_street": "billing_street adresse rue adresse_facturation adresse_1 adresse1 street address",
    "billing_street2": "billing_street2 adresse_2 adresse2 complement complement_adresse street2",
    "billing_postal_code": "billing_postal_code code_postal cp postal_code zip",
    "billing_city": "billing_city ville city commune",
    "billing_country": "billing_country pays country",
    "discount_percent": "discount_percent remise discount taux_remise remise_client",
    "blocked": "blocked bloque blocage",
    "show_prices_on_delivery_note": "show_prices_on_delivery_note prix_sur_bl afficher_prix",
    "shipping_code": "shipping_code code_livraison code_adresse_livraison",
    "shipping_name": "shipping_name nom_livraison",
    "shipping_street": "shipping_street adresse_livraison rue_livraison",
    "shipping_street2": "shipping_street2 complement_livraison adresse_2_livraison adresse2_livraison",
    "shipping_postal_code": "shipping_postal_code cp_livraison code_postal_livraison",
    "shipping_city": "shipping_city ville_livraison",
    "shipping_country": "shipping_country pays_livraison",
    "shipping_gln": "shipping_gln gln_livraison",
}
_STOCK_NAMES: dict[str, str] = {
    "code": _PRODUCT_NAMES["code"],
    "stock_on_hand": "stock_on_hand stock quantite qte quantity",
}
COLUMN_NAMES: dict[ImportKind, dict[str, str]] = {
    "products": _PRODUCT_NAMES,
    "customers": _CUSTOMER_NAMES,
    "stock": _STOCK_NAMES,
}
REQUIRED_COLUMNS: dict[ImportKind, tuple[str, ...]] = {
    "products": ("code", "name", "unit_price", "vat_rate"),
    "customers": ("code", "name", "billing_street", "billing_postal_code", "billing_city"),
    "stock": ("code", "stock_on_hand"),
}
_DECIMALS = {"unit_price", "vat_rate", "stock_on_hand", "discount_percent"}
_BOOLEANS = {
    "price_includes_vat",
    "price_locked",
    "allows_decimal_quantity",
    "blocked",
    "show_prices_on_delivery_note",
}
_COUNTRIES = {"billing_country", "shipping_country"}
_TRUE = {"oui", "o", "yes", "y", "true", "vrai", "1", "x", "on"}
_FALSE = {"non", "n", "no", "false", "faux", "0", "off"}
_SHIPPING = "shipping_addresses"  # JSON key, and the marker that a row states shipping addresses
ROW = "-"  # the "column" of a problem with the row as a whole


class ImportRefused(InvalidInput):
    """The file as a whole cannot be imported: nothing of it is."""

    slug = "import-refused"


@dataclass
class Rejection:
    """One rejected row and why: `(column as named in the file, reason)` pairs."""

    line: int
    problems: list[tuple[str, str]]

    def render(self, source_name: str, unit: str) -> str:
        where = f"{source_name}:{self.line}" if unit == "line" else f"{source_name}:item {self.line}"
        return f"{where}: " + "; ".join(
            reason if column == ROW else f"{column}: {reason}" for column, reason in self.problems
        )


@dataclass
class ImportResult:
    kind: ImportKind
    source: str
    as_of: datetime
    rows_accepted: int
    rows_rejected: int
    created: int
    updated: int
    report_lines: list[str]
    notes: list[str]
    snapshot_id: int

    @property
    def report(self) -> str:
        return "\n".join([*self.notes, *self.report_lines])


@dataclass
class SourceRow:
    line: int
    values: dict[str, Any]  # canonical column -> value as read (text for CSV)
    present: frozenset[str]  # the columns this row states, even empty (CSV: all of the file's)


@dataclass
class SourceTable:
    name: str
    unit: Literal["line", "item"]
    headers: dict[str, str]  # canonical column -> name as written in the file
    rows: list[SourceRow]
    notes: list[str] = field(default_factory=list)
    rejections: dict[int, Rejection] = field(default_factory=dict)

    def column(self, canonical: str) -> str:
        return self.headers.get(canonical, canonical)

    def reject(self, line: int, column: str, reason: str) -> None:
        self.rejections.setdefault(line, Rejection(line, [])).problems.append((self.column(column), reason))


# --- reading ---------------------------------------------------------------------------------------


def normalize_header(text: str) -> str:
    """`Prix unitaire (€)` -> `prix_unitaire`, `Bloqué` -> `bloque`, `N° TVA` -> `n_tva`."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")


_ALIASES = {
    kind: {alias: canonical for canonical, aliases in names.items() for alias in aliases.split()}
    for kind, names in COLUMN_NAMES.items()
}


def decode_text(data: bytes, name: str) -> tuple[str, list[str]]:
    """The file's text and notes on how it was read; refused when it is no text we know."""
    notes: list[str] = []
    try:
        if data.startswith(codecs.BOM_UTF8):
            text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = data.decode("cp1252")
                notes.append(f"{name}: not valid UTF-8 ({_where(data, exc)}), read as Windows-1252 (Latin-1)")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"{name}: unknown encoding ({_where(data, exc)}): "
            "save the file as UTF-8 or Windows-1252 (Latin-1)"
        ) from exc
    if "\x00" in text:
        raise ImportRefused(f"{name}: contains NUL characters: not a text file (save as CSV UTF-8)")
    return text, notes


def _where(data: bytes, exc: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, exc.start) + 1
    return f"byte 0x{data[exc.start]:02x} on line {line}"


def read_table(data: bytes, *, name: str, fmt: Literal["csv", "json"], kind: ImportKind) -> SourceTable:
    text, notes = decode_text(data, name)
    table = _read_json(text, name, kind) if fmt == "json" else _read_csv(text, name, kind)
    table.notes[:0] = notes
    missing = [column for column in REQUIRED_COLUMNS[kind] if column not in table.headers]
    if missing:
        raise ImportRefused(
            f"{name}: missing required column(s) {', '.join(missing)} for {kind} "
            f"(expected: {describe_columns(kind)})"
        )
    if not table.rows and not table.rejections:
        raise ImportRefused(f"{name}: no data rows")
    return table


def describe_columns(kind: ImportKind) -> str:
    required = REQUIRED_COLUMNS[kind]
    return ", ".join(
        "|".join(aliases.split()[:3]) + ("*" if column in required else "")
        for column, aliases in COLUMN_NAMES[kind].items()
    )


def _map_columns(names: Iterable[str], name: str, kind: ImportKind) -> dict[str, str]:
    """Header as written -> canonical column; refused on unknown or doubled columns."""
    mapping: dict[str, str] = {}
    given: dict[str, str] = {}
    unknown: list[str] = []
    for header in names:
        canonical = _ALIASES[kind].get(normalize_header(header))
        if canonical is None:
            unknown.append(header)
        elif canonical in given:
            raise ImportRefused(f"{name}: columns {given[canonical]!r} and {header!r} both give {canonical}")
        else:
            given[canonical] = header
            mapping[header] = canonical
    if unknown:
        raise ImportRefused(
            f"{name}: unknown column(s) {', '.join(repr(u) for u in unknown)} for {kind} "
            f"(accepted: {describe_columns(kind)})"
        )
    return mapping


def _sniff_delimiter(text: str) -> str:
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {delimiter: header.count(delimiter) for delimiter in ";,\t"}
    return max(counts, key=lambda d: (counts[d], d == ";"))


def _read_csv(text: str, name: str, kind: ImportKind) -> SourceTable:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        header = next((cells for cells in reader if any(c.strip() for c in cells)), None)
        if header is None:
            raise ImportRefused(f"{name}: empty file")
        while header and not header[-1].strip():
            header.pop()  # Excel writes trailing separators
        if any(not cell.strip() for cell in header):
            raise ImportRefused(f"{name}: column {[c.strip() for c in header].index('') + 1} has no name")
        mapping = _map_columns((cell.strip() for cell in header), name, kind)
        columns = [mapping[cell.strip()] for cell in header]
        table = SourceTable(name, "line", {v: k for k, v in mapping.items()}, [])
        present = frozenset(columns)
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
                table.reject(start, ROW, f"{len(cells)} values for {len(columns)} columns")
                continue
            table.rows.append(SourceRow(start, dict(zip(columns, cells, strict=False)), present))
    except csv.Error as exc:
        raise ImportRefused(f"{name}:{reader.line_num}: unreadable CSV ({exc})") from exc
    return table


def _read_json(text: str, name: str, kind: ImportKind) -> SourceTable:
    try:
        document = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ImportRefused(
            f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    items = document.get("items") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise ImportRefused(f'{name}: expected a list of objects or {{"items": [...]}}')
    table = SourceTable(name, "item", {}, [])
    keys: set[str] = set()
    for item in items:
        if isinstance(item, dict):
            keys.update(_flat_keys(item, kind))
    mapping = _map_columns(sorted(keys), name, kind)
    table.headers = {v: k for k, v in mapping.items()}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            table.reject(number, ROW, "not an object")
            continue
        values: dict[str, Any] = {}
        for key, value in item.items():
            if kind == "customers" and key == "billing_address" and isinstance(value, dict):
                values.update({mapping[f"billing_{k}"]: v for k, v in value.items()})
            elif kind == "customers" and key == _SHIPPING:
                values[_SHIPPING] = value
            else:
                values[mapping[key]] = value
        table.rows.append(SourceRow(number, values, frozenset(values)))
    if kind == "customers" and _SHIPPING in keys:
        table.headers[_SHIPPING] = _SHIPPING
    return table


def _flat_keys(item: dict[str, Any], kind: ImportKind) -> Iterator[str]:
    for key, value in item.items():
        if kind == "customers" and key == "billing_address" and isinstance(value, dict):
            yield from (f"billing_{k}" for k in value)
        elif not (kind == "customers" and key == _SHIPPING):
            yield key


# --- values ----------------------------------------------------------------------------------------


def _decimal_text(raw: str) -> str:
    """`1 234,50 €` -> `1234.50`; what is no number is left for the schema to reject."""
    text = re.sub(r"[\s\u00a0\u202f€%]", "", raw)
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        text = text.replace(thousands, "").replace(",", ".")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    return text


def _convert(column: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and column not in _DECIMALS:
        return str(value)  # a JSON number for a code, a GTIN or a postal code
    if not isinstance(value, str):
        return value
    text = value.strip()
    if column in _DECIMALS:
        return _decimal_text(text)
    if column in _BOOLEANS:
        word = normalize_header(text)
        return True if word in _TRUE else False if word in _FALSE else text
    if column in _COUNTRIES:
        return text.upper()
    if column == "stock_as_of":
        return _french_datetime(text) or text
    return text


def _french_datetime(text: str) -> datetime | None:
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?", text)
    if match is None:
        return None
    day, month, year, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def parse_as_of(text: str) -> datetime:
    """`--as-of`: ISO 8601 or `dd/mm/yyyy [hh:mm]`, local time unless an offset is given."""
    moment = _french_datetime(text.strip())
    if moment is None:
        moment = datetime.fromisoformat(text.strip())
    return aware(moment)


def _model_input(row: SourceRow, columns: Iterable[str]) -> dict[str, Any]:
    """The row's non-empty values of `columns`, converted (empty cells take the schema's default)."""
    data = {}
    for column in columns:
        value = row.values.get(column)
        if value is not None and value != "" and not (isinstance(value, str) and not value.strip()):
            data[column] = _convert(column, value)
    return data


def _reason(column: str, error: ErrorDetails, raw: Any) -> str:
    """A pydantic error said for the person who fixes the file, with the value found."""
    kind = error["type"]
    if kind == "missing":
        return "a value is required"
    if kind == "string_pattern_mismatch":
        message = (
            "a two-letter country code (FR)"
            if column.endswith("country")
            else "not an e-mail address"
            if column == "email"
            else "only letters, digits and . _ / -, starting with a letter or digit"
        )
    elif kind == "bool_parsing":
        message = "expected oui/non, 1/0 or true/false"
    elif kind == "decimal_parsing":
        message = "not a number"
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    if raw is not None and raw != "":
        message += f' (got "{raw.strip() if isinstance(raw, str) else raw}")'
    return message


# --- import ----------------------------------------------------------------------------------------


def import_file(
    session: Session,
    *,
    kind: ImportKind,
    path: Path,
    as_of: datetime | None = None,
    show_progress: bool = False,
) -> ImportResult:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".txt", ".tsv", ".json"):
        raise ImportRefused(f"{path.name}: unknown file type {suffix or '(none)'!r}: export as CSV or JSON")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefused(f"{path}: cannot read the file ({exc.strerror})") from exc
    fmt: Literal["csv", "json"] = "json" if suffix == ".json" else "csv"
    return import_data(
        session, kind=kind, data=data, source=str(path), fmt=fmt, as_of=as_of, show_progress=show_progress
    )


def import_data(
    session: Session,
    *,
    kind: ImportKind,
    data: bytes,
    source: str,
    fmt: Literal["csv", "json"],
    as_of: datetime | None = None,
    show_progress: bool = False,
) -> ImportResult:
    """Import one export into the caller's transaction and record it as a `SnapshotImport`."""
    if kind not in KINDS:
        raise ImportRefused(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    name = Path(source).name
    table = read_table(data, name=name, fmt=fmt, kind=kind)
    moment = aware(as_of) if as_of else utcnow()
    with _progress(show_progress and len(table.rows) >= PROGRESS_MIN_ROWS, len(table.rows)) as advance:
        created, updated, accepted = _IMPORTERS[kind](session, table, moment, advance)
    rejections = sorted(table.rejections.values(), key=lambda r: r.line)
    report_lines = [r.render(name, table.unit) for r in rejections]
    snapshot = SnapshotImport(
        kind=kind,
        source=source[-500:],
        as_of=moment,
        imported_at=utcnow(),
        rows_accepted=accepted,
        rows_rejected=len(rejections),
        report="\n".join([*table.notes, *report_lines]),
    )
    session.add(snapshot)
    session.flush()
    return ImportResult(
        kind=kind,
        source=source,
        as_of=moment,
        rows_accepted=accepted,
        rows_rejected=len(rejections),
        created=created,
        updated=updated,
        report_lines=report_lines,
        notes=table.notes,
        snapshot_id=snapshot.id,
    )


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Advance]:
    if not show:
        yield lambda _stage, _n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def advance(stage: str, n: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.advance(tasks[stage], n)

        yield advance


def _validate_rows(
    table: SourceTable,
    model: type[BaseModel],
    columns: Sequence[str],
    advance: Advance,
) -> list[tuple[SourceRow, Any]]:
    """Rows valid on their own, codes found twice rejected on every line they are on."""
    lines_by_code: dict[str, list[int]] = defaultdict(list)
    for row in table.rows:
        lines_by_code[str(row.values.get("code") or "").strip()].append(row.line)
    valid = []
    for index, row in enumerate(table.rows, start=1):
        code = str(row.values.get("code") or "").strip()
        if code and len(lines_by_code[code]) > 1:
            others = ", ".join(str(n) for n in lines_by_code[code] if n != row.line)
            table.reject(row.line, "code", f"code {code} is also on {table.unit} {others} of the file")
        else:
            try:
                valid.append((row, model.model_validate(_model_input(row, columns))))
            except ValidationError as exc:
                for error in exc.errors():
                    column = str(error["loc"][0]) if error["loc"] else ROW
                    table.reject(row.line, column, _reason(column, error, row.values.get(column)))
        if index % 1000 == 0:
            advance("checking", 1000)
    advance("checking", len(table.rows) % 1000)
    return valid


def _reject_shared_values(
    table: SourceTable,
    rows: Sequence[tuple[SourceRow, Any]],
    column: str,
    value_of: Callable[[Any], str | None],
) -> list[tuple[SourceRow, Any]]:
    """Reject every row whose value of a unique column (GTIN, GLN) is on another row of the file."""
    lines: dict[str, list[int]] = defaultdict(list)
    for row, model in rows:
        value = value_of(model)
        if value:
            lines[value].append(row.line)
    kept = []
    for row, model in rows:
        value = value_of(model)
        if value and len(lines[value]) > 1:
            others = ", ".join(str(n) for n in lines[value] if n != row.line)
            table.reject(row.line, column, f"{value} is also on {table.unit} {others} of the file")
        else:
            kept.append((row, model))
    return kept


def unique_conflicts(proposed: dict[str, str | None], current: dict[str, str | None]) -> dict[str, str]:
    """Codes whose new unique value (GTIN, GLN) would still belong to another record after the import.

    `proposed`: code -> value the file gives (values distinct); `current`: code -> value in the database.
    A record keeps its current value unless the file changes it; rejecting a change can make the
    value stay taken, hence the loop. Returns code -> the code that owns the value.
    """
    rejected: dict[str, str] = {}
    while True:
        owners = {
            value: code
            for code, value in current.items()
            if value and (code not in proposed or code in rejected)
        }
        found = {
            code: owners[value]
            for code, value in proposed.items()
            if code not in rejected and value and owners.get(value, code) != code
        }
        if not found:
            return rejected
        rejected.update(found)


# --- products --------------------------------------------------------------------------------------


def _import_products(
    session: Session,
    table: SourceTable,
    as_of: datetime,
    advance: Advance,
) -> tuple[int, int, int]:
    valid = _validate_rows(table, ProductCreate, PRODUCT_FIELDS, advance)
    valid = _reject_shared_values(table, valid, "gtin", lambda m: m.gtin)
    current = current_products(session)
    conflicts = unique_conflicts(
        {m.code: m.gtin for row, m in valid if "gtin" in row.present},
        {code: gtin for code, (_, gtin) in current.items()},
    )
    accepted = []
    for row, model in valid:
        if model.code in conflicts:
            table.reject(row.line, "gtin", f"GTIN {model.gtin} belongs to product {conflicts[model.code]}")
        else:
            accepted.append((model, row.present))
    created, updated = write_products(session, accepted, current=current, as_of=as_of, advance=advance)
    return created, updated, len(accepted)


# --- stock -----------------------------------------------------------------------------------------


def _import_stock(
    session: Session,
    table: SourceTable,
    as_of: datetime,
    advance: Advance,
) -> tuple[int, int, int]:
    valid = _validate_rows(table, StockLevel, ("code", "stock_on_hand"), advance)
    ids = {code: pid for code, (pid, _) in current_products(session).items()}
    levels = []
    for row, level in valid:
        if level.code not in ids:
            table.reject(row.line, "code", f"no product {level.code}")
        else:
            levels.append((ids[level.code], level.stock_on_hand))
    write_stock(session, levels, as_of=as_of, advance=advance)
    return 0, len(levels), len(levels)


# --- customers -------------------------------------------------------------------------------------


@dataclass
class _CustomerRows:
    rows: list[SourceRow]
    addresses: list[tuple[int, dict[str, Any]]]  # (line, shipping address input)


def _import_customers(
    session: Session,
    table: SourceTable,
    as_of: datetime,
    advance: Advance,
) -> tuple[int, int, int]:
    groups = _group_customer_rows(table)
    valid: list[tuple[SourceRow, CustomerCreate]] = []
    for group in groups:
        if any(row.line in table.rejections for row in group.rows):
            continue
        first = group.rows[0]
        data = _model_input(first, CUSTOMER_FIELDS)
        billing = _model_input(first, [f"billing_{part}" for part in ADDRESS_PARTS])
        data["billing_address"] = {column.removeprefix("billing_"): v for column, v in billing.items()}
        data[_SHIPPING] = [address for _, address in group.addresses]
        try:
            valid.append((first, CustomerCreate.model_validate(data)))
        except ValidationError as exc:
            _reject_customer_errors(table, group, exc)
    valid = _reject_shared_values(table, valid, "gln", lambda m: m.gln)
    current = current_customers(session)
    conflicts = unique_conflicts(
        {m.code: m.gln for row, m in valid if "gln" in row.present},
        {code: gln for code, (_, gln) in current.items()},
    )
    for first, model in valid:
        if model.code in conflicts:
            table.reject(first.line, "gln", f"GLN {model.gln} belongs to customer {conflicts[model.code]}")
    accepted_rows = 0
    for group in groups:
        failed = next((row.line for row in group.rows if row.line in table.rejections), None)
        if failed is None:
            accepted_rows += len(group.rows)
            continue
        for row in group.rows:
            if row.line not in table.rejections:
                table.reject(row.line, "code", f"rejected with {table.unit} {failed} (same customer)")
    accepted = [(model, first.present) for first, model in valid if first.line not in table.rejections]
    created, updated = write_customers(session, accepted, current=current, as_of=as_of, advance=advance)
    return created, updated, accepted_rows


def _group_customer_rows(table: SourceTable) -> list[_CustomerRows]:
    """Rows by customer code; a repeated code must bring a new shipping address and no other data."""
    groups: dict[str, _CustomerRows] = {}
    shipping_columns = [f"shipping_{part}" for part in ("code", *ADDRESS_PARTS, "gln")]
    for row in table.rows:
        code = str(row.values.get("code") or "").strip()
        group = groups.setdefault(code or f"\0{row.line}", _CustomerRows([], []))
        group.rows.append(row)
        listed = row.values.get(_SHIPPING)
        if isinstance(listed, list):
            group.addresses += [(row.line, address) for address in listed]
        elif listed is not None:
            table.reject(row.line, _SHIPPING, "expected a list of addresses")
        address = {
            column.removeprefix("shipping_"): value
            for column, value in _model_input(row, shipping_columns).items()
        }
        if address:
            group.addresses.append((row.line, address))
        if len(group.rows) == 1:
            continue
        first = group.rows[0]
        if not address and not listed:
            table.reject(row.line, "code", f"code {code} is also on {table.unit} {first.line} of the file")
        for column in (*CUSTOMER_FIELDS, *(f"billing_{part}" for part in ADDRESS_PARTS)):
            mine, theirs = _model_input(row, [column]).get(column), _model_input(first, [column]).get(column)
            if mine is not None and mine != theirs:
                table.reject(row.line, column, f"differs from {table.unit} {first.line} (customer {code})")
    return list(groups.values())


def _reject_customer_errors(table: SourceTable, group: _CustomerRows, exc: ValidationError) -> None:
    """Each error on the row it comes from: a shipping address's on the row that gave the address."""
    first = group.rows[0]
    for error in exc.errors():
        loc = error["loc"]
        line, column = first.line, str(loc[0])
        raw: Any = first.values.get(column)
        if loc[0] == "billing_address" and len(loc) > 1:
            column = f"billing_{loc[1]}"
            raw = first.values.get(column)
        elif loc[0] == _SHIPPING:
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            part = str(loc[2]) if len(loc) > 2 else "code"
            if index is not None:
                line, address = group.addresses[index]
                raw = address.get(part) if isinstance(address, dict) else None
            column = (
                f"shipping_{part}"
                if f"shipping_{part}" in table.headers
                else f"{_SHIPPING}[{index}].{part}"
                if index is not None
                else _SHIPPING
            )
        table.reject(line, column, _reason(column, error, raw))


_IMPORTERS: dict[ImportKind, Callable[[Session, SourceTable, datetime, Advance], tuple[int, int, int]]] = {
    "products": _import_products,
    "customers": _import_customers,
    "stock": _import_stock,
}
