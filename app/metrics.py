"""Prometheus metrics at `GET /metrics` (and its older path `GET /api/v1/metrics`).

Two kinds of figures. What the business stands at (orders per channel, deferred documents, outboxes,
replay errors, master-data age) is counted in the database at each scrape, so every worker process
and every instance answers the same. Request latency is measured by each process (app/logs.py feeds
it): with several worker processes `carnet serve` gives them a directory of their own for this run
(prometheus_client's multiprocess mode), and any worker's answer sums all of them.

Who may read them: a caller with `Authorization: Bearer <CARNET_METRICS_TOKEN>`, or from one of
`CARNET_METRICS_NETWORKS` (by default loopback, except in production where there is no default).
"""

import hmac
import ipaddress
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Final

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api import ReadSession
from app.clock import utcnow
from app.config import Settings, get_settings
from app.edi.models import EdiAcknowledgment
from app.errors import NotAuthenticated, NotPermitted
from app.incidents.service import Mode, current_mode
from app.invoicing.models import DeferredDocument
from app.invoicing.repository import uninvoiced_deliveries
from app.notices.models import CustomerNotice, NoticeStatus
from app.numbering import business_moment
from app.orders.models import SaleOrder
from app.replay.models import ReplayRun
from app.replay.repository import uninvoiced_past_months, waiting_items
from app.suppliers.models import SupplierReportMail
from app.system import master_data_ages, oldest_master_data

router = APIRouter(tags=["system"])
MULTIPROCESS_DIR: Final = "PROMETHEUS_MULTIPROC_DIR"
LOOPBACK: Final = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

