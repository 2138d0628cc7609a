"""The reconciliation report as CSV (one table, for a spreadsheet) and as PDF (for the auditor)."""

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from app.money import money_str, rate_str
from app.pdf import render_pdf
from app.replay.schemas import Figures, KindFigures, ReconciliationReport
from app.templating import environment

TEMPLATE = "pdf/reconciliation.html"
CSV_HEADER = (
    "section",
    "kind",
    "customer_code",
    "customer_name",
    "vat_rate",
    "captured_count",
    "captured_net",
    "captured_vat",
    "captured_gross",
    "acknowledged_count",
    "acknowledged_net",
    "acknowledged_vat",
    "acknowledged_gross",
    "difference_count",
    "difference_net",
    "difference_vat",
    "difference_gross",
    "reference",
    "status",
    "reason",
)
KIND_LABELS = {"order": "Commandes", "invoice": "Factures", "credit_note": "Avoirs"}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> object:
    """Customer names and ERP messages are not ours: a cell that a spreadsheet would run as a formula
    (`=HYPERLINK(...)`) is prefixed with an apostrophe. Amounts, even negative ones, are left alone."""
    if not isinstance(cell, str) or not cell.startswith(FORMULA_STARTS):
        return cell
    try:
        Decimal(cell)
        return cell
    except InvalidOperation:
        return "'" + cell


class _SpreadsheetSafeWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def report_csv(report: ReconciliationReport) -> str:
    """RFC 4180, UTF-8. Per kind and per customer one row of document totals, then one row per VAT
    rate (net is the rate's base, vat its amount); then outstanding and excluded documents."""
    out = io.StringIO()
    writer = _SpreadsheetSafeWriter(csv.writer(out, lineterminator="\r\n"))
    writer.writerow(CSV_HEADER)
    for figures in report.kinds:
        writer.writerows(_figure_rows("total", figures, "", ""))
    for customer in report.customers:
        writer.writerows(_figure_rows("customer", customer, customer.customer_code, customer.customer_name))
    blank = [""] * 12
    for document in report.outstanding:
        writer.writerow(
            [
                "outstanding",
                document.kind,
                document.customer_code,
                "",
                "",
                *blank,
                document.reference,
                document.status,
                document.reason,
            ]
        )
    for excluded in report.excluded:
        writer.writerow(
            [
                "excluded",
                excluded.kind,
                excluded.customer_code,
                "",
                "",
                *blank,
                excluded.reference,
                "",
                excluded.reason,
            ]
        )
    check = report.erp_check
    for reference in check.missing_erp_reference:
        writer.writerow(
            ["erp_check", "", "", "", "", *blank, reference, "", "acknowledged without an ERP reference"]
        )
    for reference in check.duplicate_erp_references:
        writer.writerow(["erp_check", "", "", "", "", *blank, reference, "", "ERP reference given twice"])
    return out.getvalue()


def report_pdf(report: ReconciliationReport) -> bytes:
    html = environment.get_template(TEMPLATE).render(
        report=report, labels=KIND_LABELS, rates=_rate_rows, lang="fr"
    )
    return render_pdf(html)


def _figure_rows(section: str, figures: KindFigures, code: str, name: str) -> Iterator[list[Any]]:
    sides = (figures.captured, figures.acknowledged, figures.difference)
    yield [section, figures.kind, code, name, "", *(v for side in sides for v in _totals(side)), "", "", ""]
    for rate, rows in _rate_rows(figures).items():
        cells = [[count, money_str(base), money_str(amount), ""] for count, base, amount in rows]
        yield [section, figures.kind, code, name, rate, *(v for cell in cells for v in cell), "", "", ""]


def _totals(figures: Figures) -> list[Any]:
    return [figures.count, money_str(figures.net), money_str(figures.vat), money_str(figures.gross)]


def _rate_rows(figures: KindFigures) -> dict[str, list[tuple[str, Decimal, Decimal]]]:
    """Per VAT rate: (captured, acknowledged, difference) as (count placeholder, base, amount)."""
    zero = Decimal(0)
    by_rate: dict[Decimal, list[tuple[str, Decimal, Decimal]]] = {}
    sides = (figures.captured, figures.acknowledged, figures.difference)
    rates = sorted({v.rate for side in sides for v in side.vat_breakdown})
    for rate in rates:
        cells = []
        for side in sides:
            found = next((v for v in side.vat_breakdown if v.rate == rate), None)
            cells.append(("", found.base if found else zero, found.amount if found else zero))
        by_rate[rate] = cells
    return {rate_str(rate): cells for rate, cells in by_rate.items()}
