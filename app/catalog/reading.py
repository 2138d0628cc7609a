"""Reading a master-data export: from the file's bytes to rows of values ready for validation.

The format half of `app.catalog.importing`: it decodes the file, finds its columns and converts the
values, but checks no business rule and touches no database.

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

The accepted column names of each kind are in `COLUMN_NAMES`, listed in `app.catalog.importing`.
"""

import codecs
import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from app.catalog.bulk import aware
from app.errors import InvalidInput

ImportKind = Literal["customers", "products", "stock"]
KINDS: tuple[ImportKind, ...] = ("customers", "products", "stock")

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
    "supplier_code": "supplier_code code_fournisseur code_editeur code_marque supplier",
    "supplier_name": "supplier_name editeur fournisseur marque nom_fournisseur nom_editeur nom_marque brand",
}
_CUSTOMER_NAMES: dict[str, str] = {
    "code": "code code_client client customer_code numero_client n_client",
    "name": "name nom raison_sociale societe company nom_client",
    "siren": "siren numero_siren n_siren siret",
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
    "shipping_is_default": "shipping_is_default shipping_default livraison_par_defaut adresse_par_defaut",
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
    "shipping_is_default",
}
_COUNTRIES = {"billing_country", "shipping_country"}
_TRUE = {"oui", "o", "yes", "y", "true", "vrai", "1", "x", "on"}
_FALSE = {"non", "n", "no", "false", "faux", "0", "off"}
SHIPPING = "shipping_addresses"  # JSON key, and the marker that a row states shipping addresses
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
            elif kind == "customers" and key == SHIPPING:
                values[SHIPPING] = value
            else:
                values[mapping[key]] = value
        table.rows.append(SourceRow(number, values, frozenset(values)))
    if kind == "customers" and SHIPPING in keys:
        table.headers[SHIPPING] = SHIPPING
    return table


def _flat_keys(item: dict[str, Any], kind: ImportKind) -> Iterator[str]:
    for key, value in item.items():
        if kind == "customers" and key == "billing_address" and isinstance(value, dict):
            yield from (f"billing_{k}" for k in value)
        elif not (kind == "customers" and key == SHIPPING):
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


def model_input(row: SourceRow, columns: Iterable[str]) -> dict[str, Any]:
    """The row's non-empty values of `columns`, converted (empty cells take the schema's default)."""
    data = {}
    for column in columns:
        value = row.values.get(column)
        if value is not None and value != "" and not (isinstance(value, str) and not value.strip()):
            data[column] = _convert(column, value)
    return data
