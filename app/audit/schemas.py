"""The audit trail as the API and the exports give it."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_serializer


class AuditRecordRead(BaseModel):
    id: int = Field(description="its place in the chain: gapless, in the order records were committed")
    recorded_at: datetime
    actor_kind: str = Field(description="user, partner, system, command_line or anonymous")
    actor_id: int | None = Field(description="the user's or partner's id")
    actor_name: str
    action: str
    subject_kind: str
    subject_ref: str
    details: dict[str, Any]
    previous_hash: str
    hash: str = Field(description="sha256(previous_hash + canonical record): see README.md, Audit trail")

    @field_serializer("recorded_at")
    def _as_hashed(self, moment: datetime) -> str:
        """In UTC with microseconds, exactly as it enters the hash."""
        return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Head(BaseModel):
    last_id: int
    last_hash: str
