"""The FastAPI application: routers, problem details, body limits."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from fastapi import FastAPI
from sqlalchemy.orm import Session

from app import audit_api, docs, health, metrics, problems, system
from app.api import BodyType
from app.auth.routes import router as auth_router
from app.catalog.routes import router as catalog_router
from app.config import get_settings
from app.db import get_engine
from app.delivery.routes import router as delivery_router
from app.edi.routes import review_router as edi_review_router
from app.edi.routes import router as edi_router
from app.email.polling import Mailbox, Poller
from app.email.routes import router as email_router
from app.fulfilment.routes import router as fulfilment_router
from app.headers import SecurityHeaders
from app.incidents.routes import router as incidents_router
from app.invoice_pdf.routes import router as invoice_pdf_router
from app.invoicing.routes import router as invoicing_router
from app.limits import BodySizeLimit, RefuseNul
from app.logs import RequestLog
from app.notices.sending import NoticeSender
from app.orders.routes import router as orders_router
from app.replay.routes import router as replay_router
from app.suppliers.mailing import SupplierReportSender
from app.suppliers.routes import router as suppliers_router
from app.web import routes as web
from app.writer import stop_writers, writer_for

API_PREFIX = "/api/v1"
T = TypeVar("T")


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Background helpers of a server process: the mailbox poller and the customer notices' sender,
    when configured; their units of work go through the process's writer like every other."""
    settings = get_settings()
    writer = writer_for(get_engine())

    def run_unit(work: Callable[[Session], T]) -> T:
        return writer.submit(work).result()

    helpers: list[Poller | NoticeSender | SupplierReportSender] = []
    if settings.imap_url:
        helpers.append(Poller(Mailbox.from_url(settings.imap_url), run_unit, settings.imap_poll_seconds))
    if settings.customer_notices != "off" and settings.smtp_host:
        helpers.append(NoticeSender(run_unit, settings))
    if settings.smtp_host:  # the supplier report, daily while an incident is open, to suppliers' contacts
        helpers.append(SupplierReportSender(run_unit, settings))
    for helper in helpers:
        helper.start()
    yield
    for helper in helpers:
        helper.stop()
    # Units already handed to the writer are written (and committed) before the process ends.
    await asyncio.to_thread(stop_writers)


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="Carnet",
        version="0.1.0",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by app/docs.py with local assets
        redoc_url=None,
    )
    problems.install(app, page=web.error_page)
    for router in (
        auth_router,
        catalog_router,
        orders_router,
        delivery_router,
        fulfilment_router,
        invoicing_router,
        invoice_pdf_router,
        edi_router,
        edi_review_router,
        email_router,
        incidents_router,
        replay_router,
        suppliers_router,
        system.router,
        metrics.router,  # GET /api/v1/metrics, the path before the contract's /metrics
        audit_api.router,
    ):
        app.include_router(router, prefix=API_PREFIX, dependencies=[BodyType])
    app.include_router(health.router)
    app.include_router(metrics.router)
    web.install(app)
    docs.install(app, prefix=API_PREFIX)
    app.add_middleware(SecurityHeaders, unguarded_prefixes=(f"{API_PREFIX}/docs",))
    app.add_middleware(RefuseNul, skip_prefixes=(f"{API_PREFIX}/edi/", f"{API_PREFIX}/email/"))
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.max_body_bytes,
        large_limit=settings.max_edi_body_bytes,
        large_prefixes=(f"{API_PREFIX}/edi/", f"{API_PREFIX}/email/"),
    )
    app.add_middleware(
        RequestLog, observe=metrics.observe_request
    )  # outermost: the request id for all the others, every answer timed
    return app
