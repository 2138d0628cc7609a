"""Deterministic replay documents for tests, the transport benchmark and trying the reference ERP.

They cover what makes invoices hard: several VAT rates on one document, books at a VAT-inclusive
fixed price, discounts, a recap invoice over several delivery notes of several orders, and credit
notes naming the invoice they correct. Amounts come from app/pricing.py, as in production.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.pricing import Totals, compute_totals, price_line
from app.replay.documents import (
    CorrectedInvoice,
    DocumentKind,
    DocumentNote,
    DocumentReferences,
    ErpDocument,
    ErpLine,
    ErpParty,
    NoteSubject,
    Period,
    PostalAddress,
)

SELLER = ErpParty(
    code="CARNET",
    name="Carnet Diffusion SAS",
    address=PostalAddress(("12 rue des Imprimeurs", "Bâtiment B"), "69007", "Lyon"),
    vat_number="FR32123456789",
    gln="3012345000017",
    legal_id="123456789",
)
ISSUE_DATE = date(2026, 3, 2)
NOTES = (
    DocumentNote(NoteSubject.LATE_PENALTIES, "Pénalités de retard : 3 fois le taux d'intérêt légal"),
    DocumentNote(NoteSubject.RECOVERY_INDEMNITY, "Indemnité forfaitaire pour frais de recouvrement : 40 €"),
    DocumentNote(NoteSubject.EARLY_PAYMENT, "Pas d'escompte pour paiement anticipé."),
)


@dataclass(frozen=True, slots=True)
class SampleProduct:
    code: str
    description: str
    unit_price: Decimal
    vat_rate: Decimal
    price_includes_vat: bool
    gtin: str | None = None


PRODUCTS = (
    SampleProduct(
        "LIV-000001", "Le Rouge et le Noir (poche)", Decimal("8.90"), Decimal("5.5"), True, "9782070360284"
    ),
    SampleProduct(
        "LIV-000002", "Atlas des vins de France", Decimal("39.95"), Decimal("5.5"), True, "9782035889911"
    ),
    SampleProduct("PRE-000001", "Le Monde, édition du jour", Decimal("3.20"), Decimal("2.1"), True),
    SampleProduct(
        "ELE-000001", "Câble réseau Cat6 3 m", Decimal("4.1667"), Decimal("20"), False, "3700123400017"
    ),
    SampleProduct("ELE-000002", "Liseuse 6 pouces", Decimal("89.00"), Decimal("20"), False, "3700123400024"),
    SampleProduct("ALI-000001", "Coffret de thés", Decimal("12.35"), Decimal("10"), False),
)


def sample_buyer(number: int) -> ErpParty:
    return ErpParty(
        code=f"C{number:05d}",
        name=f"Librairie du Parc n°{number}",
        address=PostalAddress((f"{number} avenue Jean Jaurès",), "75019", "Paris"),
        vat_number=f"FR{number % 90 + 10:02d}{number:09d}",
        gln=f"30{number:011d}",
        legal_id=f"{number:09d}",
    )


def sample_lines(seed: int, count: int) -> tuple[ErpLine, ...]:
    """`count` lines cycling through the products; every third line discounted, some quantities large."""
    lines = []
    for index in range(count):
        product = PRODUCTS[(seed + index) % len(PRODUCTS)]
        quantity = Decimal(1 + (seed * 7 + index * 3) % 23)
        discount = Decimal("5") if index % 3 == 2 else Decimal(0)
        priced = price_line(
            quantity=quantity,
            unit_price=product.unit_price,
            price_includes_vat=product.price_includes_vat,
            vat_rate=product.vat_rate,
            line_discount_percent=discount,
        )
        lines.append(
            ErpLine(
                line_no=index + 1,
                product_code=product.code,
                gtin=product.gtin,
                description=product.description,
                quantity=quantity,
                unit_price=product.unit_price,
                price_includes_vat=product.price_includes_vat,
                discount_percent=discount,
                vat_rate=product.vat_rate,
                net_amount=priced.net_amount,
            )
        )
    return tuple(lines)


def totals_of(lines: tuple[ErpLine, ...]) -> Totals:
    return compute_totals(
        price_line(
            quantity=line.quantity,
            unit_price=line.unit_price,
            price_includes_vat=line.price_includes_vat,
            vat_rate=line.vat_rate,
            line_discount_percent=line.discount_percent,
        )
        for line in lines
    )


def sample_order(number: int, *, lines: int = 5) -> ErpDocument:
    order_lines = sample_lines(number, lines)
    return ErpDocument(
        kind=DocumentKind.ORDER,
        idempotency_key=f"order:CMD-2026-{number:06d}",
        reference=f"CMD-2026-{number:06d}",
        issue_date=ISSUE_DATE,
        seller=SELLER,
        buyer=sample_buyer(number),
        lines=order_lines,
        totals=totals_of(order_lines),
        references=DocumentReferences(customer_reference=f"PO-{number:05d}"),
    )


def sample_invoice(
    number: int,
    *,
    order_numbers: tuple[str, ...],
    delivery_note_numbers: tuple[str, ...],
    lines: int = 6,
    invoice_number: str | None = None,
) -> ErpDocument:
    """A deferred invoice, issued the day after its delivery; with several delivery notes it is a
    recap invoice over the days before its issue, one note a day."""
    invoice_lines = sample_lines(number, lines)
    first_delivery = ISSUE_DATE - timedelta(days=len(delivery_note_numbers))
    recap = len(delivery_note_numbers) > 1
    return ErpDocument(
        kind=DocumentKind.INVOICE,
        idempotency_key=f"invoice:DI-2026-{number:06d}",
        reference=f"DI-2026-{number:06d}",
        invoice_number=invoice_number,
        issue_date=ISSUE_DATE,
        due_date=ISSUE_DATE + timedelta(days=30),
        payment_terms="30 jours date de facture",
        notes=NOTES,
        seller=SELLER,
        buyer=sample_buyer(number),
        delivery_address=PostalAddress(
            ("Entrepôt Nord", "ZI des Chanteraines"), "92390", "Villeneuve-la-Garenne"
        ),
        delivery_date=None if recap else first_delivery,
        delivery_period=Period(first_delivery, ISSUE_DATE - timedelta(days=1)) if recap else None,
        lines=invoice_lines,
        totals=totals_of(invoice_lines),
        references=DocumentReferences(
            order_numbers=order_numbers,
            customer_reference=f"PO-{number:05d}",
            delivery_note_numbers=delivery_note_numbers,
        ),
    )


def sample_credit_note(
    number: int, *, invoice: ErpDocument, erp_number: str | None = None, credit_note_number: str | None = None
) -> ErpDocument:
    """Credits the first two lines of `invoice` (a return of damaged books, say)."""
    credited = invoice.lines[:2]
    return ErpDocument(
        kind=DocumentKind.CREDIT_NOTE,
        idempotency_key=f"credit_note:DC-2026-{number:06d}",
        reference=f"DC-2026-{number:06d}",
        invoice_number=credit_note_number,
        issue_date=ISSUE_DATE + timedelta(days=5),
        payment_terms="Avoir à déduire du prochain règlement",
        notes=NOTES,
        delivery_date=invoice.delivery_date,
        seller=SELLER,
        buyer=invoice.buyer,
        lines=credited,
        totals=totals_of(credited),
        references=DocumentReferences(
            order_numbers=invoice.references.order_numbers[:1],
            corrected_invoice=CorrectedInvoice(
                reference=invoice.reference,
                erp_number=erp_number,
                invoice_number=invoice.invoice_number,
                issue_date=invoice.issue_date,
            ),
        ),
    )


def sample_replay(orders: int) -> list[ErpDocument]:
    """A whole replay in dependency order: `orders` orders, one invoice per two orders (a recap of
    both orders' delivery notes), one credit note per two invoices."""
    documents = [sample_order(n) for n in range(1, orders + 1)]
    invoices = []
    for n in range(1, orders + 1, 2):
        order_numbers = tuple(d.reference for d in documents[n - 1 : n + 1])
        notes = tuple(f"BL-2026-{i:06d}" for i in range(n, n + len(order_numbers)))
        invoices.append(sample_invoice(n, order_numbers=order_numbers, delivery_note_numbers=notes))
    credit_notes = [sample_credit_note(i + 1, invoice=inv) for i, inv in enumerate(invoices[::2])]
    return documents + invoices + credit_notes
