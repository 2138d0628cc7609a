"""What every ERP connector promises the replay engine, and how the engine waits between tries.

The engine sends one document at a time per call (from several threads at once), records the
outcome against the outbox item and decides what next:
- `Acknowledged`: the ERP holds the document (now or from an earlier try); done, keep its reference;
- `Failed`: the ERP refused it for a reason retrying cannot fix; a human must look;
- `Retryable`: nothing known to be wrong with the document; try again later, no sooner than
  `retry_after` when the ERP said so. Re-sending is safe because the idempotency key makes the
  ERP answer "already have it" for a document it stored before the answer was lost.
"""

import random
from dataclasses import dataclass
from typing import Protocol

from app.replay.documents import ErpDocument


@dataclass(frozen=True, slots=True)
class Acknowledged:
    erp_reference: str
    already_received: bool = False


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Retryable:
    reason: str
    retry_after: float | None = None


SendOutcome = Acknowledged | Failed | Retryable


class Connector(Protocol):
    """A transport to the ERP. `send` must be safe to call from several threads at once and must not
    raise for anything the ERP or the network does: every such event is an outcome."""

    def send(self, document: ErpDocument) -> SendOutcome: ...

    def close(self) -> None: ...


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 60.0, rng: random.Random) -> float:
    """Seconds to wait before try `attempt + 1`, after `attempt` failed tries (1 after the first).

    Exponential backoff with full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1))], so that
    many items failing together (the ERP restarting) do not come back in lock-step. When the ERP sent
    Retry-After, wait `max(retry_after, backoff_delay(...))`.
    """
    if attempt < 1:
        raise ValueError("attempt counts failed tries and starts at 1")
    # Cap the exponent before computing the power: attempt 2000 must not overflow a float.
    ceiling = cap if attempt > 64 else min(cap, base * 2 ** (attempt - 1))
    return rng.uniform(0, ceiling)
