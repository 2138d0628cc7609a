"""Ingesting an interchange, in two units of work.

1. `store_interchange` writes the bytes as received (with their SHA-256, partner, time and content
   type) and the caller commits at once: whatever happens next, nothing a partner sent is lost.
2. `process_interchange` reads it, refuses it as a whole (syntax) or maps its messages to orders,
   records them all in the caller's transaction, stores the acknowledgments and the answer. When
   it fails, its transaction rolls back and the stored row stays `received`: an admin reprocesses
   it (`POST /edi/interchanges/{id}/reprocess`, `carnet edi reprocess`). It is not done at startup:
   several server processes would race for the same rows, and a file that crashes the processing
   would crash every start.

Resends: an interchange that created orders registers its content hash and its envelope key
(format, sender and control references); a later interchange of the same partner with either is
a duplicate — stored too, pointing to the first, answered with the first answer and 200, nothing
created. A unique constraint on each key settles concurrent resends. A rejected interchange
registers nothing: resending it (fixed, or after a mapping was added on our side) is processed
afresh, which can create no double since the first created nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Partner, Role
from app.auth.service import Actor
from app.clock import utcnow
from app.edi import acknowledging, mapping, order_record, repository
from app.edi.documents import DocumentFormat, Interchange
from app.edi.issues import InterchangeRejected, Issue
from app.edi.models import EdiInterchange, InterchangeStatus
from app.edi.parse import ReadingProfile, parse_interchange
from app.edi.perf import gc_paused
from app.edi.schemas import csv_profile_from_json
from app.edi.snapshot import storable
from app.errors import Conflict, InvalidInput, NotFound, NotPermitted
from app.numbering import next_numbers
from app.orders.capture import record_orders
from app.orders.models import OrderStatus

API_BASE = "/api/v1/edi/interchanges"
Reading = Interchange | InterchangeRejected


@dataclass(frozen=True)
class StoredInterchange:
    """A stored interchange and how its partner's files are read (its profile)."""

    id: int
    csv_profile: dict[str, Any] | None
    content_type: str | None
    format: str | None = None
    charset: str | None = None


@dataclass(frozen=True)
class InterchangeOutcome:
    """What became of an interchange (`body`: its answer, as `GET /edi/interchanges/{id}` tells it), and
    whether it was a resend of one received before (or one processed before), answered as it was."""

    body: dict[str, Any]
    resend: bool


def posting_partner(session: Session, *, actor: Actor, partner_name: str | None) -> Partner:
    """A partner posts its own interchanges; an admin may post on behalf of a named partner."""
    if actor.kind == "partner":
        if partner_name is not None and partner_name != actor.name:
            raise NotPermitted("a partner posts only its own interchanges")
        partner = repository.get_partner(session, actor.id)
    else:
        if actor.role != Role.ADMIN:
            raise NotPermitted("interchanges are posted by partners (X-API-Key), or by an admin for one")
        if not partner_name:
            raise InvalidInput("name the partner the interchange comes from", loc=("query", "partner"))
        partner = repository.get_partner_by_name(session, partner_name)
    if partner is None or not partner.active:
        raise NotFound(f"no active partner {partner_name or actor.name!r}")
    return partner


def store_interchange(
    session: Session, *, actor: Actor, data: bytes, content_type: str | None, partner_name: str | None = None
) -> StoredInterchange:
    """Keep the bytes as received. The caller commits this unit of work on its own, first."""
    partner = posting_partner(session, actor=actor, partner_name=partner_name)
    content_type = content_type[:200] if content_type else None
    interchange_id = repository.insert_interchange(
        session,
        {
            "partner_id": partner.id,
            "received_at": utcnow(),
            "received_by": actor.caller_key,
            "content_type": content_type,
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "raw": data,
            "status": InterchangeStatus.RECEIVED,
            "test": False,
            "order_numbers": [],
            "errors": [],
            "warnings": [],
            "messages": [],
        },
    )
    profile = repository.get_partner_profile(session, partner.id)
    return StoredInterchange(
        interchange_id,
        partner.csv_profile,
        content_type,
        profile.format if profile is not None else None,
        profile.charset if profile is not None else None,
    )


