"""Figures that UBL and CII both need, derived once from an `ErpDocument` for EN 16931.

EN 16931 wants prices without VAT, and the taxable amount of each VAT rate equal to the sum of the
line net amounts plus charges minus allowances (BR-S-08). Carnet computes the base of VAT-inclusive
lines (books at their fixed public price) per rate, on the sum of the lines (app/money.py), so the
line nets may miss that base by a cent or two: the difference is stated as a document-level
rounding charge or allowance of that rate instead of being hidden in a line.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from app.money import ZERO, percent, rate_str
from app.replay.documents import DocumentKind, ErpDocument, ErpLine, OperationCategory

EN16931 = "urn:cen.eu:en16931:2017"
INVOICE_TYPE_CODE = "380"
CREDIT_NOTE_TYPE_CODE = "381"
STANDARD_RATE_CATEGORY = "S"
SIREN_SCHEME = "0002"
SIRET_SCHEME = "0009"
# Electronic addresses of the French directory (BT-34, BT-49): a company's base address is its SIREN.
FR_ADDRESS_SCHEME = "0225"
# CTC-FR business process types (BT-23, rule BR-FR-08): an invoice not paid in advance, of goods,
# services or both.
PROCESS_TYPES = {
    OperationCategory.GOODS: "B1",
    OperationCategory.SERVICES: "S1",
    OperationCategory.MIXED: "M1",
}
# The VAT point date code (BT-8) that says VAT is due on the invoice date, as under the option for
# VAT on debits: UNTDID 2475 in CII, UNTDID 2005 in UBL.
VAT_ON_INVOICE_DATE_CII = "5"
VAT_ON_INVOICE_DATE_UBL = "3"
GLN_SCHEME = "0088"
GTIN_SCHEME = "0160"
# Names of supporting documents (BT-123) from the French list (CTC-FR rule BR-FR-17).
SALES_ORDER = "BON_COMMANDE"
DELIVERY_NOTE = "BON_LIVRAISON"
ROUNDING_REASON = "Arrondi des prix TTC"
PRICE_STEP = Decimal("0.0001")


class UnsupportedDocument(Exception):
    """The document cannot be expressed as a valid EN 16931 invoice (e.g. a zero VAT rate without an
    exemption reason): a human must look, retrying will not help."""


@dataclass(frozen=True, slots=True)
class LinePrice:
    """Unit prices without VAT: `gross` before the line discount, `net` after (BT-148, BT-146)."""

    gross: Decimal
    net: Decimal

    @property
    def discount(self) -> Decimal:
        return self.gross - self.net


@dataclass(frozen=True, slots=True)
class RoundingAdjustment:
    """A document-level charge (positive) or allowance (negative) bringing a rate's line nets to its base."""

    rate: Decimal
    amount: Decimal


def type_code(document: ErpDocument) -> str:
    if document.kind is DocumentKind.INVOICE:
        return INVOICE_TYPE_CODE
    if document.kind is DocumentKind.CREDIT_NOTE:
        return CREDIT_NOTE_TYPE_CODE
    raise UnsupportedDocument(f"{document.reference}: an {document.kind} has no invoice XML form")


def process_type(document: ErpDocument) -> str:
    return PROCESS_TYPES[document.operation_category]


def vat_category(rate: Decimal) -> str:
    """French VAT rates (20, 10, 5.5, 2.1 and the overseas ones) are all category S (standard)."""
    if rate <= ZERO:
        raise UnsupportedDocument(f"VAT rate {rate_str(rate)} % needs an exemption category and reason")
    return STANDARD_RATE_CATEGORY


def line_price(line: ErpLine) -> LinePrice:
    gross = line.unit_price
    if line.price_includes_vat:
        gross = gross / (1 + percent(line.vat_rate))
    gross = gross.quantize(PRICE_STEP, rounding=ROUND_HALF_UP)
    net = (gross * (1 - percent(line.discount_percent))).quantize(PRICE_STEP, rounding=ROUND_HALF_UP)
    return LinePrice(gross=gross, net=net)


def rounding_adjustments(document: ErpDocument) -> tuple[RoundingAdjustment, ...]:
    line_nets: dict[Decimal, Decimal] = defaultdict(Decimal)
    for line in document.lines:
        line_nets[line.vat_rate] += line.net_amount
    adjustments = []
    for vat in document.totals.vat_breakdown:
        difference = vat.base - line_nets.get(vat.rate, ZERO)
        if difference:
            adjustments.append(RoundingAdjustment(rate=vat.rate, amount=difference))
    return tuple(adjustments)


def line_total(document: ErpDocument) -> Decimal:
    return sum((line.net_amount for line in document.lines), ZERO)


def charges_total(adjustments: tuple[RoundingAdjustment, ...]) -> Decimal:
    return sum((a.amount for a in adjustments if a.amount > ZERO), ZERO)


def allowances_total(adjustments: tuple[RoundingAdjustment, ...]) -> Decimal:
    return sum((-a.amount for a in adjustments if a.amount < ZERO), ZERO)


def quantity_text(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")
