"""An ERP outage, declared by an admin, possibly after the fact (the ERP fell over at 03:00, the
incident was declared at 08:00 with `started_at` 03:00).

Every document belongs to the incident whose window `[started_at, ended_at)` contains its creation
time. Windows never overlap, and at most one incident is open (`is_open`, unique while true: the
database refuses a second open incident, whatever the race).
"""

from datetime import datetime

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, Id, UtcDateTime


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        Index(
            "uq_incident_is_open",
            "is_open",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    is_open: Mapped[bool] = mapped_column(Boolean)
    declared_at: Mapped[datetime] = mapped_column(UtcDateTime())
    declared_by: Mapped[str] = mapped_column(String(64))
    ended_by: Mapped[str | None] = mapped_column(String(64))
    # Set by the replay once everything captured in the window is in the ERP: the end of recovery.
    replayed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