def read_interchange(
    data: bytes,
    *,
    content_type: str | None,
    csv_profile: dict[str, Any] | None,
    format: str | None = None,
    charset: str | None = None,
) -> Reading:
    """Parse (pure, no database): callers run it off the write path. ``csv_profile``, ``format`` and
    ``charset``: the partner's profile, applied before the bytes are sniffed."""
    profile = ReadingProfile(
        format=DocumentFormat(format) if format else None,
        charset=charset,
        csv=csv_profile_from_json(csv_profile),
    )
    try:
        return parse_interchange(data, content_type=content_type, profile=profile)
    except InterchangeRejected as rejection:
        return rejection


def read_stored(data: bytes, stored: StoredInterchange) -> Reading:
    return read_interchange(
        data,
        content_type=stored.content_type,
        csv_profile=stored.csv_profile,
        format=stored.format,
        charset=stored.charset,
    )


def process_interchange(
    session: Session, *, interchange_id: int, reading: Reading | None = None
) -> InterchangeOutcome:
    """Turn a stored interchange into orders and acknowledgments, all or nothing, in the caller's
    transaction. An interchange already processed is answered as it was, with 200."""
    with gc_paused():  # hundreds of thousands of short-lived objects, no cycle among them
        return _process(session, interchange_id, reading)


def _process(session: Session, interchange_id: int, reading: Reading | None) -> InterchangeOutcome:
    row = repository.get_interchange(session, interchange_id, lock=True)
    if row is None:
        raise NotFound(f"no interchange {interchange_id}")
    if row.status != InterchangeStatus.RECEIVED:
        return InterchangeOutcome(answer_body(session, _first(session, row)), resend=True)
    partner = repository.get_partner(session, row.partner_id)
    assert partner is not None
    original = repository.find_original(
        session, partner_id=row.partner_id, content_key=row.sha256, control_key=None
    )
    if original is not None:
        return _duplicate(session, row, original)
    if reading is None:
        profile = repository.get_partner_profile(session, partner.id)
        reading = read_interchange(
            row.raw,
            content_type=row.content_type,
            csv_profile=partner.csv_profile,
            format=profile.format if profile is not None else None,
            charset=profile.charset if profile is not None else None,
        )
    if isinstance(reading, InterchangeRejected):
        return _rejected(session, row, reading)
    _describe(row, reading)
    control_key = _control_key(reading)
    if control_key is not None:
        original = repository.find_original(
            session, partner_id=row.partner_id, content_key=row.sha256, control_key=control_key
        )
        if original is not None:
            return _duplicate(session, row, original)
    envelope_keys = _envelope_keys(reading)
    claimed = repository.envelope_claims(session, partner_id=row.partner_id, keys=envelope_keys.values())
    if claimed and set(claimed) == set(envelope_keys.values()):
        first = repository.get_interchange(session, min(claimed.values()))
        assert first is not None
        return _duplicate(session, row, first)
    repeated = [ref for ref, key in envelope_keys.items() if key in claimed]
    if repeated:
        reading = _without_envelopes(reading, repeated)
    references = {"partner": partner.name, "format": reading.format.value, "interchange_id": row.id}
    plans = mapping.plan_messages(
        session,
        partner_id=partner.id,
        interchange=reading,
        caller=f"partner:{partner.id}",
        references=references,
    )
    if any(p.plan is not None for p in plans):
        fresh_keys = {key for key in envelope_keys.values() if key not in claimed}
        original = _register(session, row, control_key, fresh_keys)
        if original is not None:
            return _duplicate(session, row, original)
    captured = [p for p in plans if p.plan is not None]
    recorded = record_orders(
        session,
        plans=[p.plan for p in captured if p.plan is not None],
        actor=audit.Someone("partner", partner.id, partner.name),
    )
    repository.insert_edi_orders(
        session,
        [
            order_record.order_row(
                reading, plan, order_id=order.id, partner_id=partner.id, interchange_id=row.id
            )
            for plan, order in zip(captured, recorded, strict=True)
        ],
    )
    by_plan = iter(recorded)
    numbers = [next(by_plan).number if p.plan is not None else None for p in plans]
    row.order_numbers = [n for n in numbers if n is not None]
    row.messages = [_message(p, n) for p, n in zip(plans, numbers, strict=True)]
    row.errors = [_refusal(p, r) for p in plans for r in p.refusals]
    if not reading.orders:
        row.errors = [
            {"loc": "interchange", "msg": "the interchange holds no purchase order", "code": "no_order"}
        ]
    row.warnings = (
        [_issue(w) for w in reading.warnings]
        + [
            _review(p, n)
            for p, n in zip(plans, numbers, strict=True)
            if p.plan is not None and p.plan.status == OrderStatus.NEEDS_REVIEW
        ]
        + [_repeated_envelope(ref, claimed[envelope_keys[ref]]) for ref in repeated]
    )
    row.status = (
        InterchangeStatus.REJECTED
        if not row.order_numbers
        else InterchangeStatus.PARTIALLY_ACCEPTED
        if row.errors
        else InterchangeStatus.ACCEPTED
    )
    now = utcnow()
    count = acknowledging.needed_for(reading, plans)
    ack_numbers = iter(next_numbers(session, acknowledging.series(partner.id), count))
    drafts = acknowledging.for_interchange(
        reading, plans, numbers, numbers=ack_numbers, now=now, summary=_summary(row)
    )
    return _finish(session, row, drafts, now)


