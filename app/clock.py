"""The one clock of the application, so that tests can fix time without patching datetime."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
