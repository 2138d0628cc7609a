"""Taking new messages from a mailbox over IMAP: each is stored (committed) before the mailbox is told
it was taken, with a keyword (`$Carnet`) rather than `\\Seen`, so that people reading the mailbox do not
hide mail from Carnet. A message taken twice (a crash between the commit and the keyword) is the same
inbox item: items are found again by Message-ID and content."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Final
from urllib.parse import unquote, urlsplit

from imapclient import IMAPClient  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from app.email.reading import MAX_MESSAGE_BYTES
from app.email.service import Received, read_message, receive_message

TAKEN: Final = b"$Carnet"
BATCH: Final = 25
log = logging.getLogger(__name__)

# Runs one unit of work (a function of a session) and returns its result once committed.
UnitRunner = Callable[[Callable[[Session], Received]], Received]


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> "Mailbox":
        """`imaps://user:password@host[:993]/Folder` (TLS) or `imap://...` (plain, for a local server)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or parts.username is None:
            raise ValueError("CARNET_IMAP_URL: expected imaps://user:password@host[:port]/folder")
        tls = parts.scheme == "imaps"
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if tls else 143),
            tls=tls,
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.lstrip("/")) or "INBOX",
        )


@dataclass(frozen=True)
class PollResult:
    seen: int
    new_items: int
    known: int


def poll(mailbox: Mailbox, run_unit: UnitRunner) -> PollResult:
    """Take every message of the folder not yet marked taken."""
    new_items = known = 0
    with IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.tls, timeout=60) as client:
        client.login(mailbox.user, mailbox.password)
        client.select_folder(mailbox.folder)
        uids = client.search(["UNKEYWORD", TAKEN.decode()])
        for start in range(0, len(uids), BATCH):
            batch = uids[start : start + BATCH]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            small = [uid for uid in batch if sizes[uid][b"RFC822.SIZE"] <= MAX_MESSAGE_BYTES]
            large = [uid for uid in batch if uid not in small]
            bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
            # Over the limit: kept by its headers, with the problem said; the mailbox keeps it all.
            headers = client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
            for uid in batch:
                if uid in bodies:
                    read = read_message(bodies[uid][b"BODY[]"])
                else:
                    read = read_message(headers[uid][b"BODY[HEADER]"], size=sizes[uid][b"RFC822.SIZE"])
                received = run_unit(partial(receive_message, read=read, source=f"imap:{mailbox.folder}"))
                client.add_flags([uid], [TAKEN])
                new_items += received.new
                known += not received.new
        return PollResult(seen=len(uids), new_items=new_items, known=known)


class Poller(threading.Thread):
    """Polls the mailbox every `interval` seconds until stopped; a failed poll is logged and tried again."""

    def __init__(self, mailbox: Mailbox, run_unit: UnitRunner, interval: float) -> None:
        super().__init__(name="imap-poller", daemon=True)
        self.mailbox = mailbox
        self.run_unit = run_unit
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                result = poll(self.mailbox, self.run_unit)
                if result.seen:
                    log.info(
                        "mailbox %s: %d new item(s), %d known",
                        self.mailbox.folder,
                        result.new_items,
                        result.known,
                    )
            except Exception:  # the poller outlives a mail server that is down
                log.exception("polling the mailbox %s failed", self.mailbox.folder)
            self.stopping.wait(self.interval)

    def stop(self) -> None:
        self.stopping.set()
