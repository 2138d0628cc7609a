from app.delivery.schemas import ReturnRead
from app.invoicing.schemas import DeferredDocumentRead


class ReturnWithCreditNoteRead(ReturnRead):
    credit_note: DeferredDocumentRead
