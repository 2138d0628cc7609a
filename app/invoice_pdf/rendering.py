"""Customer-readable invoices and credit notes: a PDF/A-3 rendered by WeasyPrint with the document's
CII XML embedded as Factur-X (EN 16931 profile) by the `factur-x` library.

The PDF is drawn from the very `ErpDocument` the replay sends (app/replay/documents.py), and its XML is
`cii_bytes` of that document: what the customer reads, what the ERP receives and what a platform
checks say the same. Line prices are those of the XML (`line_price`: without VAT, 4 decimals), as are
the rounding charges of VAT-inclusive prices.

A document without a final number (the ERP numbers invoices, and has not yet) is a proforma copy: it
says so, and carries no XML, so that nobody books it as an invoice.
"""

from dataclasses import dataclass
from typing import Final

import facturx  # type: ignore[import-untyped]

from app.pdf import render_pdf, without_indentation
from app.replay.documents import DocumentKind, ErpDocument, ErpLine, OperationCategory
from app.replay.formats import cii_bytes
from app.replay.formats.common import LinePrice, RoundingAdjustment, line_price, rounding_adjustments
from app.templating import environment

TEMPLATE: Final = "pdf/invoice.html"
STYLESHEET: Final = "css/invoice.css"
BASE_STYLESHEET: Final = "css/print_base.css"
PDF_VARIANT: Final = "pdf/a-3b"
# Mentions of the 2026 reform: the category of operation, and the seller's VAT-on-debits option.
OPERATION_CATEGORIES: Final = {
    OperationCategory.GOODS: "Catégorie d'opération : livraison de biens.",
    OperationCategory.SERVICES: "Catégorie d'opération : prestation de services.",
    OperationCategory.MIXED: "Catégorie d'opération : livraison de biens et prestation de services.",
}
VAT_ON_DEBITS: Final = "Option pour le paiement de la TVA d'après les débits."


@dataclass(frozen=True, slots=True)
class InvoiceLineView:
    line: ErpLine
    price: LinePrice


@dataclass(frozen=True, slots=True)
class InvoiceView:
    document: ErpDocument
    title: str
    number: str
    is_proforma: bool
    lines: tuple[InvoiceLineView, ...]
    adjustments: tuple[RoundingAdjustment, ...]
    seller_mentions: str | None
    operation_category: str
    vat_on_debits_mention: str | None


def invoice_view(document: ErpDocument, *, seller_mentions: str | None = None) -> InvoiceView:
    """What the PDF prints. A document without its final number (`invoice_number`) is a proforma."""
    if document.kind is DocumentKind.ORDER:
        raise ValueError(f"{document.reference}: an order is not invoiced")
    proforma = document.invoice_number is None
    if document.kind is DocumentKind.CREDIT_NOTE:
        title = "Avoir proforma" if proforma else "Avoir"
    else:
        title = "Facture proforma" if proforma else "Facture"
    return InvoiceView(
        document=document,
        title=title,
        number=document.number,
        is_proforma=proforma,
        lines=tuple(InvoiceLineView(line=line, price=line_price(line)) for line in document.lines),
        adjustments=rounding_adjustments(document),
        seller_mentions=seller_mentions,
        operation_category=OPERATION_CATEGORIES[document.operation_category],
        vat_on_debits_mention=VAT_ON_DEBITS if document.vat_on_debits else None,
    )


def invoice_html(view: InvoiceView) -> str:
    return without_indentation(
        environment.get_template(TEMPLATE).render(view=view, doc=view.document, lang="fr")
    )


def render_invoice_pdf(view: InvoiceView) -> bytes:
    """The PDF/A-3 of the document; a final invoice or credit note embeds its Factur-X XML."""
    pdf = render_pdf(
        invoice_html(view),
        stylesheets=(STYLESHEET,),
        base_stylesheet=BASE_STYLESHEET,
        pdf_variant=PDF_VARIANT,
        xml=True,
    )
    if view.is_proforma:
        return pdf
    embedded: bytes = facturx.generate_from_binary(
        pdf,
        cii_bytes(view.document),
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        pdf_metadata={
            "author": view.document.seller.name,
            "keywords": "Factur-X, EN 16931",
            "title": f"{view.title} {view.number}",
            "subject": f"{view.title} {view.number} · {view.document.buyer.name}",
        },
        lang="fr-FR",
    )
    return embedded
