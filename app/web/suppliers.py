"""A supplier's page: its titles over an incident or a period, with the report to download.

A supplier's users see only their own supplier; admin and finance choose the supplier. Quantities
only: the page names no customer."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.api import ReadSession
from app.auth.models import Role
from app.auth.service import Actor
from app.config import get_settings
from app.downloads import file_response
from app.errors import InvalidInput
from app.incidents import repository as incidents
from app.numbering import business_moment
from app.suppliers import report_formats, service
from app.suppliers.schemas import SupplierReport
from app.templating import format_moment
from app.web.i18n import lang_of
from app.web.pages import banner, render
from app.web.session import SupplierReader

router = APIRouter()

DEFAULT_DAYS = 30
Text = Annotated[str, Query(max_length=32)]


def _day(value: str, field: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise InvalidInput("a date is written YYYY-MM-DD", loc=("query", field)) from exc


def _report(
    session: Session, actor: Actor, supplier: str, from_: str, to: str, incident: str
) -> SupplierReport:
    """The report the page shows: the latest incident's, or the last days', unless a period is chosen."""
    code = (actor.supplier_code or "") if actor.role == Role.SUPPLIER else supplier
    from_date, to_date = _day(from_, "from"), _day(to, "to")
    incident_id = int(incident) if incident.isdigit() else None
    if incident_id is None and from_date is None:
        latest = incidents.latest(session)
        if latest is not None:
            incident_id = latest.id
        else:
            from_date = business_moment().day - timedelta(days=DEFAULT_DAYS)
    period = service.report_period(session, from_date=from_date, to_date=to_date, incident_id=incident_id)
    return service.supplier_report(session, supplier_code=code, period=period, actor=actor)


@router.get("/supplier", response_class=HTMLResponse)
def supplier_page(
    request: Request,
    session: ReadSession,
    actor: SupplierReader,
    supplier: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    incident: Text = "",
) -> HTMLResponse:
    report = (
        _report(session, actor, supplier, from_, to, incident) if supplier or actor.supplier_code else None
    )
    return render(
        request,
        "supplier.html",
        actor=actor,
        top=banner(session),
        report=report,
        chooses_supplier=actor.role != Role.SUPPLIER,
        query=request.url.query,
        when=lambda moment: format_moment(moment, get_settings().business_timezone, lang_of(request)),
    )


@router.get("/supplier/report.{output}")
def supplier_download(
    output: str,
    session: ReadSession,
    actor: SupplierReader,
    supplier: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
    incident: Text = "",
) -> Response:
    if output not in ("csv", "pdf"):
        raise InvalidInput("the report is downloaded as csv or pdf", loc=("path", "output"))
    report = _report(session, actor, supplier, from_, to, incident)
    name = f"releve-{report.supplier_code}-{report.period_start:%Y%m%d}.{output}"
    if output == "csv":
        return file_response(
            report_formats.report_csv(report), filename=name, media_type="text/csv; charset=utf-8"
        )
    return file_response(
        report_formats.report_pdf(report), filename=name, media_type="application/pdf", disposition="inline"
    )
