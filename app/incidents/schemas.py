"""Shapes of incidents as the API reads and writes them."""

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

IncidentState = Literal["open", "ended", "replayed"]


class IncidentCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=500)
    started_at: AwareDatetime | None = Field(
        default=None, description="when the ERP became unavailable; may be in the past (default: now)"
    )


class IncidentEnd(BaseModel):
    ended_at: AwareDatetime | None = Field(default=None, description="when the ERP came back (default: now)")


class IncidentRead(BaseModel):
    id: int
    reason: str
    state: IncidentState
    started_at: datetime
    ended_at: datetime | None
    declared_at: datetime
    declared_by: str
    ended_by: str | None
    replayed_at: datetime | None = Field(description="when everything captured in the window reached the ERP")


class IncidentPublicRead(BaseModel):
    """An incident as partners, suppliers and anyone else see it: when, not why nor who."""

    id: int
    state: IncidentState
    started_at: datetime
    ended_at: datetime | None


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    next_cursor: str | None
