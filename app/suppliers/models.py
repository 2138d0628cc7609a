"""Who receives a supplier's report by email, and the outbox of those emails."""

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class SupplierContact(Base):
    __tablename__ = "supplier_contact"
    __table_args__ = (UniqueConstraint("supplier_code", "email"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(32), index=True)
    email: Mapped[str] = mapped_column(String(254))


class SupplierReportMail(Base):
    """One report to one contact for one period (`period_key`: the incident and the business day):
    the unique constraint is what sends it once, even when a process restarts or two run."""

    __tablename__ = "supplier_report_mail"
    __table_args__ = (UniqueConstraint("supplier_code", "period_key", "recipient"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    supplier_code: Mapped[str] = mapped_column(String(32))
    period_key: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attachment_name: Mapped[str] = mapped_column(String(100))
    attachment: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending, sent, given_up
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
