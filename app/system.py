"""What mode the system is in and how old the master-data snapshot is (its figures are also in the
Prometheus metrics, app/metrics.py).

Mode comes from incidents (app/incidents): `degraded` while one is open, `recovering` once ended
until its replay completed, `normal` otherwise. Warnings are what finance must act on; `banner` is
the one line the web pages show above everything else.
"""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from app.api import ReadSession
from app.auth.dependencies import OptionalActor
from app.catalog.repository import master_data_as_of
from app.catalog.schemas import MoneyOut
from app.clock import utcnow
from app.config import get_settings
from app.edi.repository import count_refused_interchanges
from app.incidents.schemas import IncidentPublicRead, IncidentRead
from app.incidents.service import Mode, current_mode, incident_public_read, incident_read
from app.invoicing.repository import uninvoiced_deliveries
from app.money import money_str
from app.numbering import business_moment
from app.replay.repository import NEEDS_A_PERSON, uninvoiced_past_months, waiting_items

router = APIRouter(tags=["system"])
BANNERS = {
    Mode.DEGRADED: "ERP indisponible : les commandes sont saisies dans Carnet et reprises à son retour.",
    Mode.RECOVERING: "ERP de retour : reprise des documents saisis pendant l'incident en cours.",
}


REFUSED_FILES_WINDOW = timedelta(hours=24)  # how long a refused EDI file stays on reps' banner


class SystemWarning(BaseModel):
    code: str
    detail: str
    count: int
    age_days: int | None = Field(default=None, description="age of the oldest document concerned")
    amount: MoneyOut | None = Field(default=None, description="amount at stake, incl. VAT")


class MasterDataAge(BaseModel):
    kind: str = Field(description="customers | products | stock")
    as_of: datetime | None
    age_seconds: int | None


class SystemRead(BaseModel):
    mode: str = Field(description="degraded | recovering | normal")
    incident: IncidentRead | None = Field(description="the open incident, or the one being recovered from")
    snapshot_as_of: datetime | None = Field(description="the oldest of the kinds of master data below")
    snapshot_age_seconds: int | None
    master_data: list[MasterDataAge] = Field(description="how old each kind of master data is")
    warnings: list[SystemWarning]
    banner: str | None = Field(description="what the web pages show at the top, when anything")


class SystemPublicRead(BaseModel):
    """What partners, suppliers and anonymous callers are told: the mode, since when, how old the master
    data is; not the incident's reason, who declared it, nor the distributor's own warnings."""

    model_config = ConfigDict(extra="forbid")  # the whole state can never pass for this one

    mode: str = Field(description="degraded | recovering | normal")
    incident: IncidentPublicRead | None = Field(
        description="the open incident, or the one being recovered from"
    )
    snapshot_as_of: datetime | None
    snapshot_age_seconds: int | None
    banner: str | None = Field(description="the mode's message, when not normal")


def mode_banner(mode: str) -> str | None:
    """The one line that says the mode, for everybody (the staff's banner may say more)."""
    return BANNERS.get(Mode(mode))


def master_data_ages(session: Session, *, now: datetime) -> list[MasterDataAge]:
    return [
        MasterDataAge(kind=kind, as_of=as_of, age_seconds=_age(now, as_of))
        for kind, as_of in master_data_as_of(session).items()
    ]


def oldest_master_data(ages: list[MasterDataAge]) -> datetime | None:
    """The master data is as old as its oldest kind (a fresh product file says nothing of the stock)."""
    return min((_aware(age.as_of) for age in ages if age.as_of is not None), default=None)


def _age(now: datetime, as_of: datetime | None) -> int | None:
    return int((now - _aware(as_of)).total_seconds()) if as_of is not None else None


