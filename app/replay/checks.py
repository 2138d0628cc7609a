"""What a dry run warns finance about before the documents go out.

`buyer_without_siren`: from September 2026 a French business buyer's SIREN is a mandatory mention
and the CTC-FR rules refuse a B2B invoice without it (BT-47, rule BR-FR-11; its electronic address
BT-49 derives from it). Carnet still sends such documents to the ERP; the warning names each customer
and its invoices and credit notes, so that the SIREN is filled in (customer import or
`POST /customers`) before the run.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.catalog.models import Customer
from app.replay.documents import DocumentKind

BUYER_WITHOUT_SIREN: Final = "buyer_without_siren"
FRENCH: Final = "FR"
INVOICED = (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)
LISTED: Final = 100  # references named per customer; the count covers them all


def buyers_without_siren(session: Session, items: Sequence[Row[*tuple[Any, ...]]]) -> list[dict[str, Any]]:
    """One warning per French customer without a SIREN among these items (kind, reference,
    customer_id), with its invoices and credit notes."""
    documents: dict[int, list[str]] = defaultdict(list)
    for item in items:
        if item.kind in INVOICED:
            documents[item.customer_id].append(item.reference)
    if not documents:
        return []
    customers = session.execute(
        select(Customer.id, Customer.code, Customer.name)
        .where(
            Customer.id.in_(list(documents)),
            Customer.siren.is_(None),
            Customer.billing_country == FRENCH,
        )
        .order_by(Customer.code)
    ).all()
    return [
        {
            "code": BUYER_WITHOUT_SIREN,
            "customer_code": customer.code,
            "customer_name": customer.name,
            "count": len(documents[customer.id]),
            "references": documents[customer.id][:LISTED],
            "detail": f"customer {customer.code} ({customer.name}) has no SIREN, mandatory on a French "
            f"B2B invoice: {len(documents[customer.id])} invoice(s) or credit note(s) would go without it",
        }
        for customer in customers
    ]
