"""The replay engine: workers that claim outbox items, send them to the ERP and record the outcomes.

Throughput: a worker claims a batch (one transaction: select, mark in flight, freeze new documents),
hands every document to a thread pool that shares the connector (and its kept-alive connections),
claims the next batch while those are on the wire, then records each batch's outcomes in one
transaction. A batch of outcomes is a handful of statements, whatever its size.

Order: a claim takes orders first, then invoices whose orders the ERP acknowledged, then credit
notes whose invoice it acknowledged (the dependency check is part of the claim query), so nothing
reaches the ERP before what it depends on, even with several workers on PostgreSQL.

Chronology: when the ERP numbers invoices and credit notes (`CARNET_INVOICE_NUMBERING=erp`), it numbers
them as they arrive, so each of these kinds is a series sent in order of issue (a deferred invoice is
issued at its delivery note's moment), then of reference: a claim takes the series' next documents up
to the first that is not ready, one thread sends them one after the other, each once the ERP answered
the previous one, and stops at the first not acknowledged (the rest go back, unsent, to wait for it);
no other claim of the series is made meanwhile. ERP numbers thus follow delivery dates. Only a
document that needs a person (refused, given up, or behind such a dependency) lets the later ones pass.

Failures: `Retryable` outcomes come back after an exponential backoff with full jitter (or the
ERP's Retry-After when longer), until `max_attempts`, then the item is `dead`; `Failed` ones wait for
a human (`retry`). Outcomes are recorded only while the worker still holds the item (`claimed_by`),
so a worker that lost its lease cannot overwrite a newer outcome.
"""

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import Engine, Row

from app.audit import service as audit
from app.audit.models import Action
from app.clock import utcnow
from app.config import Settings
from app.db import session_scope
from app.replay import repository
from app.replay.connectors.base import Acknowledged, Connector, Failed, Retryable, SendOutcome, backoff_delay
from app.replay.freezing import ClaimedItem, freeze_claimed
from app.replay.models import ItemStatus
from app.replay.outbox import CREDIT_NOTE_KIND, INVOICE_KIND, KINDS

log = logging.getLogger(__name__)
ERP_NUMBERING = "erp"
ERP_NUMBERED = (INVOICE_KIND, CREDIT_NOTE_KIND)
PIPELINE_DEPTH = 2
MAX_IDLE_WAIT = 0.5
MIN_IDLE_WAIT = 0.01


@dataclass(frozen=True)
class WorkerConfig:
    run_id: int
    kinds: tuple[str, ...]
    until: datetime | None  # the run's scope: items captured up to this instant (None: all)
    batch_size: int
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    lease_seconds: float
    skip_locked: bool
    settings: Settings
    # Kinds the ERP numbers as they arrive: sent one at a time, in chronological order.
    series: tuple[str, ...] = ()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        run_id: int,
        kinds: Sequence[str],
        until: datetime | None,
        skip_locked: bool,
    ) -> "WorkerConfig":
        return cls(
            run_id=run_id,
            kinds=tuple(kind for kind in KINDS if kind in kinds),
            until=until,
            batch_size=settings.replay_batch_size,
            max_attempts=settings.replay_max_attempts,
            backoff_base=settings.replay_backoff_base_seconds,
            backoff_cap=settings.replay_backoff_cap_seconds,
            lease_seconds=settings.replay_lease_seconds,
            skip_locked=skip_locked,
            settings=settings,
            series=ERP_NUMBERED if settings.invoice_numbering == ERP_NUMBERING else (),
        )


@dataclass
class Tally:
    """What one worker did, for progress bars and summaries."""

    sent: int = 0
    acknowledged: int = 0
    already_received: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    # Where a worker's time goes: claiming (and freezing), waiting for answers, recording outcomes.
    claim_seconds: float = 0.0
    wait_seconds: float = 0.0
    record_seconds: float = 0.0

    def add(self, other: "Tally") -> None:
        for name in COUNTERS + TIMERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)

    def timings(self) -> dict[str, float]:
        return {name: round(getattr(self, name), 3) for name in TIMERS}


@dataclass(frozen=True)
class NotSent:
    """A series' document left on the side: one before it was not acknowledged."""


NOT_SENT = NotSent()
Outcome = SendOutcome | NotSent

COUNTERS = ("sent", "acknowledged", "already_received", "retried", "failed", "dead")
TIMERS = ("claim_seconds", "wait_seconds", "record_seconds")


Progress = Callable[[Tally], None]


