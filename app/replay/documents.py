"""What replay sends to the ERP: one neutral, frozen document per order, invoice or credit note.

The outbox stores a document as `to_json()` bytes when it is enqueued and rebuilds it with
`from_json()`, so what is replayed is exactly what was frozen at issue, whatever happens to the
catalogue or the customer afterwards. Every connector (HTTP, files, XML formats) reads this model only.

Amounts are `Decimal`, rounded to the cent by app/pricing.py before they get here. Credit notes
carry positive amounts: the kind says which way the money goes, as in UBL and CII.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson

from app.money import ZERO, money_str, price_str, quantity_out, rate_str
from app.pricing import Totals, stored_totals


class DocumentKind(StrEnum):
    ORDER = "order"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class OperationCategory(StrEnum):
    """What an invoice bills, a mention of the 2026 reform and the CTC-FR process type (BT-23):
    delivered goods (`B1`), services (`S1`) or both (`M1`)."""

    GOODS = "goods"
    SERVICES = "services"
    MIXED = "mixed"


class NoteSubject(StrEnum):
    """UNTDID 4451 subjects of the notes French invoices must carry (BT-21, CTC-FR rule BR-FR-05)."""

    RECOVERY_INDEMNITY = "PMT"
    LATE_PENALTIES = "PMD"
    EARLY_PAYMENT = "AAB"


@dataclass(frozen=True, slots=True)
class PostalAddress:
    lines: tuple[str, ...]
    postal_code: str
    city: str
    country_code: str = "FR"


@dataclass(frozen=True, slots=True)
class ErpParty:
    """Seller or buyer. `legal_id` is the SIREN/SIRET; `gln` the GS1 location number used by EDI partners."""

    code: str
    name: str
    address: PostalAddress
    vat_number: str | None = None
    gln: str | None = None
    legal_id: str | None = None

    @property
    def siren(self) -> str | None:
        """The SIREN (BT-30, BT-47): `legal_id` when a SIREN, its first nine digits when a SIRET."""
        digits = _digits(self.legal_id)
        return digits[:9] if len(digits) in (9, 14) else None

    @property
    def siret(self) -> str | None:
        """The SIRET of the establishment, when `legal_id` is one (BT-29, scheme 0009)."""
        digits = _digits(self.legal_id)
        return digits if len(digits) == 14 else None


@dataclass(frozen=True, slots=True)
class DocumentNote:
    subject: NoteSubject
    text: str


@dataclass(frozen=True, slots=True)
class Period:
    """Dates from `start` to `end`, both included."""

    start: date
    end: date


@dataclass(frozen=True, slots=True)
class CorrectedInvoice:
    """The invoice a credit note corrects, by every name it may be known under."""

    reference: str
    erp_number: str | None = None
    invoice_number: str | None = None
    issue_date: date | None = None

    @property
    def number(self) -> str:
        """The number the customer knows the invoice by: Carnet's final number, else the ERP's."""
        return self.invoice_number or self.erp_number or self.reference


@dataclass(frozen=True, slots=True)
class DocumentReferences:
    """Links to other documents. A recap invoice covers several delivery notes, possibly of several orders."""

    order_numbers: tuple[str, ...] = ()
    customer_reference: str | None = None
    delivery_note_numbers: tuple[str, ...] = ()
    corrected_invoice: CorrectedInvoice | None = None
    # Goods of one return that went back against several invoices: the others it corrects.
    further_corrected_invoices: tuple[CorrectedInvoice, ...] = ()

    @property
    def corrected_invoices(self) -> tuple[CorrectedInvoice, ...]:
        first = (self.corrected_invoice,) if self.corrected_invoice is not None else ()
        return first + self.further_corrected_invoices


@dataclass(frozen=True, slots=True)
class ErpLine:
    """One line as priced by app/pricing.py. `discount_percent` is the effective discount: line and
    customer discounts combined in cascade. `net_amount` is the line's amount without VAT."""

    line_no: int
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    vat_rate: Decimal
    net_amount: Decimal
    gtin: str | None = None
    price_includes_vat: bool = False
    discount_percent: Decimal = ZERO
    unit_code: str = "C62"


