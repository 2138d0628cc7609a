"""The supplier report over HTTP: admin, finance and that supplier's users."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api import ReadSession
from app.auth.dependencies import CurrentActor
from app.downloads import file_response
from app.suppliers import report_formats, service
from app.suppliers.schemas import SupplierReport

router = APIRouter(tags=["suppliers"])

ReportFormat = Annotated[Literal["json", "csv", "pdf"], Query(alias="format")]


@router.get("/suppliers/{code}/report", responses={403: {}, 404: {}})
def get_supplier_report(
    code: str,
    session: ReadSession,
    actor: CurrentActor,
    from_date: Annotated[date | None, Query(alias="from")] = None,
    to_date: Annotated[date | None, Query(alias="to")] = None,
    incident_id: int | None = None,
    output: ReportFormat = "json",
) -> SupplierReport:
    """Per title of the supplier: the snapshot's stock and its date, ordered, shipped, backordered,
    returned, stock left, and totals; for an incident (`incident_id`) or business days `from`..`to`.
    `?format=csv` for a spreadsheet set to French, `pdf` to print."""
    period = service.report_period(session, from_date=from_date, to_date=to_date, incident_id=incident_id)
    report = service.supplier_report(session, supplier_code=code, period=period, actor=actor)
    name = f"releve-{code}-{period.start:%Y%m%d}"
    if output == "csv":
        return file_response(  # type: ignore[return-value]
            report_formats.report_csv(report), filename=f"{name}.csv", media_type="text/csv; charset=utf-8"
        )
    if output == "pdf":
        return file_response(  # type: ignore[return-value]
            report_formats.report_pdf(report),
            filename=f"{name}.pdf",
            media_type="application/pdf",
            disposition="inline",
        )
    return report
