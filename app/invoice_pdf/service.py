"""Which document a deferred invoice or credit note prints as.

Once the replay has frozen it, the document is exactly the one sent (its outbox payload, with Carnet's
final number under Carnet numbering). Before that, a deferred invoice prints as a proforma built the
way the replay will build it. A credit note must name the invoice it corrects, which is settled when
the replay freezes it: before that it has no PDF.
"""

from sqlalchemy.orm import Session

from app.auth.service import Actor
from app.config import get_settings
from app.errors import Conflict, FieldError
from app.invoice_pdf import repository
from app.invoice_pdf.rendering import InvoiceView, invoice_view
from app.invoicing.models import DocumentKind
from app.invoicing.service import FINANCE_ROLES, get_deferred_document
from app.replay import building
from app.replay.documents import ErpDocument
from app.replay.sources import load_documents


def deferred_document_view(session: Session, *, key: str, actor: Actor) -> InvoiceView:
    actor.require(*FINANCE_ROLES)
    settings = get_settings()
    deferred = get_deferred_document(session, key=key, actor=actor)
    payload = repository.frozen_payload(session, deferred.id)
    if payload is not None:
        document = ErpDocument.from_json(payload)
    elif deferred.kind == DocumentKind.INVOICE:
        source = load_documents(session, [deferred.id])[deferred.id]
        seller = building.seller_party(settings)
        document = building.invoice_document(source, invoice_number=None, seller=seller, settings=settings)
    else:
        raise Conflict(
            f"credit note {deferred.reference} prints once the replay has settled the invoice it corrects",
            errors=[FieldError(("path", "key"), "not replayed yet")],
            slug="credit-note-not-replayed",
        )
    # The delivery date is the note's, whenever the invoice is issued.
    note = deferred.delivery_note
    delivery_date = note.issue_date if note is not None else None
    return invoice_view(
        document,
        delivery_date=delivery_date,
        seller_mentions=settings.seller_legal_mentions,
        vat_on_debits=settings.seller_vat_on_debits,
    )
