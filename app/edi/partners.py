"""Creating an EDI partner: its API key and the customers it may order for."""

import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Partner, PartnerCustomer
from app.auth.service import API_KEY_PREFIX, key_hash
from app.catalog.models import Customer
from app.clock import utcnow
from app.errors import Conflict, InvalidInput


def create_partner(
    session: Session, *, name: str, customer_codes: Sequence[str], actor: audit.Who = audit.COMMAND_LINE
) -> tuple[Partner, str]:
    """Create a partner restricted to the given customers; the API key is returned once, stored hashed."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("a partner name has 1 to 100 characters", loc=("name",))
    if not customer_codes:
        raise InvalidInput("a partner needs at least one customer", loc=("customer",))
    customers = (
        session.execute(select(Customer).where(Customer.code.in_(set(customer_codes)))).scalars().all()
    )
    unknown = sorted(set(customer_codes) - {c.code for c in customers})
    if unknown:
        raise InvalidInput(f"unknown customer(s): {', '.join(unknown)}", loc=("customer",))
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    partner = Partner(
        name=name,
        api_key_hash=key_hash(api_key),
        api_key_prefix=api_key[:10],
        active=True,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(partner)
            session.flush()
            session.add_all(PartnerCustomer(partner_id=partner.id, customer_id=c.id) for c in customers)
    except IntegrityError as exc:
        raise Conflict(f"partner {name!r} already exists") from exc
    audit.record(
        session,
        actor=actor,
        action=Action.PARTNER_CREATED,
        subject="partner",
        ref=name,
        details={"customers": sorted(c.code for c in customers), "api_key_prefix": partner.api_key_prefix},
    )
    return partner, api_key
