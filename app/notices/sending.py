"""Sending the notices' outbox through an SMTP relay, outside any unit of work."""

import logging
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from app.clock import utcnow
from app.config import Settings
from app.notices.models import CustomerNotice
from app.notices.service import due_for_sending, queue_due_notices, record_failure, record_sent

log = logging.getLogger(__name__)
T = TypeVar("T")
UnitRunner = Callable[[Callable[[Session], Any]], Any]
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Sent:
    sent: int
    failed: int


def _message(notice: CustomerNotice, settings: Settings) -> EmailMessage:
    message = EmailMessage()  # its header policy refuses line breaks: no header can be injected
    message["From"] = settings.mail_from
    message["To"] = notice.recipient
    message["Subject"] = notice.subject
    message["Message-ID"] = notice.message_id
    message["Date"] = format_datetime(utcnow())
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.body)
    return message


def send_due(run_unit: UnitRunner, settings: Settings) -> Sent:
    """Queue what is due, then send what is pending; each outcome is written as it happens."""
    run_unit(partial(queue_due_notices, settings=settings, now=utcnow()))
    sent = failed = 0
    while notices := run_unit(partial(due_for_sending, now=utcnow(), lease=LEASE)):
        for notice in notices:
            try:
                send_message(_message(notice, settings), settings)
            except smtplib.SMTPResponseException as exc:
                permanent = 500 <= exc.smtp_code < 600
                error = f"{exc.smtp_code} {exc.smtp_error!r}"
                run_unit(
                    partial(
                        record_failure,
                        notice_id=notice.id,
                        error=error,
                        permanent=permanent,
                        now=utcnow(),
                        settings=settings,
                    )
                )
                failed += 1
            except (OSError, smtplib.SMTPException) as exc:
                run_unit(
                    partial(
                        record_failure,
                        notice_id=notice.id,
                        error=str(exc),
                        permanent=False,
                        now=utcnow(),
                        settings=settings,
                    )
                )
                failed += 1
            else:
                run_unit(partial(record_sent, notice_id=notice.id, now=utcnow()))
                sent += 1
        if failed:
            break  # the relay refuses: wait for the next round rather than hammer it
    return Sent(sent, failed)


def send_message(message: EmailMessage, settings: Settings) -> None:
    """One message through the configured SMTP relay (STARTTLS and login when set)."""
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(message)


class NoticeSender(threading.Thread):
    def __init__(self, run_unit: UnitRunner, settings: Settings) -> None:
        super().__init__(name="notice-sender", daemon=True)
        self.run_unit = run_unit
        self.settings = settings
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                send_due(self.run_unit, self.settings)
            except Exception:  # the sender outlives a relay or a database that is down for a while
                log.exception("sending customer notices failed")
            self.stopping.wait(self.settings.notice_poll_seconds)

    def stop(self) -> None:
        self.stopping.set()