# No `_created` series: a process's start time, which several worker processes cannot agree on (and
# multiprocess mode leaves out).
disable_created_metrics()  # type: ignore[no-untyped-call]
# Each process's own measures; in multiprocess mode their values live in the run's directory.
_process_registry = CollectorRegistry()
REQUEST_SECONDS: Final = Histogram(
    "carnet_http_request_duration_seconds",
    "Time to answer a request, by route template and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_process_registry,
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


def allowed_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if settings.metrics_networks is None:
        return [] if settings.environment == "production" else list(LOOPBACK)
    return [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in settings.metrics_networks.split(",")
        if n.strip()
    ]


def check_metrics_reader(request: Request, settings: Settings) -> None:
    """The metrics token, or an address in the allowed networks; else 401 (a token is configured) or 403."""
    token = settings.metrics_token
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None and any(address in network for network in allowed_networks(settings)):
        return
    if token:
        raise NotAuthenticated("send the metrics token: Authorization: Bearer <CARNET_METRICS_TOKEN>")
    raise NotPermitted("the metrics are read from CARNET_METRICS_NETWORKS or with CARNET_METRICS_TOKEN")


class _Figures(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def metrics_reader(request: Request) -> None:
    """Checked before a database session is opened for the caller."""
    check_metrics_reader(request, get_settings())


@router.get(
    "/metrics",
    dependencies=[Depends(metrics_reader)],
    response_class=Response,
    responses={
        200: {"description": "Prometheus text format", "content": {"text/plain": {}}},
        401: {"description": "a metrics token is configured and was not sent"},
        403: {"description": "not from an allowed network, and no metrics token configured"},
    },
)
def metrics(session: ReadSession) -> Response:
    """Prometheus text: the database's figures and the request latency of every worker process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(list(database_figures(session, now=utcnow()))))
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Figures(list(_process_registry.collect())))
    return Response(generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8")


def database_figures(session: Session, *, now: datetime) -> Iterator[Metric]:
    orders = GaugeMetricFamily("carnet_orders", "Orders per channel and status", labels=["channel", "status"])
    for channel, status, count in session.execute(
        select(SaleOrder.channel, SaleOrder.status, func.count()).group_by(
            SaleOrder.channel, SaleOrder.status
        )
    ):
        orders.add_metric([channel, status], count)
    yield orders

    documents = GaugeMetricFamily(
        "carnet_deferred_documents",
        "Deferred invoices and credit notes per status",
        labels=["kind", "status"],
    )
    for kind, status, count in session.execute(
        select(DeferredDocument.kind, DeferredDocument.status, func.count()).group_by(
            DeferredDocument.kind, DeferredDocument.status
        )
    ):
        documents.add_metric([kind, status], count)
    yield documents

    waiting = waiting_items(session)
    yield from _outboxes(session, waiting)
    yield from _replay_errors(session, waiting)
    yield from _master_data(session, now=now)
    yield from _deadlines(session, now=now)


def _outboxes(session: Session, waiting: list[tuple[str, str, int]]) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "carnet_outbox_depth",
        "What waits to leave: documents for the ERP (replay), customer notices and supplier reports by "
        "email, per status (waiting: not sent yet; given_up, held, failed, dead: a person must look)",
        labels=["outbox", "status"],
    )
    for kind, status, count in waiting:
        depth.add_metric([f"replay_{kind}", status], count)
    for outbox, model, settled in (
        ("customer_notice", CustomerNotice, NoticeStatus.SENT),
        ("supplier_report", SupplierReportMail, "sent"),
    ):
        for status, count in session.execute(
            select(model.status, func.count()).where(model.status != settled).group_by(model.status)
        ):
            depth.add_metric([outbox, status], count)
    yield depth
    # Partners take their documents with a cursor of their own: Carnet counts what it wrote, not what
    # was read.
    edi = CounterMetricFamily(
        "carnet_edi_outbox_documents",
        "Documents written to partners' EDI outboxes (acknowledgments, order responses, despatch advice)",
        labels=["kind"],
    )
    for kind, count in session.execute(
        select(EdiAcknowledgment.kind, func.count())
        .where(EdiAcknowledgment.partner_id.is_not(None))
        .group_by(EdiAcknowledgment.kind)
    ):
        edi.add_metric([kind], count)
    yield edi


def _replay_errors(session: Session, waiting: list[tuple[str, str, int]]) -> Iterator[Metric]:
    errors = CounterMetricFamily(
        "carnet_replay_errors", "Sends to the ERP that failed, over all replay runs", labels=["outcome"]
    )
    failed, dead = session.execute(
        select(func.coalesce(func.sum(ReplayRun.failed), 0), func.coalesce(func.sum(ReplayRun.dead), 0))
    ).one()
    errors.add_metric(["failed"], int(failed))  # retried later
    errors.add_metric(["dead"], int(dead))  # out of attempts
    yield errors
    runs = GaugeMetricFamily("carnet_replay_runs", "Replay runs per status", labels=["status"])
    for status, count in session.execute(select(ReplayRun.status, func.count()).group_by(ReplayRun.status)):
        runs.add_metric([status], count)
    yield runs
    stuck = GaugeMetricFamily(
        "carnet_replay_waiting_documents",
        "Outbox items not yet in the ERP nor cancelled",
        labels=["kind", "status"],
    )
    for kind, status, count in waiting:
        stuck.add_metric([kind, status], count)
    yield stuck


def _master_data(session: Session, *, now: datetime) -> Iterator[Metric]:
    ages = master_data_ages(session, now=now)
    oldest = oldest_master_data(ages)
    if oldest is None:
        return
    yield GaugeMetricFamily(
        "carnet_snapshot_age_seconds",
        "How old the oldest kind of master data is",
        value=int((now - oldest).total_seconds()),
    )
    per_kind = GaugeMetricFamily(
        "carnet_master_data_age_seconds", "How old each kind of master data is", labels=["kind"]
    )
    for age in ages:
        if age.age_seconds is not None:
            per_kind.add_metric([age.kind], age.age_seconds)
    yield per_kind


def _deadlines(session: Session, *, now: datetime) -> Iterator[Metric]:
    mode, _ = current_mode(session)
    modes = GaugeMetricFamily("carnet_mode", "1 for the mode the system is in", labels=["mode"])
    for each in Mode:
        modes.add_metric([each], int(each == mode))
    yield modes
    today = business_moment(now).day
    past_months, _ = uninvoiced_past_months(session, before=today.replace(day=1))
    due = uninvoiced_deliveries(session)
    yield GaugeMetricFamily(
        "carnet_uninvoiced_past_month_delivery_notes",
        "Delivery notes of past months not in the ERP",
        value=past_months,
    )
    yield GaugeMetricFamily(
        "carnet_uninvoiced_delivery_notes",
        "Delivery notes whose invoice is not in the ERP yet",
        value=due.count,
    )
    yield GaugeMetricFamily(
        "carnet_uninvoiced_amount_euros", "Their invoices' amount incl. VAT", value=float(due.gross)
    )
    yield GaugeMetricFamily(
        "carnet_oldest_uninvoiced_delivery_age_days",
        "Days since the oldest of them was delivered",
        value=(today - due.oldest).days if due.oldest is not None else 0,
    )