def reprocess_interchange(session: Session, *, interchange_id: int, actor: Actor) -> InterchangeOutcome:
    """Process again an interchange left `received` by a crash (admins)."""
    if actor.role != Role.ADMIN:
        raise NotPermitted("only an admin reprocesses interchanges")
    row = repository.get_interchange(session, interchange_id)
    if row is None:
        raise NotFound(f"no interchange {interchange_id}")
    if row.status != InterchangeStatus.RECEIVED:
        raise Conflict(f"interchange {interchange_id} is already processed ({row.status})")
    return process_interchange(session, interchange_id=interchange_id)


@dataclass(frozen=True)
class Resubmitted:
    original_id: int
    stored: StoredInterchange
    data: bytes


def resubmit_interchange(session: Session, *, interchange_id: int, actor: Actor) -> Resubmitted:
    """Store again, as a new interchange of the same partner, a file refused as a whole once what
    refused it is settled (an unknown buyer mapped, say), so that the partner need not send it again
    (admins). The caller commits this unit, then reads and processes the new one as a posted file.
    Only a refused file: one that made orders would make them twice."""
    if actor.role != Role.ADMIN:
        raise NotPermitted("only an admin processes a refused file again")
    row = repository.get_interchange(session, interchange_id, lock=True)
    if row is None:
        raise NotFound(f"no interchange {interchange_id}")
    if row.status != InterchangeStatus.REJECTED:
        raise Conflict(
            f"interchange {interchange_id} is {row.status}: only a refused file is processed again",
            slug="interchange-not-refused",
        )
    if row.resubmitted_as_id is not None:
        raise Conflict(
            f"interchange {interchange_id} was processed again already, as #{row.resubmitted_as_id}",
            slug="interchange-resubmitted",
        )
    partner = repository.get_partner(session, row.partner_id)
    assert partner is not None
    stored = store_interchange(
        session, actor=actor, data=row.raw, content_type=row.content_type, partner_name=partner.name
    )
    row.resubmitted_as_id = stored.id
    audit.record(
        session,
        actor=actor,
        action=Action.INTERCHANGE_RESUBMITTED,
        subject="interchange",
        ref=str(stored.id),
        details={"original": interchange_id, "partner": partner.name},
    )
    return Resubmitted(interchange_id, stored, row.raw)


