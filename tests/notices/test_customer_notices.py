"""Customer notices through a real SMTP server on the loopback (aiosmtpd): an order captured, shipped
in part and then completed gives exactly three emails, each once, though the relay refused the first
attempt."""

import threading
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from functools import partial
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine, select

from app.auth.service import Actor, issue_token
from app.config import Settings
from app.db import run_unit, session_scope
from app.delivery.schemas import StockReceiptCreate
from app.delivery.service import close_backorder, receive_stock
from app.fulfilment.service import ship_order
from app.notices.models import CustomerNotice
from app.notices.sending import send_due
from app.orders.capture import capture_order
from app.orders.schemas import OrderCreate
from tests.builders import make_customer, make_product, make_user
from tests.workload import Server, database_url, free_port

REP = Actor("user", 1, "rep", "rep")
WAREHOUSE = Actor("user", 2, "warehouse", "warehouse")


class Relay:
    """Accepts mail after refusing the first message it is given (a greylisting relay)."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.lock:
            if self.refused == 0:
                self.refused += 1
                return "451 4.7.1 Greylisted, try again later"
            self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Relay, int]]:
    handler = Relay()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_captured_then_shipped_in_two_parts_gives_three_emails_each_once(
    fresh_engine: Engine, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    settings = Settings(
        customer_notices="opt_in",
        smtp_host="127.0.0.1",
        smtp_port=port,
        notice_retry_seconds=0,
        public_url="https://carnet.example",
    )
    run = partial(run_unit, engine=fresh_engine)
    with session_scope(fresh_engine) as session:
        customer = make_customer(session, code="PARC")
        customer.email = "commandes@librairie-parc.fr"
        customer.email_notices = True
        quiet = make_customer(session, code="QUIET")
        quiet.email = "quiet@example.org"  # has an address, did not ask for notices
        product = make_product(session, code="ATLAS", stock="2")
        code = product.code
    with session_scope(fresh_engine) as session:
        draft = OrderCreate(
            customer_code="PARC", channel="phone", lines=[{"product_code": code, "quantity": 5}]
        )
        number = capture_order(session, draft=draft, actor=REP).number
        capture_order(session, draft=draft.model_copy(update={"customer_code": "QUIET"}), actor=REP)

    first = send_due(run, settings)
    assert (first.sent, first.failed) == (0, 1) and handler.received == []
    assert send_due(run, settings).sent == 1
    with session_scope(fresh_engine) as session:
        ship_order(session, number=number, lines=None, actor=WAREHOUSE)
    assert send_due(run, settings).sent == 1
    with session_scope(fresh_engine) as session:
        receive_stock(
            session, draft=StockReceiptCreate(lines=[{"product_code": code, "quantity": 3}]), actor=WAREHOUSE
        )
        ship_order(session, number=number, lines=None, actor=WAREHOUSE)
    assert send_due(run, settings).sent == 1
    assert send_due(run, settings).sent == 0

    assert len(handler.received) == 3
    assert all(envelope.rcpt_tos == ["commandes@librairie-parc.fr"] for envelope in handler.received)
    mails = [
        BytesParser(policy=policy.default).parsebytes(envelope.original_content or b"")
        for envelope in handler.received
    ]
    subjects = [str(mail["subject"]).strip() for mail in mails]
    bodies = [mail.get_body().get_content().replace("\r\n", "\n") for mail in mails]  # type: ignore[union-attr]
    assert subjects == [
        f"Votre commande {number} est enregistrée",
        f"Votre commande {number} est partie (BL-2026-000001)",
        f"Votre commande {number} : le reliquat est parti (BL-2026-000002)",
    ]
    assert "https://carnet.example/status/" in bodies[0] and "5 × Article" in bodies[0]
    assert "Reste à livrer (reliquat) :\n- 3 × " in bodies[1]
    assert "Reste à livrer" not in bodies[2]
    assert len({str(mail["message-id"]) for mail in mails}) == 3
    with session_scope(fresh_engine) as session:
        notices = session.execute(select(CustomerNotice).order_by(CustomerNotice.id)).scalars().all()
        assert [(n.status, n.attempts) for n in notices] == [("sent", 2), ("sent", 1), ("sent", 1)]


def test_a_backorder_given_up_is_told_to_the_customer_once(
    fresh_engine: Engine, relay: tuple[Relay, int]
) -> None:
    handler, port = relay
    settings = Settings(customer_notices="all", smtp_host="127.0.0.1", smtp_port=port, notice_retry_seconds=0)
    run = partial(run_unit, engine=fresh_engine)
    with session_scope(fresh_engine) as session:
        customer = make_customer(session, code="PARC")
        customer.email = "commandes@librairie-parc.fr"
        code = make_product(session, code="ATLAS", stock="2").code
    with session_scope(fresh_engine) as session:
        draft = OrderCreate(
            customer_code="PARC", channel="phone", lines=[{"product_code": code, "quantity": 5}]
        )
        number = capture_order(session, draft=draft, actor=REP).number
        ship_order(session, number=number, lines=None, actor=WAREHOUSE)
        close_backorder(session, number=number, line_no=1, actor=WAREHOUSE)
    first = send_due(run, settings)  # the relay refuses the very first message, takes the others
    assert (first.sent, first.failed) == (2, 1)
    assert send_due(run, settings).sent == 1
    assert send_due(run, settings).sent == 0
    mails = [
        BytesParser(policy=policy.default).parsebytes(e.original_content or b"") for e in handler.received
    ]
    subjects = sorted(str(mail["subject"]).strip() for mail in mails)
    assert subjects == sorted(
        [
            f"Votre commande {number} est enregistrée",
            f"Votre commande {number} est partie (BL-2026-000001)",
            f"Votre commande {number} : un reliquat est abandonné",
        ]
    )
    closed = next(mail for mail in mails if "abandonné" in str(mail["subject"]))
    assert "- 3 × " in closed.get_body().get_content()  # type: ignore[union-attr]


class Inbox:
    """A relay that accepts everything and says when mail came."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        self.received.append(envelope)
        self.arrived.set()
        return "250 OK"


def test_the_running_server_sends_the_confirmation_of_an_order_taken_by_the_api(
    fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    with session_scope(fresh_engine) as session:
        customer = make_customer(session, code="PARC")
        customer.email = "commandes@librairie-parc.fr"
        code = make_product(session, stock="10").code
        token = issue_token(make_user(session, role="rep"))
    for name, value in {
        "CARNET_CUSTOMER_NOTICES": "all",
        "CARNET_SMTP_HOST": "127.0.0.1",
        "CARNET_SMTP_PORT": str(controller.port),
        "CARNET_NOTICE_POLL_SECONDS": "0.2",
    }.items():
        monkeypatch.setenv(name, value)
    server = Server(database_url(fresh_engine), workers=1, log=tmp_path / "server.log")
    server.start()
    try:
        answer = httpx.post(
            f"{server.base}/api/v1/orders",
            json={
                "customer_code": "PARC",
                "channel": "phone",
                "lines": [{"product_code": code, "quantity": 2}],
            },
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 201
        assert inbox.arrived.wait(timeout=30), (tmp_path / "server.log").read_text()[-2000:]
    finally:
        server.stop()
        controller.stop()
    mail = BytesParser(policy=policy.default).parsebytes(inbox.received[0].original_content or b"")
    assert str(mail["subject"]).strip() == f"Votre commande {answer.json()['number']} est enregistrée"
