"""Every mapped class, imported once so that Alembic and the tests see the whole schema."""

from app.auth.models import Partner, PartnerCustomer, User
from app.catalog.models import Customer, Product, ShippingAddress, SnapshotImport
from app.db import Base
from app.delivery.models import (
    DeliveryNote,
    DeliveryNoteLine,
    GoodsReturn,
    GoodsReturnLine,
    StockReceipt,
    StockReceiptLine,
)
from app.edi.models import EdiAcknowledgment, EdiInterchange, PartnerItem, PartnerParty
from app.invoicing.models import DeferredDocument, DeferredDocumentLine
from app.numbering import DocumentCounter
from app.orders.models import IdempotencyRecord, SaleOrder, SaleOrderLine

__all__ = [
    "Base",
    "Customer",
    "DeferredDocument",
    "DeferredDocumentLine",
    "DeliveryNote",
    "DeliveryNoteLine",
    "DocumentCounter",
    "EdiAcknowledgment",
    "EdiInterchange",
    "GoodsReturn",
    "GoodsReturnLine",
    "IdempotencyRecord",
    "Partner",
    "PartnerCustomer",
    "PartnerItem",
    "PartnerParty",
    "Product",
    "SaleOrder",
    "SaleOrderLine",
    "ShippingAddress",
    "SnapshotImport",
    "StockReceipt",
    "StockReceiptLine",
    "User",
]