def pending_interchanges(session: Session) -> list[int]:
    return list(repository.pending_interchange_ids(session))


def _describe(row: EdiInterchange, interchange: Interchange) -> None:
    row.format = interchange.format.value
    row.charset = interchange.encoding
    refs = [e.control_ref for e in interchange.envelopes] or [interchange.control_ref or ""]
    row.control_ref = storable(",".join(r for r in refs if r), 200) or None
    row.sender_id = storable(interchange.sender_id or "", 100) or None
    row.test = interchange.test


def _control_key(interchange: Interchange) -> str | None:
    if not interchange.envelopes:
        return None
    # A test envelope is not the production one it may share its control reference with (partners
    # often number test and production apart); production keys stay as they always were.
    envelopes = ";".join(
        f"{e.sender_id}/{e.receiver_id}/{e.control_ref}{'/test' if e.test else ''}"
        for e in interchange.envelopes
    )
    return hashlib.sha256(f"{interchange.format.value}|{envelopes}".encode()).hexdigest()


def _envelope_keys(interchange: Interchange) -> dict[str, str]:
    """Each envelope's identity, by its control reference (envelopes repeated inside one file, which the
    parser warns about, share one key and are processed as the file holds them)."""
    return {
        envelope.control_ref: hashlib.sha256(
            f"{interchange.format.value}|{envelope.sender_id}/{envelope.receiver_id}/{envelope.control_ref}"
            f"{'/test' if envelope.test else ''}".encode()
        ).hexdigest()
        for envelope in interchange.envelopes
        if envelope.control_ref
    }


def _without_envelopes(interchange: Interchange, control_refs: list[str]) -> Interchange:
    """The interchange less the envelopes that already created orders in an earlier interchange."""
    repeated = set(control_refs)
    return replace(
        interchange,
        envelopes=tuple(e for e in interchange.envelopes if e.control_ref not in repeated),
        orders=tuple(
            o
            for o in interchange.orders
            if (o.message.interchange_ref if o.message else None) not in repeated
        ),
    )


def _repeated_envelope(control_ref: str, interchange_id: int) -> dict[str, Any]:
    return {
        "loc": f"interchange {control_ref}",
        "msg": f"already received in interchange {interchange_id}: its orders are not captured again",
        "code": "repeated_envelope",
    }


def _register(
    session: Session, row: EdiInterchange, control_key: str | None, envelope_keys: set[str]
) -> EdiInterchange | None:
    """Claim this content and these envelopes for this interchange; a concurrent resend that claimed
    them first is returned instead (its transaction committed: ours waited on the unique index)."""
    try:
        with session.begin_nested():
            row.content_key = row.sha256
            row.control_key = control_key
            repository.claim_envelopes(
                session, partner_id=row.partner_id, interchange_id=row.id, keys=envelope_keys
            )
            session.flush()
    except IntegrityError:
        original = repository.find_original(
            session, partner_id=row.partner_id, content_key=row.sha256, control_key=control_key
        )
        if original is None:
            raise
        return original
    return None


def _duplicate(session: Session, row: EdiInterchange, original: EdiInterchange) -> InterchangeOutcome:
    row.status = InterchangeStatus.DUPLICATE
    row.duplicate_of_id = original.id
    row.format = original.format
    row.control_ref = original.control_ref
    row.sender_id = original.sender_id
    row.processed_at = utcnow()
    session.flush()
    return InterchangeOutcome(answer_body(session, original), resend=True)


