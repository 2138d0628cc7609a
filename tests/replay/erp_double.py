"""The ERP edge for engine tests, in memory: what a real ERP does with replayed documents (each key
stored once and numbered, a repeated key answered "already have it", dependencies checked) and the
ways it misbehaves, chosen per document and attempt."""

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from app.config import Settings
from app.replay.connectors.base import Acknowledged, Failed, Retryable, SendOutcome
from app.replay.documents import DocumentKind, ErpDocument
from app.replay.models import ReplayRun

# Given a document and which attempt this is for its key (1, 2, ...): None to behave, or
# "error" (nothing stored, retry), "drop" (stored, answer lost), "refuse" (4xx: a human must look).
Faults = Callable[[ErpDocument, int], str | None]
PREFIX = {
    DocumentKind.ORDER: "ERP-ORD-",
    DocumentKind.INVOICE: "ERP-INV-",
    DocumentKind.CREDIT_NOTE: "ERP-CN-",
}


@dataclass
class Held:
    kind: str
    reference: str
    number: str
    body: bytes


@dataclass
class ErpDouble:
    faults: Faults | None = None
    held: dict[str, Held] = field(default_factory=dict)
    arrivals: list[str] = field(default_factory=list)  # keys, in the order the ERP stored them
    sends: Counter[str] = field(default_factory=Counter)
    bodies: dict[str, list[bytes]] = field(default_factory=dict)
    on_send: Callable[[ErpDocument], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connector(self, _run: ReplayRun, _settings: Settings) -> "ErpDouble":
        return self

    def send(self, document: ErpDocument) -> SendOutcome:
        if self.on_send is not None:
            self.on_send(document)
        key, body = document.idempotency_key, document.to_json()
        with self._lock:
            self.sends[key] += 1
            self.bodies.setdefault(key, []).append(body)
            fault = self.faults(document, self.sends[key]) if self.faults else None
            if fault == "error":
                return Retryable("ERP answered 500: injected")
            if fault == "refuse":
                return Failed("ERP refused the document (422): injected", 422)
            known = self.held.get(key)
            if known is not None:
                if known.body != body:
                    return Failed(f"conflict: key {key} was used for another document", 409)
                return Acknowledged(known.number, already_received=True)
            missing = self._missing_dependency(document)
            if missing:
                return Failed(f"ERP refused the document (422): unknown {missing}", 422)
            number = (
                f"{PREFIX[document.kind]}{sum(h.kind == document.kind for h in self.held.values()) + 1:06d}"
            )
            self.held[key] = Held(document.kind, document.reference, number, body)
            self.arrivals.append(key)
            if fault == "drop":
                return Retryable("connection to the ERP failed (RemoteProtocolError)")
            return Acknowledged(number)

    def close(self) -> None:
        pass

    def key_by_hand(self, kind: DocumentKind, reference: str, number: str) -> None:
        """A person entered a document into the ERP by hand: it holds it, under no replay key."""
        with self._lock:
            self.held[f"by-hand:{number}"] = Held(kind, reference, number, b"")

    def _missing_dependency(self, document: ErpDocument) -> str | None:
        if document.kind is DocumentKind.INVOICE:
            orders = {h.reference for h in self.held.values() if h.kind == DocumentKind.ORDER}
            return next((n for n in document.references.order_numbers if n not in orders), None)
        if document.kind is DocumentKind.CREDIT_NOTE:
            corrected = document.references.corrected_invoice
            assert corrected is not None
            numbers = {h.number for h in self.held.values() if h.kind == DocumentKind.INVOICE}
            return None if corrected.erp_number in numbers else f"invoice {corrected.number}"
        return None

    def stored(self) -> list[Held]:
        return [self.held[key] for key in self.arrivals]