class Worker:
    """One claim loop. Several may share a run (threads here, or `carnet replay --join` processes) on
    PostgreSQL, where claims skip the rows another worker has locked."""

    def __init__(
        self,
        engine: Engine,
        config: WorkerConfig,
        *,
        connector: Connector,
        pool: ThreadPoolExecutor,
        stop: threading.Event,
        progress: Progress | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._config = config
        self._connector = connector
        self._pool = pool
        self._stop = stop
        self._progress = progress
        self._rng = rng or random.Random()
        self.token = f"run{config.run_id}-{uuid.uuid4().hex[:12]}"
        self.tally = Tally()

    def run(self) -> Tally:
        in_flight: deque[tuple[list[ClaimedItem], list[Future[list[Outcome]]]]] = deque()
        try:
            while not self._stop.is_set():
                if len(in_flight) < PIPELINE_DEPTH:
                    batch = self._claim()
                    if batch:
                        in_flight.append(self._submit(batch))
                        continue
                if in_flight:
                    self._record(*in_flight.popleft())
                    continue
                wait = self._idle_wait()
                if wait is None:
                    break
                self._stop.wait(wait)
        finally:
            # Stopping (signal, lost lock): what is on the wire still gets its outcome recorded.
            while in_flight:
                self._record(*in_flight.popleft())
        return self.tally

    def _submit(self, batch: list[ClaimedItem]) -> tuple[list[ClaimedItem], list[Future[list[Outcome]]]]:
        """Send a batch: each document on its own, but a series' documents one after the other."""
        groups: list[list[ClaimedItem]] = [[item] for item in batch if item.kind not in self._config.series]
        for kind in self._config.series:
            in_order = [item for item in batch if item.kind == kind]
            if in_order:
                groups.append(in_order)
        ordered = [item for group in groups for item in group]
        return ordered, [self._pool.submit(self._send_in_order, group) for group in groups]

    def _send_in_order(self, items: list[ClaimedItem]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item in items:
            outcome = self._send(item)
            outcomes.append(outcome)
            if not isinstance(outcome, Acknowledged):
                break
        return outcomes + [NOT_SENT] * (len(items) - len(outcomes))

    def _send(self, item: ClaimedItem) -> SendOutcome:
        try:
            return self._connector.send(item.document)
        except Exception as exc:  # the protocol says connectors do not raise; a bug must not kill the run
            log.exception("connector raised for %s", item.document.reference)
            return Retryable(f"connector error: {type(exc).__name__}: {exc}")

    def _claim(self) -> list[ClaimedItem]:
        started = time.perf_counter()
        try:
            return self._claim_batch()
        finally:
            self.tally.claim_seconds += time.perf_counter() - started

    def _claim_batch(self) -> list[ClaimedItem]:
        config = self._config
        now = utcnow()
        with session_scope(self._engine) as session:
            rows: list[Row[*tuple[Any, ...]]] = []
            for kind in config.kinds:
                room = config.batch_size - len(rows)
                if room <= 0:
                    break
                # A numbered series goes to the ERP in order, the rest as it is ready.
                claimable = repository.next_in_series if kind in config.series else repository.claimable_ids
                ids = claimable(
                    session,
                    kind=kind,
                    until=config.until,
                    now=now,
                    limit=room,
                    skip_locked=config.skip_locked,
                )
                if ids:
                    rows.extend(
                        repository.mark_claimed(
                            session,
                            ids,
                            run_id=config.run_id,
                            token=self.token,
                            lease_until=now + timedelta(seconds=config.lease_seconds),
                        )
                    )
            return freeze_claimed(session, rows, settings=config.settings) if rows else []

    def _record(self, batch: list[ClaimedItem], futures: list[Future[list[Outcome]]]) -> None:
        started = time.perf_counter()
        outcomes = [outcome for future in futures for outcome in future.result()]
        waited = time.perf_counter()
        now = utcnow()
        rows = repository.Outcomes(acknowledged=[], replayed_documents=[], setbacks=[], counters={})
        tally = Tally(sent=sum(outcome is not NOT_SENT for outcome in outcomes))
        # What the audit trail records of each send; a document held back unsent is not recorded.
        said: list[tuple[ClaimedItem, Action, dict[str, Any]]] = []
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, NotSent):
                rows.released.append({"b_id": item.id, "b_token": self.token})
                continue
            if isinstance(outcome, Acknowledged):
                self._acknowledged(rows, item, outcome, now)
                tally.acknowledged += 1
                tally.already_received += outcome.already_received
                said.append((item, Action.DOCUMENT_ACKNOWLEDGED, {"erp_reference": outcome.erp_reference}))
                continue
            if isinstance(outcome, Failed):
                rows.setbacks.append(self._setback(item, ItemStatus.FAILED, outcome.reason, None))
                tally.failed += 1
                tally.errors.append(f"{item.document.reference}: {outcome.reason}")
                status, reason = ItemStatus.FAILED, outcome.reason
            elif item.attempts >= self._config.max_attempts:
                reason = f"gave up after {item.attempts} attempts: {outcome.reason}"
                rows.setbacks.append(self._setback(item, ItemStatus.DEAD, reason, None))
                tally.dead += 1
                tally.errors.append(f"{item.document.reference}: {reason}")
                status = ItemStatus.DEAD
            else:
                rows.setbacks.append(
                    self._setback(item, ItemStatus.PENDING, outcome.reason, now + self._delay(item, outcome))
                )
                tally.retried += 1
                status, reason = ItemStatus.PENDING, outcome.reason
            said.append((item, Action.DOCUMENT_SENT, {"outcome": status, "reason": reason}))
        rows.counters = {name: getattr(tally, name) for name in COUNTERS}
        with session_scope(self._engine) as session:
            repository.record_outcomes(session, run_id=self._config.run_id, outcomes=rows, now=now)
            for item, action, details in said:
                audit.record(
                    session,
                    actor=audit.SYSTEM,
                    action=action,
                    subject=item.kind,
                    ref=item.document.reference,
                    details={"run": self._config.run_id, "attempt": item.attempts, **details},
                )
        tally.wait_seconds = waited - started
        tally.record_seconds = time.perf_counter() - waited
        self.tally.add(tally)
        if self._progress is not None:
            self._progress(tally)

    def _acknowledged(
        self, rows: repository.Outcomes, item: ClaimedItem, outcome: Acknowledged, now: datetime
    ) -> None:
        # The ERP's number becomes the final number unless Carnet numbered the invoice itself.
        number = None if item.kind == "order" else item.final_number or outcome.erp_reference
        rows.acknowledged.append(
            {
                "b_id": item.id,
                "b_token": self.token,
                "b_reference": outcome.erp_reference,
                "b_number": number,
                "b_at": now,
            }
        )
        rows.replayed_documents.extend({"b_id": d, "b_number": number} for d in item.document_ids)

    def _setback(
        self, item: ClaimedItem, status: str, reason: str, next_at: datetime | None
    ) -> dict[str, object]:
        return {
            "b_id": item.id,
            "b_token": self.token,
            "b_status": status,
            "b_error": reason,
            "b_next": next_at,
        }

    def _delay(self, item: ClaimedItem, outcome: Retryable) -> timedelta:
        config = self._config
        delay = backoff_delay(item.attempts, base=config.backoff_base, cap=config.backoff_cap, rng=self._rng)
        return timedelta(seconds=max(delay, outcome.retry_after or 0.0))

    def _idle_wait(self) -> float | None:
        """Nothing claimable now and nothing of ours on the wire: seconds until something may be, or
        None when nothing this run can send is left."""
        config = self._config
        with session_scope(self._engine, write=False) as session:
            rows = repository.open_items(session, until=config.until, kinds=config.kinds)
            needs = repository.dependency_statuses(session, [row.id for row in rows])
        return idle_wait(rows, needs, now=utcnow(), series=config.series)


def series_predecessors(
    rows: Sequence[Row[*tuple[Any, ...]]], needs: dict[int, list[tuple[int, str]]], series: Sequence[str]
) -> dict[int, int]:
    """For the kinds sent one at a time in chronological order, the item each open item waits for:
    the one before it in its series (as `repository.next_in_series` orders them), leaving out those
    waiting behind a dependency given up."""
    open_ids = {row.id for row in rows}

    def stuck(item_id: int) -> bool:
        return any(
            status in repository.GIVEN_UP or (needs_id in open_ids and stuck(needs_id))
            for needs_id, status in needs.get(item_id, [])
        )

    waits_for: dict[int, int] = {}
    for kind in series:
        queue = sorted(
            (row for row in rows if row.kind == kind and not stuck(row.id)),
            key=lambda row: (row.issued_at, row.reference),
        )
        waits_for.update({later.id: earlier.id for earlier, later in pairwise(queue)})
    return waits_for


def idle_wait(
    rows: Sequence[Row[*tuple[Any, ...]]],
    needs: dict[int, list[tuple[int, str]]],
    *,
    now: datetime,
    series: Sequence[str] = (),
) -> float | None:
    """How long to wait before claiming again, from the open items of the run's scope and kinds (id,
    kind, reference, issued_at, status, next_attempt_at, claimed_until) and their dependencies (id,
    status). None when none of them can ever be sent by this run: blocked behind an item given up, or
    outside its scope or kinds. An item of a `series` kind also waits for the one before it."""
    by_id = {row.id: row for row in rows}
    waits_for = series_predecessors(rows, needs, series)
    wakes: dict[int, datetime | None] = {}

    def wake(item_id: int) -> datetime | None:
        if item_id in wakes:
            return wakes[item_id]
        row = by_id[item_id]
        when: datetime | None
        if row.status == ItemStatus.IN_FLIGHT:
            # Another worker's: its outcome may come at any moment, or its lease expire.
            when = min(row.claimed_until or now, now + timedelta(seconds=MAX_IDLE_WAIT))
        else:
            when = row.next_attempt_at or now
            earlier = [(waits_for[item_id], ItemStatus.PENDING)] if item_id in waits_for else []
            for needs_id, status in needs.get(item_id, []) + earlier:
                if status == ItemStatus.ACKNOWLEDGED:
                    continue
                after = wake(needs_id) if needs_id in by_id else None
                if after is None:
                    when = None
                    break
                when = max(when, after)
        wakes[item_id] = when
        return when

    for item_id in waits_for:  # along each series first, so that no call recurses down a long one
        wake(item_id)
    soonest = min((w for w in (wake(item_id) for item_id in by_id) if w is not None), default=None)
    if soonest is None:
        return None
    return min(max((soonest - now).total_seconds(), MIN_IDLE_WAIT), MAX_IDLE_WAIT)
