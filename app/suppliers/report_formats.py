"""The supplier report as a spreadsheet (CSV as Excel reads it in France) and as PDF."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from app.config import get_settings
from app.pdf import render_report
from app.replay.report_formats import spreadsheet_safe
from app.suppliers.schemas import Quantities, SupplierReport
from app.templating import environment, format_moment

TEMPLATE: Final = "pdf/supplier_report.html"
BOM: Final = "\ufeff"
QUANTITY_COLUMNS: Final = (
    "snapshot_stock",
    "ordered",
    "shipped",
    "backordered",
    "returned",
    "received",
    "counted",
    "stock_left",
)
CSV_HEADER: Final = (
    "Code",
    "EAN",
    "Titre",
    "Date du stock",
    "Stock à la date",
    "Commandé",
    "Expédié",
    "En reliquat",
    "Retourné",
    "Reçu",
    "Inventorié",
    "Stock restant",
)


class FrenchExcel(csv.Dialect):
    """What Excel set to French reads and writes: `;` between fields, CRLF, quotes when needed."""

    delimiter = ";"
    quotechar = '"'
    doublequote = True
    skipinitialspace = False
    lineterminator = "\r\n"
    quoting = csv.QUOTE_MINIMAL


def french_number(value: Decimal) -> str:
    """`2,5`, `-12`: a decimal comma, no thousands separator (a spreadsheet reads it as a number)."""
    exact = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return format(exact, "f").replace(".", ",")


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().business_timezone)).strftime("%d/%m/%Y %H:%M")


def _quantities(figures: Quantities) -> list[str]:
    return [french_number(getattr(figures, column)) for column in QUANTITY_COLUMNS]


def report_csv(report: SupplierReport) -> bytes:
    """UTF-8 with a BOM (so that Excel does not read it as Windows-1252), one row per title, then the
    totals; dates on the business's clock."""
    out = io.StringIO()
    writer = csv.writer(out, dialect=FrenchExcel)
    writer.writerow(CSV_HEADER)
    for title in report.titles:
        head = [title.code, title.gtin or "", title.name, _local(title.snapshot_as_of)]
        writer.writerow([spreadsheet_safe(cell) for cell in head] + _quantities(title))
    writer.writerow(["Total", "", "", "", *_quantities(report.totals)])
    return (BOM + out.getvalue()).encode("utf-8")


def report_pdf(report: SupplierReport) -> bytes:
    timezone = get_settings().business_timezone
    html = environment.get_template(TEMPLATE).render(
        report=report,
        lang="fr",
        columns=QUANTITY_COLUMNS,
        headers=CSV_HEADER[4:],
        when=lambda moment: format_moment(moment, timezone, "fr"),
    )
    return render_report(html, rows=len(report.titles))
