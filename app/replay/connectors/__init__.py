"""Transports from the replay engine to the ERP: the `Connector` protocol, its outcomes, and the
HTTP and files connectors."""

from app.replay.connectors.base import (
    Acknowledged,
    Connector,
    Failed,
    Retryable,
    SendOutcome,
    backoff_delay,
)

__all__ = ["Acknowledged", "Connector", "Failed", "Retryable", "SendOutcome", "backoff_delay"]
