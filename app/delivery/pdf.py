"""Delivery note PDF ("bon de livraison"): the paper that leaves with each box.

The view model is plain frozen data, built by the delivery service from issued figures, so rendering
needs no database, never re-prices anything and can run in another process.

Speed (`scripts/bench_pdf.py`; rendering choices in `app/pdf.py`): a realistic 20-line note with
prices takes ~90 ms of CPU (plain WeasyPrint took ~470 ms; the wall-clock median was 128-141 ms
while other sessions loaded the two cores), a 200-line note (6 pages) ~0.55 s, and a batch ~100 ms
of CPU per note including the workers' start and the merge: 1,000 notes need ~50 s of two free
cores (67-89 s measured on the shared cores). What remains is WeasyPrint's own work per text box
(~0.4 ms per table cell). Choices:
- A batch is ONE HTML document and ONE WeasyPrint rendering: fonts, stylesheet and PDF objects are
  shared, instead of paying the fixed cost of a document per note and merging hundreds of files.
  Each note is a CSS page group; its page counter restarts at 1 and its page total is the page of
  its end marker (`target-counter`), so "page 1/2" holds per note inside a batch.
- `render_delivery_notes_parallel` cuts a large batch into chunks of `CHUNK_SIZE` notes, renders
  each chunk as one document in a pool of worker processes and concatenates the PDFs with pypdf as
  they arrive (~0.5 s for 1,000 pages). Workers are spawned, not forked: a fork would inherit the
  Pango and fontconfig state built by the parent.
- The QR code is inline SVG made by segno: vector, nothing fetched, no image to decode or compress.
"""

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from multiprocessing import get_context
from typing import Final

import segno
from markupsafe import Markup
from pypdf import PdfWriter

from app.pdf import render_pdf
from app.pricing import Totals
from app.templating import Lang, environment

STYLESHEET: Final = "css/delivery_note.css"
BASE_STYLESHEET: Final = "css/print_base.css"
TEMPLATE: Final = "pdf/delivery_note.html"
# Notes per document in a parallel batch: a document's fixed cost is small, so chunks stay small
# enough to bound a worker's memory (~5 MB per note while it renders) and to balance the workers.
CHUNK_SIZE: Final = 50

# Whitespace between tags (template indentation): ~25 % of the HTML, parsed and turned into boxes
# for nothing. Text from the view is escaped, so a literal `>` or `<` here is always markup.
_BETWEEN_TAGS: Final = re.compile(r">\s+<")

LABELS: Final[dict[Lang, dict[str, str]]] = {
    "fr": {
        "title": "Bon de livraison",
        "duplicate": "DUPLICATA",
        "preview": "APERÇU, NE PAS REMETTRE",
        "void": "ANNULÉ",
        "customer": "Client",
        "ship_to": "Adresse de livraison",
        "vat_number": "N° TVA",
        "date": "Date",
        "order": "Commande",
        "customer_reference": "Votre référence",
        "line_no": "N°",
        "product_code": "Article",
        "gtin": "EAN / ISBN",
        "product_name": "Désignation",
        "ordered": "Commandé",
        "shipped": "Livré",
        "backordered": "Reliquat",
        "unit_price": "P.U. HT",
        "net_amount": "Montant HT",
        "total_net": "Total HT",
        "vat": "TVA",
        "total_gross": "Total TTC",
        "invoice_to_follow": "Facture à suivre",
    },
    "en": {
        "title": "Delivery note",
        "duplicate": "DUPLICATE",
        "preview": "PREVIEW, DO NOT HAND OVER",
        "void": "VOID",
        "customer": "Customer",
        "ship_to": "Ship to",
        "vat_number": "VAT no.",
        "date": "Date",
        "order": "Order",
        "customer_reference": "Your reference",
        "line_no": "No.",
        "product_code": "Item",
        "gtin": "EAN / ISBN",
        "product_name": "Description",
        "ordered": "Ordered",
        "shipped": "Shipped",
        "backordered": "Backorder",
        "unit_price": "Unit price",
        "net_amount": "Net amount",
        "total_net": "Total net",
        "vat": "VAT",
        "total_gross": "Total incl. VAT",
        "invoice_to_follow": "Invoice to follow",
    },
}


