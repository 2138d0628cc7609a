"""The supplier report: per title of one supplier, the snapshot's stock and what Carnet saw since."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from app.auth.models import Role
from app.auth.service import Actor
from app.catalog.bulk import aware
from app.clock import utcnow
from app.errors import InvalidInput, NotFound, NotPermitted
from app.incidents import repository as incidents
from app.money import ZERO
from app.numbering import business_moment
from app.suppliers import repository
from app.suppliers.schemas import Quantities, SupplierReport, TitleFigures

READERS = (Role.ADMIN, Role.FINANCE)  # besides the supplier's own users


@dataclass(frozen=True, slots=True)
class Period:
    """`[start, end)` in UTC, and the incident it is the window of, if any."""

    start: datetime
    end: datetime
    incident_id: int | None = None


def check_may_see_supplier(actor: Actor, supplier_code: str) -> None:
    """Admin and finance see every supplier; a supplier's users only their own (another supplier
    is answered as unknown, so that a supplier does not learn who else is distributed)."""
    if actor.role == Role.SUPPLIER:
        if actor.supplier_code != supplier_code:
            raise NotFound(f"no supplier {supplier_code!r}")
        return
    if actor.role not in READERS:
        raise NotPermitted("the supplier report needs the role admin, finance or supplier")


def report_period(
    session: Session, *, from_date: date | None, to_date: date | None, incident_id: int | None
) -> Period:
    """An incident's window (up to now while it is open), or business days `from`..`to` inclusive
    (`to` by default today) on the business's clock."""
    if incident_id is not None:
        if from_date or to_date:
            raise InvalidInput("give either an incident or dates, not both", loc=("query", "incident_id"))
        incident = incidents.get(session, incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        return Period(incident.started_at, incident.ended_at or utcnow(), incident.id)
    if from_date is None:
        raise InvalidInput("give the period's first day (from) or an incident", loc=("query", "from"))
    last = to_date or business_moment().day
    if last < from_date:
        raise InvalidInput("the period ends before it starts", loc=("query", "to"))
    start = aware(datetime.combine(from_date, time()))
    return Period(start, aware(datetime.combine(last + timedelta(days=1), time())))


def supplier_report(session: Session, *, supplier_code: str, period: Period, actor: Actor) -> SupplierReport:
    check_may_see_supplier(actor, supplier_code)
    titles = repository.list_titles(session, supplier_code)
    if not titles:
        raise NotFound(f"no supplier {supplier_code!r}")
    moved = repository.moved(session, supplier_code, start=period.start, end=period.end)
    ordered = repository.ordered(session, supplier_code, start=period.start, end=period.end)
    figures = []
    for title in titles:
        m, o = moved.get(title.id), ordered.get(title.id)
        figures.append(
            # Built from typed columns: validating 20,000 titles again would be a third of the time.
            TitleFigures.model_construct(
                code=title.code,
                gtin=title.gtin,
                name=title.name,
                snapshot_as_of=title.stock_as_of,
                snapshot_stock=title.stock_on_hand - (m.since_snapshot if m else ZERO),
                ordered=o.ordered if o else ZERO,
                shipped=m.shipped if m else ZERO,
                backordered=o.backordered if o else ZERO,
                returned=m.returned if m else ZERO,
                received=m.received if m else ZERO,
                counted=m.counted if m else ZERO,
                stock_left=title.stock_on_hand - (m.after_end if m else ZERO),
            )
        )
    return SupplierReport(
        supplier_code=supplier_code,
        supplier_name=next((t.supplier_name for t in titles if t.supplier_name), None),
        incident_id=period.incident_id,
        period_start=period.start,
        period_end=period.end,
        generated_at=utcnow(),
        titles=figures,
        totals=_totals(figures),
    )


def _totals(figures: list[TitleFigures]) -> Quantities:
    names = Quantities.model_fields
    return Quantities(**{name: sum((getattr(f, name) for f in figures), Decimal(0)) for name in names})