def _rejected(session: Session, row: EdiInterchange, rejection: InterchangeRejected) -> InterchangeOutcome:
    interchange = rejection.interchange
    if interchange is not None:
        _describe(row, interchange)
    row.format = rejection.format.value if rejection.format is not None else row.format
    row.status = InterchangeStatus.REJECTED
    row.errors = [_issue(i) for i in rejection.issues]
    row.warnings = [_issue(w) for w in interchange.warnings] if interchange is not None else []
    now = utcnow()
    numbers = iter(next_numbers(session, acknowledging.series(row.partner_id), 1))
    drafts = acknowledging.for_rejection(rejection, numbers=numbers, now=now, summary=_summary(row))
    return _finish(session, row, drafts, now)


def _finish(
    session: Session, row: EdiInterchange, drafts: list[acknowledging.AcknowledgmentDraft], now: Any
) -> InterchangeOutcome:
    row.processed_at = now
    session.flush()
    repository.insert_acknowledgments(
        session,
        [
            {
                "interchange_id": row.id,
                "kind": d.kind,
                "control_ref": d.control_ref,
                "po_number": d.po_number,
                "order_number": d.order_number,
                "content_type": d.content_type,
                "body": d.body,
                "created_at": now,
                "partner_id": row.partner_id,
                "delivery_note_number": None,
            }
            for d in drafts
        ],
    )
    return InterchangeOutcome(answer_body(session, row), resend=False)


def _first(session: Session, row: EdiInterchange) -> EdiInterchange:
    if row.duplicate_of_id is None:
        return row
    original = repository.get_interchange(session, row.duplicate_of_id)
    return original if original is not None else row


def answer_body(session: Session, row: EdiInterchange) -> dict[str, Any]:
    acknowledgments = repository.acknowledgment_summaries(session, row.id)
    base = f"{API_BASE}/{row.id}"
    return {
        "id": row.id,
        "format": row.format,
        "charset": row.charset,
        "status": row.status,
        "orders": list(row.order_numbers),
        "acknowledgment_url": f"{base}/acknowledgments/{acknowledgments[0].id}" if acknowledgments else None,
        "acknowledgments_url": f"{base}/acknowledgments",
        "errors": list(row.errors),
        "warnings": list(row.warnings),
        "messages": list(row.messages),
    }


def _summary(row: EdiInterchange) -> dict[str, Any]:
    return {
        "interchange_id": row.id,
        "format": row.format,
        "status": row.status,
        "errors": row.errors,
        "warnings": row.warnings,
    }


def _issue(issue: Issue) -> dict[str, Any]:
    return {"loc": issue.loc, "msg": issue.msg, "code": issue.code.value}


def _message_loc(plan: mapping.MessagePlan) -> str:
    message = plan.order.message
    where = f"message {message.reference} " if message is not None else ""
    return f"{where}(order {plan.order.po_number})"


def _refusal(plan: mapping.MessagePlan, refusal: mapping.Refusal) -> dict[str, Any]:
    issue = {"loc": _message_loc(plan), "msg": f"not captured: {refusal.detail}", "code": refusal.code}
    if refusal.party_id is not None:
        issue["party_id"] = refusal.party_id
    return issue


def _review(plan: mapping.MessagePlan, number: str | None) -> dict[str, Any]:
    assert plan.plan is not None
    held = len(plan.plan.unresolved)
    lines = f"{held} line(s) to settle, " if held else ""
    detail = (
        f"order {number} needs review: {lines}{len(plan.plan.problems)} problem(s) "
        f"({', '.join(plan.review_codes)})"
    )
    return {"loc": _message_loc(plan), "msg": detail, "code": "needs_review"}


def _message(plan: mapping.MessagePlan, number: str | None) -> dict[str, Any]:
    message = plan.order.message
    return {
        "po_number": plan.order.po_number,
        "message_ref": message.reference if message is not None else None,
        "interchange_ref": message.interchange_ref if message is not None else None,
        "status": plan.plan.status if plan.plan is not None else "refused",
        "order": number,
        "customer_code": plan.customer_code,
        "errors": [_refusal(plan, r) for r in plan.refusals],
        "problems": plan.review_codes,
    }
