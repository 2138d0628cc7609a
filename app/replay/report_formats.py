"""The reconciliation report as CSV (one table, for a spreadsheet) and as PDF (for the auditor)."""

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from app.money import money_str, rate_str
from app.pdf import render_report
from app.replay.schemas import Amounts, Figures, KindFigures, ReconciliationReport
from app.replay.wording import KINDS, PDF_WORDS, ReportLang, status_label
from app.templating import environment, format_moment, format_rate

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
    rate (net is the rate's base, vat its amount); then what waits (per kind and customer, by rate),
    the documents that wait, those left out and those keyed by hand, each with its amounts (in the
    captured columns); reasons in the report's language."""
    out = io.StringIO()
    writer = _SpreadsheetSafeWriter(csv.writer(out, lineterminator="\r\n"))
    writer.writerow(CSV_HEADER)
    for figures in report.kinds:
        writer.writerows(_figure_rows("total", figures, "", ""))
    for customer in report.customers:
        writer.writerows(_figure_rows("customer", customer, customer.customer_code, customer.customer_name))
    for waiting in report.waiting:
        code, name = waiting.customer_code or "", waiting.customer_name or ""
        writer.writerows(_waiting_rows(waiting.kind, waiting.figures, code, name))
    for document in report.outstanding:
        status = status_label(document.status, report.lang)
        writer.writerow(_document_row("outstanding", document, document.amounts, status, document.reason))
    for excluded in report.excluded:
        status = status_label("cancelled", report.lang)
        writer.writerow(_document_row("excluded", excluded, excluded.amounts, status, excluded.reason))
    for keyed in report.keyed_by_hand:
        writer.writerow(
            _document_row("keyed_by_hand", keyed, keyed.amounts, keyed.erp_reference or "", keyed.note or "")
        )
    blank = [""] * 12
    check = report.erp_check
    for reference in check.missing_erp_reference:
        writer.writerow(["erp_check", "", "", "", "", *blank, reference, "", _CHECKS["missing"][report.lang]])
    for reference in check.duplicate_erp_references:
        writer.writerow(["erp_check", "", "", "", "", *blank, reference, "", _CHECKS["twice"][report.lang]])
    return out.getvalue()


_CHECKS: dict[str, dict[ReportLang, str]] = {
    "missing": {"fr": "accusé sans référence ERP", "en": "acknowledged without an ERP reference"},
    "twice": {"fr": "référence ERP donnée deux fois", "en": "ERP reference given twice"},
}


def _document_row(
    section: str, document: Any, amounts: Amounts | None, status: str, reason: str
) -> list[Any]:
    """A document's row (kind, customer, reference): its amounts in the captured columns (what it is
    worth in Carnet), its status and the reason."""
    money = ["", *(money_str(v) for v in (amounts.net, amounts.vat, amounts.gross))] if amounts else [""] * 4
    head = [section, document.kind, document.customer_code, "", ""]
    return [*head, *money, *[""] * 8, document.reference, status, reason]


def _waiting_rows(kind: str, figures: Figures, code: str, name: str) -> Iterator[list[Any]]:
    """What waits, in the captured columns: totals, then one row per VAT rate."""
    yield ["waiting", kind, code, name, "", *_totals(figures), *[""] * 8, "", "", ""]
    for vat in figures.vat_breakdown:
        cells = ["", money_str(vat.base), money_str(vat.amount), ""]
        yield ["waiting", kind, code, name, rate_str(vat.rate), *cells, *[""] * 8, "", "", ""]


def report_pdf(report: ReconciliationReport) -> bytes:
    lang = report.lang
    html = environment.get_template(TEMPLATE).render(
        report=report,
        lang=lang,
        words=PDF_WORDS[lang],
        kinds={kind: labels[lang] for kind, labels in KINDS.items()},
        status=lambda status: status_label(status, lang),
        when=lambda moment: format_moment(moment, report.timezone, lang),
        rates=_rate_rows,
        rate_label=lambda text: format_rate(Decimal(text), lang),
    )
    rows = (
        len(report.customers)
        + len(report.waiting)
        + len(report.outstanding)
        + len(report.excluded)
        + len(report.keyed_by_hand)
    )
    return render_report(html, rows=rows)


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