@dataclass(frozen=True, slots=True)
class AddressView:
    """A postal address as printed; `country` is left empty for domestic addresses."""

    lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str = ""


@dataclass(frozen=True, slots=True)
class SellerView:
    name: str
    address: AddressView
    vat_number: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerView:
    code: str
    name: str
    billing_address: AddressView
    vat_number: str | None = None


@dataclass(frozen=True, slots=True)
class DeliveryNoteLineView:
    """One order line as shipped in this box; prices only when the customer's notes show them."""

    line_no: int
    product_code: str
    gtin: str | None
    name: str
    ordered_quantity: Decimal
    shipped_quantity: Decimal
    backordered_quantity: Decimal
    unit_price: Decimal | None = None
    net_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class DeliveryNoteView:
    """Everything a delivery note prints, frozen at issue."""

    number: str
    issue_date: date
    order_number: str
    seller: SellerView
    customer: CustomerView
    shipping_address: AddressView
    lines: tuple[DeliveryNoteLineView, ...]
    customer_reference: str | None = None
    show_prices: bool = False
    totals: Totals | None = None
    is_duplicate: bool = False
    is_void: bool = False
    is_preview: bool = False
    lang: Lang = "fr"

    def __post_init__(self) -> None:
        if self.lang not in LABELS:
            raise ValueError(f"unsupported language {self.lang!r}")
        if self.show_prices and self.totals is None:
            raise ValueError("a delivery note showing prices needs its totals")


@dataclass(frozen=True, slots=True)
class _PrintedNote:
    """What the template needs beyond the view: labels in the note's language, marks, QR code."""

    view: DeliveryNoteView
    labels: dict[str, str]
    mark: str
    qr_svg: Markup


def _printed(view: DeliveryNoteView) -> _PrintedNote:
    labels = LABELS[view.lang]
    flags = (("preview", view.is_preview), ("duplicate", view.is_duplicate), ("void", view.is_void))
    marks = [labels[name] for name, flag in flags if flag]
    # segno writes only path geometry (the note number is encoded, not printed), so the SVG is safe markup.
    qr_svg = segno.make_qr(view.number, error="m").svg_inline(border=0, omitsize=True, svgclass="qr")
    return _PrintedNote(view=view, labels=labels, mark=" · ".join(marks), qr_svg=Markup(qr_svg))


def delivery_notes_html(views: Sequence[DeliveryNoteView]) -> str:
    """The HTML of one document holding every note, each starting on a new page."""
    if not views:
        raise ValueError("no delivery note to render")
    title = views[0].number if len(views) == 1 else f"{views[0].number} – {views[-1].number}"
    html = environment.get_template(TEMPLATE).render(notes=[_printed(view) for view in views], title=title)
    return _BETWEEN_TAGS.sub("><", html)


def render_delivery_notes(views: Sequence[DeliveryNoteView]) -> bytes:
    """One PDF for a batch of notes, rendered as a single document (see the module docstring)."""
    return render_pdf(delivery_notes_html(views), stylesheets=(STYLESHEET,), base_stylesheet=BASE_STYLESHEET)


def render_delivery_note(view: DeliveryNoteView) -> bytes:
    return render_delivery_notes((view,))


def render_delivery_notes_parallel(
    views: Sequence[DeliveryNoteView], processes: int = 2, *, chunk_size: int = CHUNK_SIZE
) -> bytes:
    """One PDF for a large batch: chunks rendered by `processes` worker processes, concatenated in order.

    Starting the workers costs about a second, so this pays from a few dozen notes on. With one
    process the chunks are rendered here, one after the other, which still bounds memory.
    """
    size = chunk_size if processes <= 1 else min(chunk_size, -(-len(views) // processes))
    chunks = [tuple(views[start : start + size]) for start in range(0, len(views), size)]
    if len(chunks) <= 1:
        return render_delivery_notes(views)
    if processes <= 1:
        return _concatenate(map(render_delivery_notes, chunks))
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        return _concatenate(pool.map(render_delivery_notes, chunks))


def _concatenate(parts: Iterable[bytes]) -> bytes:
    writer = PdfWriter()
    for part in parts:
        writer.append(BytesIO(part))
    output = BytesIO()
    writer.write(output)
    return output.getvalue()
