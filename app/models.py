"""Every mapped class, imported once so that Alembic and the tests see the whole schema."""

from app.auth.models import User
from app.catalog.models import Customer, Product, ShippingAddress, SnapshotImport
from app.db import Base
from app.numbering import DocumentCounter
from app.orders.models import IdempotencyRecord, SaleOrder, SaleOrderLine

__all__ = [
    "Base",
    "Customer",
    "DocumentCounter",
    "IdempotencyRecord",
    "Product",
    "SaleOrder",
    "SaleOrderLine",
    "ShippingAddress",
    "SnapshotImport",
    "User",
]
