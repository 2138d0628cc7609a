"""Polling a real mailbox (Dovecot on the loopback): every message becomes one inbox item, order files
become orders, and polling again takes nothing twice."""

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from app.db import run_unit, session_scope
from app.edi.samples import eancom_orders_interchange
from app.email.models import InboxMessage, InboxMessageOrder
from app.email.polling import Mailbox, poll
from app.email.reading import MAX_MESSAGE_BYTES
from app.orders.models import SaleOrder
from tests.builders import make_customer, make_product
from tests.email.imap_server import DOVECOT, Dovecot
from tests.email.mail import email, xlsx

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
