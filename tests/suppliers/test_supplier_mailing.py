"""The supplier report emailed to each supplier's contacts through a real SMTP server on the loopback
(aiosmtpd): once a business day while an incident is open, whatever the number of rounds or restarts."""

import csv
import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from functools import partial

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine

from app.auth.service import Actor
from app.clock import utcnow
from app.config import Settings
from app.db import run_unit, session_scope
from app.fulfilment.service import ship_order
from app.incidents.service import declare_incident
from app.orders.capture import capture_order
from app.orders.schemas import OrderCreate
from app.suppliers.mailing import add_contact, send_reports
from app.suppliers.report_formats import FrenchExcel
from tests.builders import make_customer, make_product
from tests.workload import free_port

ADMIN = Actor("user", 1, "admin", "admin")
REP = Actor("user", 2, "rep", "rep")
WAREHOUSE = Actor("user", 3, "warehouse", "warehouse")


class Inbox:
    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.lock:
            self.received.append(envelope)
        return "250 OK"

    def mails(self) -> list[EmailMessage]:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(e.original_content or b"") for e in self.received]  # type: ignore[misc]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_each_contact_gets_its_suppliers_report_once_a_day_during_an_incident(
    fresh_engine: Engine, inbox: tuple[Inbox, int]
) -> None:
    handler, port = inbox
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, notice_retry_seconds=0)
    run = partial(run_unit, engine=fresh_engine)
    assert send_reports(run, settings) == 0  # no incident, no report
    with session_scope(fresh_engine) as session:
        shop = make_customer(session, name="Librairie du Rivage")
        novel = make_product(session, stock="4", supplier=("GALL", "Gallimard"))
        essay = make_product(session, stock="5", supplier=("SEUIL", "Éditions du Seuil"))
        add_contact(session, supplier_code="GALL", email="Stocks@gallimard.example")
        add_contact(session, supplier_code="GALL", email="diffusion@gallimard.example")
        add_contact(session, supplier_code="GALL", email=" stocks@Gallimard.example")  # given twice: once
        add_contact(session, supplier_code="SEUIL", email="adv@seuil.example")
        declare_incident(session, reason="ERP", started_at=utcnow() - timedelta(minutes=5), actor=ADMIN)
        lines = [{"product_code": novel.code, "quantity": 6}, {"product_code": essay.code, "quantity": 1}]
        draft = OrderCreate(customer_code=shop.code, channel="phone", lines=lines)  # type: ignore[arg-type]
        number = capture_order(session, draft=draft, actor=REP).number
        ship_order(session, number=number, lines=None, actor=WAREHOUSE)

    assert send_reports(run, settings) == 3
    assert send_reports(run, settings) == 0  # the next round, or a restarted process: nothing again
    mails = handler.mails()
    assert sorted(str(m["to"]) for m in mails) == [
        "adv@seuil.example",
        "diffusion@gallimard.example",
        "stocks@gallimard.example",
    ]
    gallimard = next(m for m in mails if str(m["to"]) == "stocks@gallimard.example")
    assert str(gallimard["subject"]).startswith("Relevé Gallimard au ")
    attachment = next(iter(gallimard.iter_attachments()))
    content = attachment.get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), dialect=FrenchExcel))
    assert [row[0] for row in rows] == ["Code", novel.code, "Total"]
    assert rows[1][5:8] == ["6", "4", "2"]  # ordered, shipped, backordered
    assert shop.name not in gallimard.as_string()

    tomorrow = utcnow() + timedelta(days=1)
    assert send_reports(run, settings, clock=lambda: tomorrow) == 3  # the next business day
    assert send_reports(run, settings, clock=lambda: tomorrow) == 0
    assert len(handler.received) == 6
