"""Master-data snapshot import: customers, products and stock levels as the ERP exports them.

`carnet import customers|products|stock FILE [--as-of WHEN]`; the extension chooses the format:
`.csv` (also `.txt`, `.tsv`) or `.json`. Records are upserted by code: the export is the truth.

See `app.catalog.reading` for the CSV and JSON formats accepted (separators, encodings, column
names, numbers, yes/no values and dates).

Columns (* required; the first name is the canonical one):
products  code*, name*|nom|libelle|designation|titre, unit_price*|prix|prix_unitaire|price,
          vat_rate*|tva|taux_tva, gtin|ean|ean13|isbn|gencod|code_barre, price_includes_vat|ttc,
          price_locked|prix_fixe|prix_impose, allows_decimal_quantity|quantite_decimale,
          stock_on_hand|stock, stock_as_of|date_stock,
          supplier_code|code_editeur|code_fournisseur|code_marque,
          supplier_name|editeur|fournisseur|marque (without a code, the code is made from the name)
customers code*|code_client, name*|nom|raison_sociale, billing_street*|adresse|rue,
          billing_postal_code*|code_postal|cp, billing_city*|ville, billing_street2|adresse_2|complement,
          billing_country|pays (default FR), billing_name|nom_facturation,
          siren|numero_siren|siret (a SIRET gives its SIREN),
          vat_number|tva|tva_intra|numero_tva, gln, email|courriel, phone|telephone|tel,
          discount_percent|remise, blocked|bloque, show_prices_on_delivery_note|prix_sur_bl;
          one shipping address per row: shipping_code|code_livraison, shipping_name|nom_livraison,
          shipping_street|adresse_livraison, shipping_street2|complement_livraison,
          shipping_postal_code|cp_livraison, shipping_city|ville_livraison, shipping_country|pays_livraison,
          shipping_gln|gln_livraison, shipping_is_default|livraison_par_defaut (at most one per customer)
stock     code*, stock_on_hand*|stock|quantite|qte

Rules:
- Columns absent from the file are left as they are on existing records (new ones get the default);
  a product's quantity reserved by open orders is never touched. Giving the stock sets `stock_as_of`
  (the row's `date_stock`, else the snapshot's as-of), and the stock on hand is the file's figure with
  Carnet's movements after that date applied on top (app/catalog/stock.py); a figure older than the
  product's current one is not applied, and the report says which. Dates without an offset are on
  the business's clock (`CARNET_BUSINESS_TIMEZONE`).
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

This module checks the rows that `app.catalog.reading` gives, kind by kind, then hands the accepted
records to the bulk writers of `app.catalog.bulk`, which write them to the database, and records the
import as a snapshot.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
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
from app.catalog.reading import (
    KINDS,
    ROW,
    SHIPPING,
    ImportKind,
    ImportRefused,
    SourceRow,
    SourceTable,
    model_input,
    read_table,
)
from app.catalog.schemas import CustomerCreate, ProductCreate, StockLevel
from app.catalog.stock import StockFigure, bring_up_to_now
from app.clock import utcnow
from app.config import get_settings
from app.templating import format_moment

PROGRESS_MIN_ROWS = 1_000


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
    actor: audit.Who = audit.COMMAND_LINE,
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
        session,
        kind=kind,
        data=data,
        source=str(path),
        fmt=fmt,
        as_of=as_of,
        show_progress=show_progress,
        actor=actor,
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
    actor: audit.Who = audit.COMMAND_LINE,
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
    audit.record(
        session,
        actor=actor,
        action=Action.MASTER_DATA_IMPORTED,
        subject="snapshot_import",
        ref=snapshot.id,
        details={
            "kind": kind,
            "file": name,
            "as_of": moment.isoformat(),
            "rows_accepted": accepted,
            "rows_rejected": len(rejections),
            "created": created,
            "updated": updated,
        },
    )
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
                valid.append((row, model.model_validate(model_input(row, columns))))
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
            # A supplier's code made from its name is stated as much as the name.
            present = row.present | {"supplier_code"} if "supplier_name" in row.present else row.present
            accepted.append((model, present))
    kept: list[tuple[str, datetime]] = []
    created, updated = write_products(
        session, accepted, current=current, as_of=as_of, advance=advance, stock_kept=kept
    )
    line_of = {model.code: row.line for row, model in valid}
    for code, figure_as_of in kept:
        table.notes.append(f"{table.unit} {line_of[code]}: stock_on_hand: {_older_than(code, figure_as_of)}")
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
    figures, lines = [], {}
    for row, level in valid:
        if level.code not in ids:
            table.reject(row.line, "code", f"no product {level.code}")
        else:
            figures.append(StockFigure(ids[level.code], level.stock_on_hand, as_of))
            lines[ids[level.code]] = (row.line, level.code)
    brought = bring_up_to_now(session, figures)
    for pid, figure_as_of in brought.older:
        line, code = lines[pid]
        table.reject(line, "stock_on_hand", _older_than(code, figure_as_of))
    write_stock(session, brought.applied, advance=advance)
    return 0, len(brought.applied), len(brought.applied)


def _older_than(code: str, figure_as_of: datetime) -> str:
    as_of = format_moment(figure_as_of, get_settings().business_timezone)
    return (
        f"older than the stock Carnet has for {code} (as of {as_of}, with what was "
        "shipped, received and returned since): not applied"
    )


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
        data = model_input(first, CUSTOMER_FIELDS)
        billing = model_input(first, [f"billing_{part}" for part in ADDRESS_PARTS])
        data["billing_address"] = {column.removeprefix("billing_"): v for column, v in billing.items()}
        data[SHIPPING] = [address for _, address in group.addresses]
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
    shipping_columns = [f"shipping_{part}" for part in ("code", *ADDRESS_PARTS, "gln", "is_default")]
    for row in table.rows:
        code = str(row.values.get("code") or "").strip()
        group = groups.setdefault(code or f"\0{row.line}", _CustomerRows([], []))
        group.rows.append(row)
        listed = row.values.get(SHIPPING)
        if isinstance(listed, list):
            group.addresses += [(row.line, address) for address in listed]
        elif listed is not None:
            table.reject(row.line, SHIPPING, "expected a list of addresses")
        address = {
            column.removeprefix("shipping_"): value
            for column, value in model_input(row, shipping_columns).items()
        }
        if address:
            group.addresses.append((row.line, address))
        if len(group.rows) == 1:
            continue
        first = group.rows[0]
        if not address and not listed:
            table.reject(row.line, "code", f"code {code} is also on {table.unit} {first.line} of the file")
        for column in (*CUSTOMER_FIELDS, *(f"billing_{part}" for part in ADDRESS_PARTS)):
            mine, theirs = model_input(row, [column]).get(column), model_input(first, [column]).get(column)
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
        elif loc[0] == SHIPPING:
            index = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
            part = str(loc[2]) if len(loc) > 2 else "code"
            if index is not None:
                line, address = group.addresses[index]
                raw = address.get(part) if isinstance(address, dict) else None
            column = (
                f"shipping_{part}"
                if f"shipping_{part}" in table.headers
                else f"{SHIPPING}[{index}].{part}"
                if index is not None
                else SHIPPING
            )
        table.reject(line, column, _reason(column, error, raw))


_IMPORTERS: dict[ImportKind, Callable[[Session, SourceTable, datetime, Advance], tuple[int, int, int]]] = {
    "products": _import_products,
    "customers": _import_customers,
    "stock": _import_stock,
}
