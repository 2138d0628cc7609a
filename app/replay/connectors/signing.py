"""Request signing between Carnet and the ERP (HMAC-SHA256, as webhook providers do).

Signed string: `<timestamp> + "." + <body bytes>`, where the timestamp is the `X-Carnet-Timestamp`
header (Unix seconds, decimal). The signature header is `X-Carnet-Signature: sha256=<hex digest>`
keyed with CARNET_ERP_SECRET. Signing the timestamp lets the receiver refuse a captured request
replayed later (outside `tolerance_seconds`); signing the exact bytes means the receiver must
verify before parsing. A retry is signed afresh with a new timestamp.
"""

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Carnet-Timestamp"
SIGNATURE_HEADER = "X-Carnet-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Carnet-Signature` header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify_signature(
    secret: str,
    *,
    timestamp: str | None,
    signature_header: str | None,
    body: bytes,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> str | None:
    """None when the request is authentic and fresh, else why not (for the 401 answer)."""
    if not timestamp or not signature_header:
        return "missing signature or timestamp"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "malformed timestamp"
    if abs(now - sent_at) > tolerance_seconds:
        return "timestamp outside the accepted window"
    if not hmac.compare_digest(signature(secret, timestamp, body), signature_header):
        return "bad signature"
    return None
