"""Customer-readable invoices and credit notes (finance)."""

from typing import Any

from fastapi import APIRouter, Response

from app.api import ReadSession
from app.auth.dependencies import CurrentActor
from app.downloads import file_response
from app.invoice_pdf import rendering, service

router = APIRouter(tags=["invoicing"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "PDF/A-3 with its Factur-X XML"},
    404: {},
    409: {},
}


@router.get("/deferred-documents/{key}/pdf", response_class=Response, responses=PDF_RESPONSE)
def deferred_document_pdf(key: str, session: ReadSession, actor: CurrentActor) -> Response:
    """The invoice or credit note as the customer reads it: a PDF/A-3 with the CII XML embedded as
    Factur-X (EN 16931) once it has its final number; before that, an invoice prints as a proforma."""
    view = service.deferred_document_view(session, key=key, actor=actor)
    return file_response(
        rendering.render_invoice_pdf(view),
        filename=f"{view.number}.pdf",
        media_type="application/pdf",
        disposition="inline",
    )
