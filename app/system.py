"""What mode the system is in and how old the master-data snapshot is; Prometheus metrics."""

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api import DbSession
from app.catalog.models import Product
from app.catalog.repository import latest_snapshot
from app.clock import utcnow
from app.orders.models import SaleOrder

router = APIRouter(tags=["system"])


class SystemRead(BaseModel):
    mode: str
    snapshot_as_of: datetime | None
    snapshot_age_seconds: int | None


def snapshot_as_of(session: Session) -> datetime | None:
    snapshot = latest_snapshot(session)
    if snapshot is not None:
        return snapshot.as_of
    return session.execute(select(func.min(Product.stock_as_of))).scalar()


@router.get("/system")
def get_system(session: DbSession) -> SystemRead:
    as_of = snapshot_as_of(session)
    age = int((utcnow() - _aware(as_of)).total_seconds()) if as_of else None
    return SystemRead(mode="degraded", snapshot_as_of=as_of, snapshot_age_seconds=age)


@router.get("/metrics")
def metrics(session: DbSession) -> Response:
    """Counts read from the database, so that every worker process reports the same figures."""
    lines = ["# TYPE carnet_orders gauge"]
    for status, count in session.execute(select(SaleOrder.status, func.count()).group_by(SaleOrder.status)):
        lines.append(f'carnet_orders{{status="{status}"}} {count}')
    as_of = snapshot_as_of(session)
    if as_of is not None:
        lines += [
            "# TYPE carnet_snapshot_age_seconds gauge",
            f"carnet_snapshot_age_seconds {int((utcnow() - _aware(as_of)).total_seconds())}",
        ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every timestamp Carnet stores is UTC."""
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