@dataclass(frozen=True, slots=True)
class ErpDocument:
    kind: DocumentKind
    idempotency_key: str
    reference: str
    issue_date: date
    seller: ErpParty
    buyer: ErpParty
    lines: tuple[ErpLine, ...]
    totals: Totals
    invoice_number: str | None = None
    currency: str = "EUR"
    delivery_address: PostalAddress | None = None
    references: DocumentReferences = field(default_factory=DocumentReferences)
    due_date: date | None = None
    payment_terms: str | None = None
    # When the goods were delivered: the delivery note's date (BT-72), or for a recap invoice over
    # notes of several days the first and last of them (the invoicing period, BG-14).
    delivery_date: date | None = None
    delivery_period: Period | None = None
    operation_category: OperationCategory = OperationCategory.GOODS
    # The seller opted to pay VAT on debits (BT-8, and a mention on the invoice).
    vat_on_debits: bool = False
    notes: tuple[DocumentNote, ...] = ()

    def __post_init__(self) -> None:
        # An inconsistent document would be refused by the ERP or produce an invalid invoice XML:
        # catch the programming error where the document is built, not during the replay.
        totals = self.totals
        if totals.net + totals.vat != totals.gross:
            raise ValueError(
                f"{self.reference}: gross {totals.gross} is not net {totals.net} + vat {totals.vat}"
            )
        if sum((v.base for v in totals.vat_breakdown), ZERO) != totals.net:
            raise ValueError(f"{self.reference}: the VAT breakdown bases do not add up to the net total")
        if sum((v.amount for v in totals.vat_breakdown), ZERO) != totals.vat:
            raise ValueError(f"{self.reference}: the VAT breakdown amounts do not add up to the VAT total")
        if self.kind is DocumentKind.CREDIT_NOTE and self.references.corrected_invoice is None:
            raise ValueError(f"{self.reference}: a credit note must name the invoice it corrects")

    @property
    def number(self) -> str:
        """The document's number on paper: the final invoice number when Carnet has one."""
        return self.invoice_number or self.reference

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (API conventions: money as 2-decimal strings, rates as short decimal strings)."""
        refs = self.references
        corrected = refs.corrected_invoice
        return {
            "kind": self.kind.value,
            "idempotency_key": self.idempotency_key,
            "reference": self.reference,
            "invoice_number": self.invoice_number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "payment_terms": self.payment_terms,
            "delivery_date": self.delivery_date.isoformat() if self.delivery_date else None,
            "delivery_period": None
            if self.delivery_period is None
            else {
                "start": self.delivery_period.start.isoformat(),
                "end": self.delivery_period.end.isoformat(),
            },
            "operation_category": self.operation_category.value,
            "vat_on_debits": self.vat_on_debits,
            "notes": [{"subject": note.subject.value, "text": note.text} for note in self.notes],
            "currency": self.currency,
            "seller": _party_dict(self.seller),
            "buyer": _party_dict(self.buyer),
            "delivery_address": _address_dict(self.delivery_address) if self.delivery_address else None,
            "references": {
                "order_numbers": list(refs.order_numbers),
                "customer_reference": refs.customer_reference,
                "delivery_note_numbers": list(refs.delivery_note_numbers),
                "corrected_invoice": None if corrected is None else _corrected_dict(corrected),
                **(
                    {
                        "further_corrected_invoices": [
                            _corrected_dict(c) for c in refs.further_corrected_invoices
                        ]
                    }
                    if refs.further_corrected_invoices
                    else {}
                ),
            },
            "lines": [_line_dict(line) for line in self.lines],
            "totals": {
                "net": money_str(self.totals.net),
                "vat": money_str(self.totals.vat),
                "gross": money_str(self.totals.gross),
                "vat_breakdown": [
                    {"rate": rate_str(v.rate), "base": money_str(v.base), "amount": money_str(v.amount)}
                    for v in self.totals.vat_breakdown
                ],
            },
        }

    def to_json(self) -> bytes:
        """The exact bytes the HTTP connector sends and signs; deterministic for a given document."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> ErpDocument:
        return cls.from_dict(orjson.loads(data))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ErpDocument:
        refs = data["references"]
        corrected = refs.get("corrected_invoice")
        totals = data["totals"]
        return cls(
            kind=DocumentKind(data["kind"]),
            idempotency_key=data["idempotency_key"],
            reference=data["reference"],
            invoice_number=data.get("invoice_number"),
            issue_date=date.fromisoformat(data["issue_date"]),
            due_date=_date_or_none(data.get("due_date")),
            payment_terms=data.get("payment_terms"),
            # Documents frozen before these keys existed read as they were sent.
            delivery_date=_date_or_none(data.get("delivery_date")),
            delivery_period=_period_or_none(data.get("delivery_period")),
            operation_category=OperationCategory(data.get("operation_category", OperationCategory.GOODS)),
            vat_on_debits=bool(data.get("vat_on_debits", False)),
            notes=tuple(
                DocumentNote(NoteSubject(note["subject"]), note["text"]) for note in data.get("notes", ())
            ),
            currency=data["currency"],
            seller=_party_from(data["seller"]),
            buyer=_party_from(data["buyer"]),
            delivery_address=_address_from(data["delivery_address"])
            if data.get("delivery_address")
            else None,
            references=DocumentReferences(
                order_numbers=tuple(refs.get("order_numbers", ())),
                customer_reference=refs.get("customer_reference"),
                delivery_note_numbers=tuple(refs.get("delivery_note_numbers", ())),
                corrected_invoice=None if corrected is None else _corrected_from(corrected),
                further_corrected_invoices=tuple(
                    _corrected_from(c) for c in refs.get("further_corrected_invoices", ())
                ),
            ),
            lines=tuple(_line_from(line) for line in data["lines"]),
            totals=stored_totals(
                Decimal(totals["net"]),
                Decimal(totals["vat"]),
                Decimal(totals["gross"]),
                totals["vat_breakdown"],
            ),
        )


