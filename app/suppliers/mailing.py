"""The supplier report emailed to each supplier's contacts, once a business day while an incident is
open: queued in an outbox (`supplier_report_mail`, one row per contact and period, so a restart or a
second process never sends it twice), then sent through the SMTP relay by `SupplierReportSender`."""

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from typing import Any, Final

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Role
from app.auth.service import Actor
from app.clock import utcnow
from app.config import Settings
from app.errors import InvalidInput
from app.incidents import repository as incidents
from app.notices.sending import send_message
from app.numbering import business_moment
from app.suppliers.models import SupplierContact, SupplierReportMail
from app.suppliers.report_formats import french_number, report_csv
from app.suppliers.service import Period, supplier_report

log = logging.getLogger(__name__)
UnitRunner = Callable[[Callable[[Session], Any]], Any]
LEASE: Final = timedelta(minutes=5)
REPORTER: Final = Actor(kind="system", id=0, name="supplier-reports", role=Role.FINANCE)


def add_contact(
    session: Session, *, supplier_code: str, email: str, actor: audit.Who = audit.COMMAND_LINE
) -> SupplierContact:
    """An address that receives the supplier's report (given twice, it is kept once)."""
    address = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
        raise InvalidInput(f"not an email address: {email!r}", loc=("email",))
    existing = session.execute(
        select(SupplierContact).where(
            SupplierContact.supplier_code == supplier_code, SupplierContact.email == address
        )
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    contact = SupplierContact(supplier_code=supplier_code, email=address)
    session.add(contact)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=Action.SUPPLIER_CONTACT_ADDED,
        subject="supplier",
        ref=supplier_code,
        details={"email": address},
    )
    return contact


def queue_reports(session: Session, *, now: datetime) -> int:
    """While an incident is open, today's report (the incident's window up to now) for every contact
    that has not got it yet; returns how many were queued."""
    incident = incidents.open_incident(session)
    if incident is None:
        return 0
    day = business_moment(now).day
    period_key = f"incident-{incident.id}-{day.isoformat()}"
    queued = {
        (code, recipient)
        for code, recipient in session.execute(
            select(SupplierReportMail.supplier_code, SupplierReportMail.recipient).where(
                SupplierReportMail.period_key == period_key
            )
        )
    }
    contacts: dict[str, list[str]] = {}
    for code, email in session.execute(select(SupplierContact.supplier_code, SupplierContact.email)):
        if (code, email) not in queued:
            contacts.setdefault(code, []).append(email)
    count = 0
    for code, recipients in sorted(contacts.items()):
        report = supplier_report(
            session, supplier_code=code, period=Period(incident.started_at, now, incident.id), actor=REPORTER
        )
        totals = report.totals
        body = (
            f"Bonjour,\n\nVoici le relevé de vos titres pendant l'incident n° {incident.id}, "
            f"au {day:%d/%m/%Y} : {len(report.titles)} titres, commandé {french_number(totals.ordered)}, "
            f"expédié {french_number(totals.shipped)}, en reliquat {french_number(totals.backordered)}, "
            f"retourné {french_number(totals.returned)}, stock restant {french_number(totals.stock_left)}.\n"
            "Le détail par titre est joint (CSV pour Excel).\n"
        )
        attachment = report_csv(report)
        for recipient in recipients:
            mail = SupplierReportMail(
                supplier_code=code,
                period_key=period_key,
                recipient=recipient,
                subject=f"Relevé {report.supplier_name or code} au {day:%d/%m/%Y}",
                body=body,
                attachment_name=f"releve-{code}-{day:%Y%m%d}.csv",
                attachment=attachment,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            try:
                with session.begin_nested():
                    session.add(mail)
                count += 1
            except IntegrityError:  # another process queued it at the same moment
                pass
    return count


def due_for_sending(session: Session, *, now: datetime, limit: int = 20) -> list[SupplierReportMail]:
    """Claim pending mails whose time has come, for `LEASE` (another process leaves them alone)."""
    query = (
        select(SupplierReportMail)
        .where(and_(SupplierReportMail.status == "pending", SupplierReportMail.next_attempt_at <= now))
        .order_by(SupplierReportMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.execute(query).scalars())
    for mail in claimed:
        mail.next_attempt_at = now + LEASE
    session.flush()
    session.expunge_all()
    return claimed


def record_outcome(
    session: Session, *, mail_id: int, error: str | None, now: datetime, settings: Settings
) -> None:
    mail = session.get(SupplierReportMail, mail_id)
    if mail is None:
        return
    mail.attempts += 1
    if error is None:
        mail.status, mail.sent_at = "sent", now
    elif mail.attempts >= settings.notice_max_attempts:
        mail.status, mail.last_error = "given_up", error[:500]
    else:
        mail.last_error = error[:500]
        mail.next_attempt_at = now + timedelta(
            seconds=settings.notice_retry_seconds * 2 ** (mail.attempts - 1)
        )


def _message(mail: SupplierReportMail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rpartition("@")[2] or None)
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    message.add_attachment(mail.attachment, maintype="text", subtype="csv", filename=mail.attachment_name)
    return message


def send_reports(run_unit: UnitRunner, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> int:
    """Queue what is due, then send what is pending; returns how many were sent."""
    run_unit(partial(queue_reports, now=clock()))
    sent = 0
    while mails := run_unit(partial(due_for_sending, now=clock())):
        failed = False
        for mail in mails:
            try:
                send_message(_message(mail, settings), settings)
                error = None
            except OSError as exc:  # smtplib's errors included: tried again later
                error, failed = str(exc), True
            run_unit(partial(record_outcome, mail_id=mail.id, error=error, now=clock(), settings=settings))
            sent += error is None
        if failed:
            break  # the relay refuses: wait for the next round rather than hammer it
    return sent


class SupplierReportSender(threading.Thread):
    def __init__(self, run_unit: UnitRunner, settings: Settings) -> None:
        super().__init__(name="supplier-report-sender", daemon=True)
        self.run_unit = run_unit
        self.settings = settings
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                send_reports(self.run_unit, self.settings)
            except Exception:  # outlives a relay or a database that is down for a while
                log.exception("sending supplier reports failed")
            self.stopping.wait(self.settings.notice_poll_seconds)

    def stop(self) -> None:
        self.stopping.set()
