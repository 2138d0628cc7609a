"""Which document a deferred invoice or credit note prints as.

Once the replay has frozen it, the document is exactly the one sent (its outbox payload, with Carnet's
final number under Carnet numbering; a deferred invoice grouped into a recap prints as the recap).
Before that, it prints as a proforma built the way the replay will build it: an invoice as it stands,
a credit note naming the invoices it corrects as they are known today (their final number once they
have one, else their deferred reference) or the ERP invoice its return named.
"""

from datetime import date

import orjson
from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.config import get_settings
from app.errors import Conflict, FieldError
from app.invoice_pdf import repository
from app.invoice_pdf.rendering import InvoiceView, invoice_view
from app.invoicing.models import DeferredDocument, DocumentKind
from app.invoicing.service import FINANCE_ROLES, get_deferred_document
from app.replay import building
from app.replay.documents import CorrectedInvoice, ErpDocument
from app.replay.sources import load_documents


def deferred_document_view(session: Session, *, key: str, actor: Actor) -> InvoiceView:
    actor.require(*FINANCE_ROLES)
    settings = get_settings()
    deferred = get_deferred_document(session, key=key, actor=actor)
    payload = repository.frozen_payload(session, deferred.id)
    if payload is not None:
        document = ErpDocument.from_json(payload)
    else:
        source = load_documents(session, [deferred.id])[deferred.id]
        seller = building.seller_party(settings)
        if deferred.kind == DocumentKind.INVOICE:
            document = building.invoice_document(
                source, invoice_number=None, seller=seller, settings=settings
            )
        else:
            document = building.credit_note_document(
                source,
                corrected=_corrected_invoices(session, deferred),
                credit_note_number=None,
                seller=seller,
                settings=settings,
            )
    return invoice_view(document, seller_mentions=settings.seller_legal_mentions)


def _corrected_invoices(session: Session, credit_note: DeferredDocument) -> tuple[CorrectedInvoice, ...]:
    corrected: dict[int, CorrectedInvoice] = {}
    for row in repository.corrected_invoices(session, credit_note.id):
        if row.id in corrected:
            continue
        issued: date = (
            date.fromisoformat(orjson.loads(row.payload)["issue_date"]) if row.payload else row.issue_date
        )
        corrected[row.id] = CorrectedInvoice(
            reference=row.item_reference or row.reference,
            erp_number=row.erp_reference,
            invoice_number=row.final_number,
            issue_date=issued,
        )
    found = tuple(dict.fromkeys(corrected.values()))  # the invoices of one recap are one invoice
    if credit_note.corrected_erp_invoice:
        erp_invoice = credit_note.corrected_erp_invoice
        found += (CorrectedInvoice(reference=erp_invoice, erp_number=erp_invoice),)
    if not found:
        raise Conflict(
            f"credit note {credit_note.reference} names no invoice to correct: a person must key it",
            errors=[FieldError(("path", "key"), "no invoice to correct")],
            slug="credit-note-without-invoice",
        )
    return found
