"""Finance's view of the deferred invoices and credit notes (issued by app/fulfilment)."""

from fastapi import APIRouter

from app.api import ReadSession
from app.auth.dependencies import CurrentActor
from app.invoicing import service
from app.invoicing.models import DocumentKind, DocumentStatus
from app.invoicing.schemas import DeferredDocumentPage, DeferredDocumentRead
from app.pagination import Cursor, Limit, decode_cursor

router = APIRouter(tags=["fulfilment and deferred documents"])


@router.get("/deferred-documents")
def list_deferred_documents(
    session: ReadSession,
    actor: CurrentActor,
    kind: DocumentKind | None = None,
    status: DocumentStatus | None = None,
    customer_code: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> DeferredDocumentPage:
    return service.list_deferred_documents(
        session,
        actor=actor,
        kind=kind,
        status=status,
        customer_code=customer_code,
        before_id=decode_cursor(cursor),
        limit=limit,
    )


@router.get("/deferred-documents/{key}")
def get_deferred_document(key: str, session: ReadSession, actor: CurrentActor) -> DeferredDocumentRead:
    """A deferred invoice or credit note by its id or its reference (`DI-2026-000001`)."""
    return service.deferred_document_read(service.get_deferred_document(session, key=key, actor=actor))
