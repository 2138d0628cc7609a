"""Benchmark delivery note PDFs; prints one `name value unit` line per figure.

Notes are realistic rather than flattering: 20 lines (one A4 page), product names of 25-45
characters, one line in five backordered, prices and totals shown (the slowest variant; hidden
prices are measured too), and beside them the same note rendered by plain WeasyPrint, and an invoice
PDF/A-3 with its Factur-X XML. Run from the repository root: `.venv/bin/python scripts/bench_pdf.py`.
"""

import argparse
import gc
import resource
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from io import BytesIO

from pypdf import PdfReader
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.text.fonts import FontConfiguration  # type: ignore[import-untyped]

from app.delivery.pdf import (
    STYLESHEET,
    AddressView,
    CustomerView,
    DeliveryNoteLineView,
    DeliveryNoteView,
    LinePrices,
    SellerView,
    delivery_notes_html,
    render_delivery_note,
    render_delivery_notes_parallel,
)
from app.invoice_pdf.rendering import invoice_view, render_invoice_pdf
from app.pdf import AssetFetcher, asset_path
from app.pricing import Totals, VatLine
from app.replay.formats.samples import sample_invoice

TITLES = (
    "Les Misérables, tome {n} (poche)",
    "Guide du jardinier amateur, édition {n}",
    "Cahier d'exercices CM2 n°{n}",
    "Atlas des océans — volume {n}",
    "Recettes de grand-mère, saison {n}",
)
SELLER = SellerView(
    name="Éditions Carnet SARL",
    address=AddressView(lines=("12 rue des Lilas",), postal_code="75011", city="Paris"),
    vat_number="FR32123456789",
)


def make_view(number: int, *, lines: int = 20, show_prices: bool = True) -> DeliveryNoteView:
    note_lines = []
    for n in range(1, lines + 1):
        ordered = Decimal(1 + (number + n) % 12)
        backordered = Decimal(1) if n % 5 == 0 else Decimal(0)
        price = Decimal("4.90") + Decimal(n % 17)
        note_lines.append(
            DeliveryNoteLineView(
                line_no=n,
                product_code=f"P{(number * 31 + n) % 100000:05d}",
                gtin=f"978207{(number * 97 + n) % 10**7:07d}",
                name=TITLES[n % len(TITLES)].format(n=n),
                ordered_quantity=ordered,
                shipped_quantity=ordered - backordered,
                backordered_quantity=backordered,
                prices=LinePrices(
                    unit_price=price,
                    discounts=(Decimal(5),),
                    net_unit_price=price * Decimal("0.95"),
                    amount=price * Decimal("0.95") * (ordered - backordered),
                ),
            )
        )
    net = sum((line.prices.amount for line in note_lines if line.prices), Decimal(0))
    vat = (net * Decimal("0.055")).quantize(Decimal("0.01"))
    totals = Totals(net, vat, net + vat, (VatLine(Decimal("5.5"), net, vat),))
    return DeliveryNoteView(
        number=f"BL-2026-{number:06d}",
        issue_date=date(2026, 11, 26),
        order_number=f"CMD-2026-{number:06d}",
        seller=SELLER,
        customer=CustomerView(
            code=f"C{number % 5000:04d}",
            name="Librairie du Marché",
            billing_address=AddressView(lines=("3 place du Marché",), postal_code="69002", city="Lyon"),
            vat_number="FR11987654321",
        ),
        shipping_address=AddressView(
            lines=("Entrepôt Nord", "ZI des Marais"), postal_code="69120", city="Lyon"
        ),
        lines=tuple(note_lines),
        customer_reference=f"PO-{number}",
        show_prices=show_prices,
        totals=totals if show_prices else None,
    )


def timed(work: Callable[[], bytes]) -> tuple[float, float, bytes]:
    """Wall and CPU seconds (this process and its finished workers) taken by `work`.

    A full collection first, so that earlier garbage is not billed to it. CPU time shows what the
    work needs when the machine is shared: wall time on two busy cores says little on its own.
    """
    gc.collect()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, _cpu_seconds() - cpu_start, result


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def median_ms(work: Callable[[], bytes], repeat: int) -> float:
    return statistics.median(timed(work)[0] for _ in range(repeat)) * 1000


def _naive_weasyprint(html: str) -> bytes:
    """The same note as plain WeasyPrint renders it: HTML5 defaults, the stylesheet parsed each time,
    a new font configuration, default PDF options. The comparison point of the figures above."""
    fonts = FontConfiguration()
    css = CSS(
        filename=str(asset_path(f"carnet-asset:{STYLESHEET}")), url_fetcher=AssetFetcher(), font_config=fonts
    )
    pdf: bytes = HTML(string=html, url_fetcher=AssetFetcher()).write_pdf(stylesheets=[css], font_config=fonts)
    return pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=1000, help="notes in the batch figures")
    parser.add_argument("--repeat", type=int, default=21, help="renders per median")
    parser.add_argument("--skip-single-process-batch", action="store_true")
    args = parser.parse_args()

    render_delivery_note(make_view(1))  # warm-up: stylesheet parsing, font loading, imports
    for name, view in (("median", make_view(1)), ("no_prices_median", make_view(1, show_prices=False))):
        milliseconds = median_ms(lambda view=view: render_delivery_note(view), args.repeat)
        print(f"pdf_note_1page_{name} {milliseconds:.1f} ms")

    html = delivery_notes_html([make_view(1)])
    naive = median_ms(lambda: _naive_weasyprint(html), max(3, args.repeat // 3))
    print(f"pdf_note_1page_naive_weasyprint_median {naive:.1f} ms")

    invoice = invoice_view(
        sample_invoice(1, order_numbers=("CMD-1",), delivery_note_numbers=("BL-1",), invoice_number="FAD-1")
    )
    render_invoice_pdf(invoice)
    print(f"pdf_invoice_facturx_median {median_ms(lambda: render_invoice_pdf(invoice), args.repeat):.1f} ms")

    long_note = make_view(2, lines=200)
    seconds, _, pdf = timed(lambda: render_delivery_note(long_note))
    print(f"pdf_note_200lines {seconds * 1000:.0f} ms")
    print(f"pdf_note_200lines_pages {len(PdfReader(BytesIO(pdf)).pages)} pages")

    views = [make_view(number) for number in range(1, args.notes + 1)]
    runs = [("parallel", 2)] if args.skip_single_process_batch else [("1proc", 1), ("parallel", 2)]
    for label, processes in runs:
        seconds, cpu, pdf = timed(
            lambda processes=processes: render_delivery_notes_parallel(views, processes)
        )
        print(f"pdf_batch_{args.notes}_{label} {seconds:.1f} s")
        print(f"pdf_batch_{args.notes}_{label}_rate {args.notes / seconds:.1f} notes/s")
        print(f"pdf_batch_{args.notes}_{label}_cpu {cpu:.1f} s")
    print(f"pdf_batch_{args.notes}_size {len(pdf) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
