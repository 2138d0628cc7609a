"""Delivery note PDF ("bon de livraison"): the paper that leaves with each box.

The view model is plain frozen data, built by the delivery service from issued figures, so rendering
needs no database, never re-prices anything and can run in another process.

Speed (`scripts/bench_pdf.py` for times, `scripts/pdf_instructions.py` for instruction counts, which
a shared machine does not disturb; rendering choices in `app/pdf.py`): a realistic 20-line note with
prices took ~90 ms of CPU on two free cores (plain WeasyPrint ~470 ms, before HarfBuzz's subset library
made plain WeasyPrint faster too); subset fonts, the XML parse and dashed fill-in lines then cut its
instructions by a fifth (1,203 M to 974 M). What remains is WeasyPrint's own work per box, in Python:
layout about half, painting a quarter, styles and box building most of the rest, ~0.4 ms per table
cell. Choices:
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

from app.pdf import render_pdf, without_indentation
from app.pricing import Totals
from app.templating import Lang, environment

STYLESHEET: Final = "css/delivery_note.css"
BASE_STYLESHEET: Final = "css/print_base.css"
TEMPLATE: Final = "pdf/delivery_note.html"
# Notes per document in a parallel batch: a document's fixed cost is small, so chunks stay small
# enough to bound a worker's memory (~5 MB per note while it renders) and to balance the workers.
CHUNK_SIZE: Final = 50


LABELS: Final[dict[Lang, dict[str, str]]] = {
    "fr": {
        "title": "Bon de livraison",
        "duplicate": "DUPLICATA n° {copy}",
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
        "previously_shipped": "Déjà livré",
        "shipped": "Livré ce jour",
        "backordered": "Reliquat",
        "unit_price": "P.U. HT €",
        "discount": "Remise %",
        "net_unit_price": "P.U. net HT €",
        "amount": "Montant HT €",
        "public_price": "Prix public TTC €",
        "public_net_unit_price": "Net TTC €",
        "public_amount": "Montant TTC €",
        "public_prices": "Livres à prix public (TTC, TVA comprise)",
        "net_prices": "Autres articles (HT)",
        "subtotal_net": "Sous-total HT",
        "subtotal_gross": "Sous-total TTC",
        "total_net": "Total HT",
        "vat": "TVA",
        "total_gross": "Total TTC",
        "invoice_to_follow": "Facture à suivre",
        "to_come": "Restent à livrer (lignes de la commande non expédiées avec ce bon)",
        "parcels": "Colis",
        "carrier": "Transporteur",
        "tracking_number": "N° de suivi",
        "received": "Reçu conforme le ............ à ......h...... Nom et signature du destinataire :",
        "reserves": (
            "Réserves (manquants, avaries) — à confirmer au transporteur par lettre recommandée dans "
            "les 3 jours (art. L.133-3 du Code de commerce) :"
        ),
        "incident": (
            "Bon établi pendant l'incident n° {incident} (ERP indisponible) ; "
            "il sera repris dans l'ERP et la facture suivra."
        ),
    },
    "en": {
        "title": "Delivery note",
        "duplicate": "DUPLICATE no. {copy}",
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
        "previously_shipped": "Delivered before",
        "shipped": "Delivered now",
        "backordered": "Backorder",
        "unit_price": "Unit price €",
        "discount": "Discount %",
        "net_unit_price": "Net unit price €",
        "amount": "Net amount €",
        "public_price": "Public price incl. VAT €",
        "public_net_unit_price": "Net incl. VAT €",
        "public_amount": "Amount incl. VAT €",
        "public_prices": "Books at public price (VAT included)",
        "net_prices": "Other items (excl. VAT)",
        "subtotal_net": "Subtotal excl. VAT",
        "subtotal_gross": "Subtotal incl. VAT",
        "total_net": "Total net",
        "vat": "VAT",
        "total_gross": "Total incl. VAT",
        "invoice_to_follow": "Invoice to follow",
        "to_come": "Still to deliver (lines of the order not shipped with this note)",
        "parcels": "Parcels",
        "carrier": "Carrier",
        "tracking_number": "Tracking no.",
        "received": (
            "Received in good order on ............ at ......:...... Name and signature of the consignee:"
        ),
        "reserves": (
            "Reserves (missing or damaged goods) — to be confirmed to the carrier by registered letter "
            "within 3 days (French Commercial Code, art. L.133-3):"
        ),
        "incident": (
            "Issued during incident no. {incident} (ERP unavailable); it will be entered in the ERP "
            "and the invoice will follow."
        ),
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
class LinePrices:
    """A priced line as the customer checks it by hand: unit price less its discounts in cascade is
    the net unit price, times the quantity delivered is the amount (app/pricing.py computes them so).
    A public price (a book's, loi Lang) is VAT included, and so are its net price and amount."""

    unit_price: Decimal
    discounts: tuple[Decimal, ...]
    net_unit_price: Decimal
    amount: Decimal
    includes_vat: bool = False


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
    previously_shipped_quantity: Decimal = Decimal(0)
    prices: LinePrices | None = None


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
    # The order's other lines, still to come when the note was issued (nothing of them ships now).
    lines_to_come: tuple[DeliveryNoteLineView, ...] = ()
    show_prices: bool = False
    totals: Totals | None = None
    parcel_count: int | None = None
    carrier: str | None = None
    tracking_number: str | None = None
    # The incident during which the note was issued, printed in small print.
    incident_id: int | None = None
    # Which print this is: 1 is the original, later ones are duplicates; None for a preview.
    copy_number: int | None = None
    is_void: bool = False
    is_preview: bool = False
    lang: Lang = "fr"

    @property
    def is_duplicate(self) -> bool:
        return self.copy_number is not None and self.copy_number > 1

    def __post_init__(self) -> None:
        if self.lang not in LABELS:
            raise ValueError(f"unsupported language {self.lang!r}")
        if self.show_prices and (self.totals is None or any(line.prices is None for line in self.lines)):
            raise ValueError("a delivery note showing prices needs its totals and each line's prices")


@dataclass(frozen=True, slots=True)
class _Section:
    """Lines printed under the same price columns: public prices VAT included, or prices without VAT."""

    heading: str
    public_prices: bool
    lines: tuple[DeliveryNoteLineView, ...]
    subtotal: Decimal


@dataclass(frozen=True, slots=True)
class _PrintedNote:
    """What the template needs beyond the view: labels in the note's language, marks, QR code."""

    view: DeliveryNoteView
    labels: dict[str, str]
    mark: str
    qr_svg: Markup
    sections: tuple[_Section, ...]


def _printed(view: DeliveryNoteView) -> _PrintedNote:
    labels = LABELS[view.lang]
    flags = (("preview", view.is_preview), ("duplicate", view.is_duplicate), ("void", view.is_void))
    marks = [labels[name].format(copy=view.copy_number) for name, flag in flags if flag]
    # segno writes only path geometry (the note number is encoded, not printed), so the SVG is safe
    # markup; with its namespace, as the note is parsed as XML.
    qr_svg = _svg(segno.make_qr(view.number, error="m"))
    return _PrintedNote(
        view=view, labels=labels, mark=" · ".join(marks), qr_svg=Markup(qr_svg), sections=_sections(view)
    )


def _svg(code: segno.QRCode) -> str:
    out = BytesIO()
    code.save(out, kind="svg", xmldecl=False, svgns=True, nl=False, border=0, omitsize=True, svgclass="qr")
    return out.getvalue().decode()


def _sections(view: DeliveryNoteView) -> tuple[_Section, ...]:
    """One table without prices; with prices, books at public price and other items apart when the
    note has both, each with its subtotal, so that every column reads in one basis (TTC or HT)."""
    if not view.show_prices:
        return (_Section(heading="", public_prices=False, lines=view.lines, subtotal=Decimal(0)),)
    labels = LABELS[view.lang]
    groups = (
        (True, tuple(line for line in view.lines if line.prices and line.prices.includes_vat)),
        (False, tuple(line for line in view.lines if line.prices and not line.prices.includes_vat)),
    )
    present = [(public, lines) for public, lines in groups if lines]
    return tuple(
        _Section(
            heading=labels["public_prices" if public else "net_prices"] if len(present) > 1 else "",
            public_prices=public,
            lines=lines,
            subtotal=sum((line.prices.amount for line in lines if line.prices), Decimal(0)),
        )
        for public, lines in present
    )


def delivery_notes_html(views: Sequence[DeliveryNoteView]) -> str:
    """The HTML of one document holding every note, each starting on a new page."""
    if not views:
        raise ValueError("no delivery note to render")
    title = views[0].number if len(views) == 1 else f"{views[0].number} – {views[-1].number}"
    html = environment.get_template(TEMPLATE).render(notes=[_printed(view) for view in views], title=title)
    return without_indentation(html)


def render_delivery_notes(views: Sequence[DeliveryNoteView]) -> bytes:
    """One PDF for a batch of notes, rendered as a single document (see the module docstring)."""
    return render_pdf(
        delivery_notes_html(views), stylesheets=(STYLESHEET,), base_stylesheet=BASE_STYLESHEET, xml=True
    )


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