def system_warnings(session: Session, *, now: datetime) -> list[SystemWarning]:
    """What finance must act on, before the invoicing deadline rather than after it: an invoice per
    delivery note is due when the goods leave, a monthly recap at the end of the month."""
    warnings = []
    settings = get_settings()
    today = business_moment(now).day
    waiting = waiting_items(session)
    for_a_person = sum(count for _, status, count in waiting if status in NEEDS_A_PERSON)
    if for_a_person:
        warnings.append(
            SystemWarning(
                code="replay_needs_a_person",
                count=for_a_person,
                detail=f"{for_a_person} document(s) the replay cannot put into the ERP: key them by hand "
                "or cancel them (replay items held, failed or dead)",
            )
        )
    # Already late comes first: the banner shows the first warning.
    count, oldest = uninvoiced_past_months(session, before=today.replace(day=1))
    if count:
        warnings.append(
            SystemWarning(
                code="uninvoiced_past_month",
                count=count,
                detail=f"{count} delivery note(s) of past months not yet invoiced in the ERP "
                f"(oldest {oldest:%d/%m/%Y}): replay them before the month's invoicing closes",
            )
        )
    if settings.invoice_grouping == "per_delivery_note":
        due = uninvoiced_deliveries(session)
        if due.count and due.oldest is not None:
            warnings.append(
                SystemWarning(
                    code="uninvoiced_delivery",
                    count=due.count,
                    age_days=(today - due.oldest).days,
                    amount=due.gross,
                    detail=f"{due.count} delivery note(s) not yet invoiced in the ERP, oldest delivered "
                    f"{(today - due.oldest).days} day(s) ago, {money_str(due.gross)} EUR incl. VAT: "
                    "an invoice per delivery note is due at delivery, replay them",
                )
            )
    elif today.day >= settings.recap_warning_day:
        due = uninvoiced_deliveries(session, issued_from=today.replace(day=1))
        if due.count:
            warnings.append(
                SystemWarning(
                    code="recap_due_at_month_end",
                    count=due.count,
                    amount=due.gross,
                    detail=f"{due.count} delivery note(s) of this month, {money_str(due.gross)} EUR incl. "
                    "VAT, wait for their recap invoice, due at the end of the month: replay before it",
                )
            )
    refused = count_refused_interchanges(session, since=now - REFUSED_FILES_WINDOW)
    if refused:
        warnings.append(
            SystemWarning(
                code="edi_files_refused",
                count=refused,
                detail=f"{refused} EDI file(s) refused in the last 24 hours: the partner was told, but "
                "a person should look at why (unknown buyer, broken file)",
            )
        )
    return warnings


@router.get("/system", response_model=SystemRead | SystemPublicRead, responses={401: {}})
def get_system(session: ReadSession, actor: OptionalActor) -> SystemRead | SystemPublicRead:
    """Anyone may ask; the distributor's people get the whole state (the incident's reason and who
    declared it, finance's warnings), partners, suppliers and anonymous callers only the mode and dates."""
    if actor is not None and actor.is_staff:
        return system_state(session)
    return public_system_state(session)


def system_state(session: Session) -> SystemRead:
    now = utcnow()
    ages = master_data_ages(session, now=now)
    as_of = oldest_master_data(ages)
    mode, incident = current_mode(session)
    warnings = system_warnings(session, now=now)
    banner = BANNERS.get(mode) or (warnings[0].detail if warnings else None)
    waiting = next((w.count for w in warnings if w.code == "replay_needs_a_person"), 0)
    if mode == Mode.RECOVERING and waiting:
        banner = f"{BANNERS[Mode.RECOVERING]} {waiting} document(s) attendent une personne."
    return SystemRead(
        mode=mode,
        incident=incident_read(incident) if incident is not None else None,
        snapshot_as_of=as_of,
        snapshot_age_seconds=_age(now, as_of),
        master_data=ages,
        warnings=warnings,
        banner=banner,
    )


def public_system_state(session: Session) -> SystemPublicRead:
    now = utcnow()
    as_of = oldest_master_data(master_data_ages(session, now=now))
    mode, incident = current_mode(session)
    return SystemPublicRead(
        mode=mode,
        incident=incident_public_read(incident) if incident is not None else None,
        snapshot_as_of=as_of,
        snapshot_age_seconds=_age(now, as_of),
        banner=BANNERS.get(mode),
    )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every timestamp Carnet stores is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
