"""Replay over HTTP: one signed JSON document per POST to the ERP, over a pool of kept-alive connections.

Every request carries the document's idempotency key, so a re-send after a lost answer is safe; how
each ERP answer maps to an outcome is in `interpret_answer`. One `HttpConnector` is shared by all
the engine's threads: its httpx connection pool is thread-safe and keeps up to `max_connections`
connections open, which is what makes more than a thousand documents a second possible (no TCP or
TLS handshake per document). Requests go straight to the pool (`httpx.HTTPTransport`) rather than
through `httpx.Client`: the client's cookie jar, redirect and URL-merging layers, of no use here,
cost about a third of the CPU spent per document, CPU the engine in the same process wants.
"""

import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import MappingProxyType

import httpx
import orjson

from app.replay.connectors.base import Acknowledged, Failed, Retryable, SendOutcome
from app.replay.connectors.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from app.replay.documents import DocumentKind, ErpDocument

DEFAULT_PATHS: Mapping[DocumentKind, str] = MappingProxyType(
    {
        DocumentKind.ORDER: "/orders",
        DocumentKind.INVOICE: "/invoices",
        DocumentKind.CREDIT_NOTE: "/credit-notes",
    }
)
# Statuses below 500 that still mean "try again later" rather than "this document is wrong".
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class HttpConnectorConfig:
    """Filled by the caller from settings: `base_url` from CARNET_ERP_URL, `secret` from CARNET_ERP_SECRET.

    `read_timeout` bounds the wait for the ERP's answer; past it the send is retryable, since the
    ERP may have stored the document and the idempotency key makes the re-send harmless.
    """

    base_url: str
    secret: str = field(repr=False)
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    max_connections: int = 16
    paths: Mapping[DocumentKind, str] = field(default_factory=lambda: DEFAULT_PATHS)


class HttpConnector:
    def __init__(
        self,
        config: HttpConnectorConfig,
        *,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.connect_timeout + config.read_timeout,
        ).as_dict()
        base = config.base_url.rstrip("/")
        self._urls = {kind: httpx.URL(base + path) for kind, path in config.paths.items()}
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=30.0,
        )
        # httpx writes the headers and the body separately: with Nagle on, the body may wait for the
        # ERP's delayed ACK of the headers (up to 40 ms). Loopback acknowledges at once, a network may not.
        no_delay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        self._transport = transport or httpx.HTTPTransport(limits=limits, socket_options=no_delay)

    def send(self, document: ErpDocument) -> SendOutcome:
        body = document.to_json()
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: document.idempotency_key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._config.secret, timestamp, body),
        }
        request = httpx.Request(
            "POST",
            self._urls[document.kind],
            content=body,
            headers=headers,
            extensions={"timeout": self._timeout},
        )
        try:
            response = self._transport.handle_request(request)
            try:
                answer = response.read()
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            return Retryable(f"no answer from the ERP in time ({type(exc).__name__})")
        except httpx.UnsupportedProtocol as exc:
            return Failed(f"the ERP URL is not http(s): {exc}")
        except httpx.TransportError as exc:
            # Includes a connection dropped after the ERP stored the document: the re-send gets a 409.
            return Retryable(f"connection to the ERP failed ({type(exc).__name__}: {exc})")
        return interpret_answer(response.status_code, response.headers, answer, now=self._clock())

    def close(self) -> None:
        self._transport.close()


def interpret_answer(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> SendOutcome:
    """The outcome of one ERP answer: 2xx stored, 409 stored earlier, other 4xx the document is refused
    (a human must read why), 408/425/429 and 5xx try again later."""
    if 200 <= status < 300:
        reference = _erp_reference(body)
        if reference is None:
            return Failed("the ERP accepted the document but its answer names no reference", status)
        return Acknowledged(reference)
    if status == 409:
        reference = _erp_reference(body)
        if reference is None:
            # A conflict without a reference is not "already have it": e.g. the key reused for another body.
            return Failed(f"conflict: {_problem_text(body)}", status)
        return Acknowledged(reference, already_received=True)
    if status in RETRYABLE_CLIENT_STATUSES or status >= 500:
        return Retryable(f"ERP answered {status}: {_problem_text(body)}", _retry_after(headers, now=now))
    return Failed(f"ERP refused the document ({status}): {_problem_text(body)}", status)


def _json_object(body: bytes) -> dict[str, object] | None:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _erp_reference(body: bytes) -> str | None:
    data = _json_object(body)
    reference = data.get("reference") if data else None
    return reference if isinstance(reference, str) and reference else None


def _problem_text(body: bytes) -> str:
    """An RFC 9457 problem as `title: detail`, else the raw answer, cut short for the report."""
    data = _json_object(body)
    if data and (data.get("title") or data.get("detail")):
        text = ": ".join(str(data[key]) for key in ("title", "detail") if data.get(key))
    else:
        text = body.decode("utf-8", errors="replace").strip() or "(empty answer)"
    return text[:MAX_REASON_CHARS]


def _retry_after(headers: Mapping[str, str], *, now: float) -> float | None:
    value = headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)
