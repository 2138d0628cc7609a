"""Every mapped class, imported once so that Alembic and the tests see the whole schema."""

from app.audit.models import AuditChainHead, AuditRecord
from app.auth.models import Partner, PartnerCustomer, ThrottleCounter, User
from app.catalog.models import Customer, Product, ShippingAddress, SnapshotImport, StockMovement
from app.db import Base
from app.delivery.models import (
    DeliveryNote,
    DeliveryNoteLine,
    GoodsReturn,
    GoodsReturnLine,
    StockReceipt,
    StockReceiptLine,
)
from app.edi.models import (
    EdiAcknowledgment,
    EdiEnvelopeClaim,
    EdiInterchange,
    EdiOrder,
    EdiPartnerProfile,
    PartnerItem,
    PartnerParty,
)
from app.email.models import InboxAttachment, InboxMessage, InboxMessageOrder
from app.idempotency.models import IdempotencyRecord
from app.incidents.models import Incident
from app.invoicing.models import DeferredDocument, DeferredDocumentLine
from app.notices.models import CustomerNotice
from app.numbering import DocumentCounter
from app.orders.models import SaleOrder, SaleOrderLine, UnresolvedOrderLine
from app.replay.models import ReplayDependency, ReplayItem, ReplayRecapMember, ReplayRun
from app.suppliers.models import SupplierContact, SupplierReportMail
from app.tracking.models import OrderStatusLink

__all__ = [
    "AuditChainHead",
    "AuditRecord",
    "Base",
    "Customer",
    "CustomerNotice",
    "DeferredDocument",
    "DeferredDocumentLine",
    "DeliveryNote",
    "DeliveryNoteLine",
    "DocumentCounter",
    "EdiAcknowledgment",
    "EdiEnvelopeClaim",
    "EdiInterchange",
    "EdiOrder",
    "EdiPartnerProfile",
    "GoodsReturn",
    "GoodsReturnLine",
    "IdempotencyRecord",
    "InboxAttachment",
    "InboxMessage",
    "InboxMessageOrder",
    "Incident",
    "OrderStatusLink",
    "Partner",
    "PartnerCustomer",
    "PartnerItem",
    "PartnerParty",
    "Product",
    "ReplayDependency",
    "ReplayItem",
    "ReplayRecapMember",
    "ReplayRun",
    "SaleOrder",
    "SaleOrderLine",
    "ShippingAddress",
    "SnapshotImport",
    "StockMovement",
    "StockReceipt",
    "StockReceiptLine",
    "SupplierContact",
    "SupplierReportMail",
    "ThrottleCounter",
    "UnresolvedOrderLine",
    "User",
]
