"""Polling a real mailbox (Dovecot on the loopback): every message becomes one inbox item, order files
become orders, and polling again takes nothing twice."""

import os
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from app.auth.service import issue_token
from app.db import run_unit, session_scope
from app.edi.samples import eancom_orders_interchange
from app.email.models import InboxMessage, InboxMessageOrder
from app.email.polling import Mailbox, poll
from app.email.reading import MAX_MESSAGE_BYTES
from app.orders.models import SaleOrder
from tests.builders import make_customer, make_product, make_user
from tests.email.imap_server import DOVECOT, Dovecot
from tests.email.mail import email, xlsx
from tests.workload import Server, database_url

if not Path(DOVECOT).exists():
    if os.environ.get("CI"):
        pytest.fail(
            "Dovecot (dovecot-imapd) is needed for the mailbox tests: .ci/run installs it", pytrace=False
        )
    pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd)", allow_module_level=True)

GLN = "3012345000004"


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    yield server
    server.stop()


def test_a_mailbox_of_two_hundred_messages_gives_the_right_orders_and_items_once(
    fresh_engine: Engine, dovecot: Dovecot
) -> None:
    with session_scope(fresh_engine) as session:
        customer = make_customer(session, code="PARC", gln=GLN)
        customer.email = "commandes@librairie-parc.fr"
        products = [make_product(session, stock="100000") for _ in range(4)]
        codes = [p.code for p in products]
        gtins = [p.gtin or "" for p in products]
    sender = "Librairie du Parc <commandes@librairie-parc.fr>"
    messages: list[bytes] = []
    for n in range(50):
        sheet = f"article;quantité\n{codes[n % 4]};{n + 1}\n{codes[(n + 1) % 4]};2\n".encode()
        messages.append(
            email(sender=sender, subject=f"csv {n}", attachments=[(f"c{n}.csv", "text/csv", sheet)])
        )
    for n in range(30):
        edi = eancom_orders_interchange(
            1,
            3,
            buyer_gln=GLN,
            delivery_gln=GLN,
            gtins=gtins,
            sender=GLN,
            receiver="3000000000009",
            control_ref=f"E{n}",
        )
        messages.append(
            email(sender=sender, subject=f"edi {n}", attachments=[("o.edi", "application/edifact", edi)])
        )
    for n in range(20):
        book = xlsx([["EAN", "Qté"], [gtins[n % 4], 3]])
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        messages.append(email(sender=sender, subject=f"xlsx {n}", attachments=[("c.xlsx", mime, book)]))
    for n in range(50):
        messages.append(
            email(sender=f"client{n}@example.org", subject=f"texte {n}", text=f"Merci d'envoyer {n} Atlas")
        )
    for n in range(30):
        messages.append(
            email(sender=sender, subject=f"html {n}", text=None, html=f"<p>Commande <b>{n}</b></p>")
        )
    messages += messages[:19]  # sent twice: the same Message-ID again
    big = b"x" * (MAX_MESSAGE_BYTES + 1024)
    messages.append(email(sender=sender, subject="scan", attachments=[("scan.pdf", "application/pdf", big)]))
    assert len(messages) == 200
    for index, raw in enumerate(messages):
        dovecot.deliver("carnet", f"{index:04d}.eml", raw)

    mailbox = Mailbox.from_url(dovecot.url("carnet"))
    first = poll(mailbox, partial(run_unit, engine=fresh_engine))
    assert (first.seen, first.new_items, first.known) == (200, 181, 19)
    again = poll(mailbox, partial(run_unit, engine=fresh_engine))
    assert (again.seen, again.new_items) == (0, 0)

    with session_scope(fresh_engine) as session:
        assert session.execute(select(func.count()).select_from(InboxMessage)).scalar() == 181
        orders = session.execute(select(SaleOrder.status, SaleOrder.channel)).all()
        assert len(orders) == 100 and {tuple(o) for o in orders} == {("needs_review", "email")}
        assert session.execute(select(func.count()).select_from(InboxMessageOrder)).scalar() == 100
        states = dict(
            session.execute(select(InboxMessage.state, func.count()).group_by(InboxMessage.state)).all()
        )
        assert states == {"keyed": 100, "new": 81}
        oversize = session.execute(select(InboxMessage).where(InboxMessage.subject == "scan")).scalar_one()
        assert "stays in the mailbox" in oversize.problems[0]["detail"]
        assert len(oversize.raw) < 100_000


def test_the_running_server_polls_the_mailbox(
    fresh_engine: Engine, dovecot: Dovecot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(fresh_engine) as session:
        token = issue_token(make_user(session, role="rep"))
    dovecot.deliver("desk", "1.eml", email(subject="Commande du lundi"))
    monkeypatch.setenv("CARNET_IMAP_URL", dovecot.url("desk"))
    monkeypatch.setenv("CARNET_IMAP_POLL_SECONDS", "0.2")
    server = Server(database_url(fresh_engine), workers=1, log=tmp_path / "server.log")
    server.start()
    try:
        deadline = time.monotonic() + 30
        items: list[dict[str, object]] = []
        while not items and time.monotonic() < deadline:
            items = httpx.get(
                f"{server.base}/api/v1/email/messages", headers={"Authorization": f"Bearer {token}"}
            ).json()
            time.sleep(0.1)  # the server polls on its own clock; only its answers tell
    finally:
        server.stop()
    assert [item["subject"] for item in items] == ["Commande du lundi"]
