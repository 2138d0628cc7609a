"""Status links: the customer's way to see an order without signing in."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class OrderStatusLink(Base):
    """A bearer link to one order's status page. Revoking it (or issuing a new one) ends it for good;
    revoked links are kept so that who gave out which link stays known."""

    __tablename__ = "order_status_link"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("sale_order.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