def _corrected_dict(corrected: CorrectedInvoice) -> dict[str, Any]:
    return {
        "reference": corrected.reference,
        "erp_number": corrected.erp_number,
        "invoice_number": corrected.invoice_number,
        "issue_date": corrected.issue_date.isoformat() if corrected.issue_date else None,
    }


def _corrected_from(data: dict[str, Any]) -> CorrectedInvoice:
    return CorrectedInvoice(
        reference=data["reference"],
        erp_number=data.get("erp_number"),
        invoice_number=data.get("invoice_number"),
        issue_date=_date_or_none(data.get("issue_date")),
    )


def _period_or_none(data: dict[str, str] | None) -> Period | None:
    if not data:
        return None
    return Period(date.fromisoformat(data["start"]), date.fromisoformat(data["end"]))


def _address_dict(address: PostalAddress) -> dict[str, Any]:
    return {
        "lines": list(address.lines),
        "postal_code": address.postal_code,
        "city": address.city,
        "country_code": address.country_code,
    }


def _party_dict(party: ErpParty) -> dict[str, Any]:
    return {
        "code": party.code,
        "name": party.name,
        "vat_number": party.vat_number,
        "gln": party.gln,
        "legal_id": party.legal_id,
        "address": _address_dict(party.address),
    }


def _line_dict(line: ErpLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "product_code": line.product_code,
        "gtin": line.gtin,
        "description": line.description,
        "quantity": quantity_out(line.quantity),
        "unit_code": line.unit_code,
        "unit_price": price_str(line.unit_price),
        "price_includes_vat": line.price_includes_vat,
        "discount_percent": rate_str(line.discount_percent),
        "vat_rate": rate_str(line.vat_rate),
        "net_amount": money_str(line.net_amount),
    }


def _digits(value: str | None) -> str:
    digits = (value or "").replace(" ", "")
    return digits if digits.isdigit() else ""


def _date_or_none(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _address_from(data: dict[str, Any]) -> PostalAddress:
    return PostalAddress(
        lines=tuple(data["lines"]),
        postal_code=data["postal_code"],
        city=data["city"],
        country_code=data["country_code"],
    )


def _party_from(data: dict[str, Any]) -> ErpParty:
    return ErpParty(
        code=data["code"],
        name=data["name"],
        address=_address_from(data["address"]),
        vat_number=data.get("vat_number"),
        gln=data.get("gln"),
        legal_id=data.get("legal_id"),
    )


def _line_from(data: dict[str, Any]) -> ErpLine:
    return ErpLine(
        line_no=int(data["line_no"]),
        product_code=data["product_code"],
        gtin=data.get("gtin"),
        description=data["description"],
        quantity=Decimal(str(data["quantity"])),
        unit_code=data.get("unit_code", "C62"),
        unit_price=Decimal(data["unit_price"]),
        price_includes_vat=bool(data["price_includes_vat"]),
        discount_percent=Decimal(data["discount_percent"]),
        vat_rate=Decimal(data["vat_rate"]),
        net_amount=Decimal(data["net_amount"]),
    )
