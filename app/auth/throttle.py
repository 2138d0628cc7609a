"""Guessing passwords and API keys: failures counted per account, per address and per both, with
temporary locks, in the database so that every worker process and every instance counts the same.

- **An (account, address) pair**: 5 failed sign-ins within 15 minutes lock that pair for 15 minutes;
  from there even the right password is refused. The account's owner elsewhere is not: a guesser
  cannot lock a person out by failing on purpose.
- **An address**: 20 failed sign-ins within 15 minutes, whatever the accounts tried (a password sprayed
  over many accounts), lock every sign-in from that address for 15 minutes.
- **An account**: 20 failed sign-ins within 15 minutes from all addresses together (a guesser spread over
  many addresses) lock the account for 15 minutes, except from the addresses it signed in from in the
  last 30 days: its owner keeps working from the usual desk while the guessing stops.
- **API keys**: 20 unknown keys within 15 minutes from an address lock unknown keys from that address
  for 15 minutes. A valid key is never refused: 256 random bits are not guessed, so refusing it would
  only stop the partner.

Writes happen on failures (and on an account's first sign-in from an address in a day), through the
writer; while a lock holds, attempts are answered from a read alone, so that a flood costs no writes.
An IPv6 client counts as its /64: one machine commonly holds a whole /64.
"""

import enum
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import ThrottleCounter


class Scope(enum.StrEnum):
    PAIR = "account_address"
    ADDRESS = "address"
    ACCOUNT = "account"
    API_KEY = "api_key_address"


@dataclass(frozen=True)
class Limit:
    failures: int  # this many failures within `window` lock the subject for `lock`
    window: timedelta
    lock: timedelta


WINDOW: Final = timedelta(minutes=15)
LIMITS: Final = {
    Scope.PAIR: Limit(5, WINDOW, timedelta(minutes=15)),
    Scope.ADDRESS: Limit(20, WINDOW, timedelta(minutes=15)),
    Scope.ACCOUNT: Limit(20, WINDOW, timedelta(minutes=15)),
    Scope.API_KEY: Limit(20, WINDOW, timedelta(minutes=15)),
}
KNOWN_ADDRESS: Final = timedelta(days=30)  # an address an account signed in from, spared its lock
REMEMBERED_AGAIN: Final = timedelta(days=1)  # a sign-in from a known address is written once a day


@dataclass(frozen=True)
class Count:
    """Where a subject's failures stand."""

    failures: int
    window_started_at: datetime | None
    locked_until: datetime | None


def after_failure(count: Count, limit: Limit, now: datetime) -> Count:
    """One failure more: counted in the current window (a new one when it has passed or a lock has
    ended), and a lock when the limit is reached."""
    if count.locked_until is not None and count.locked_until > now:
        return count
    fresh = (
        count.window_started_at is None
        or count.window_started_at <= now - limit.window
        or count.locked_until is not None
    )
    failures = 1 if fresh else count.failures + 1
    started = now if fresh else count.window_started_at
    return Count(failures, started, now + limit.lock if failures >= limit.failures else None)


def client_address(host: str | None) -> str:
    """Whom failures are counted against: the IPv4 address, the IPv6 /64, or the host as given."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _sign_in_subjects(username: str, address: str) -> dict[Scope, str]:
    account = username.lower()[:64]
    return {Scope.PAIR: f"{account} {address}", Scope.ADDRESS: address, Scope.ACCOUNT: account}


def sign_in_lock(session: Session, *, username: str, address: str, now: datetime) -> datetime | None:
    """Until when signing in to `username` from `address` is refused; None when it is not."""
    subjects = _sign_in_subjects(username, address)
    counters = _read(session, subjects)
    pair = counters.get(Scope.PAIR)
    known = pair is not None and pair.signed_in_at is not None and pair.signed_in_at > now - KNOWN_ADDRESS
    scopes = (Scope.PAIR, Scope.ADDRESS) if known else (Scope.PAIR, Scope.ADDRESS, Scope.ACCOUNT)
    return max((until for scope in scopes if (until := _lock(counters.get(scope), now))), default=None)


def count_sign_in_failure(session: Session, *, username: str, address: str, now: datetime) -> None:
    for scope, subject in _sign_in_subjects(username, address).items():
        _count(session, scope, subject, now)
    _forget_expired(session, now)


def count_sign_in(session: Session, *, username: str, address: str, now: datetime) -> None:
    """A successful sign-in: the pair's failures are forgotten and the address is remembered as one the
    account signs in from (written only when that changes something, or once a day)."""
    subject = _sign_in_subjects(username, address)[Scope.PAIR]
    pair = _locked(session, Scope.PAIR, subject)
    if (
        pair is not None
        and pair.failures == 0
        and pair.signed_in_at is not None
        and pair.signed_in_at > now - REMEMBERED_AGAIN
    ):
        return
    pair = pair or _counter(session, Scope.PAIR, subject, now)
    pair.failures, pair.window_started_at, pair.locked_until = 0, None, None
    pair.signed_in_at = now
    pair.expires_at = now + KNOWN_ADDRESS


def api_key_lock(session: Session, *, address: str, now: datetime) -> datetime | None:
    """Until when unknown API keys from `address` are refused without a look; None when they are not."""
    return _lock(_read(session, {Scope.API_KEY: address}).get(Scope.API_KEY), now)


def count_api_key_failure(session: Session, *, address: str, now: datetime) -> None:
    _count(session, Scope.API_KEY, address, now)
    _forget_expired(session, now)


def lift_locks(session: Session, *, username: str | None = None, address: str | None = None) -> int:
    """Forget the failures counted against an account (all its addresses) or an address (an
    administrator's decision); the addresses an account signs in from stay known. Returns the number
    of counters cleared."""
    conditions = []
    if username:
        account = username.lower()
        conditions += [
            and_(ThrottleCounter.scope == Scope.ACCOUNT, ThrottleCounter.subject == account),
            and_(
                ThrottleCounter.scope == Scope.PAIR,
                ThrottleCounter.subject.startswith(f"{account} ", autoescape=True),
            ),
        ]
    if address:
        subject = client_address(address)
        conditions += [
            and_(
                ThrottleCounter.scope.in_((Scope.ADDRESS, Scope.API_KEY)), ThrottleCounter.subject == subject
            ),
            and_(
                ThrottleCounter.scope == Scope.PAIR,
                ThrottleCounter.subject.endswith(f" {subject}", autoescape=True),
            ),
        ]
    if not conditions:
        return 0
    cleared = session.execute(
        update(ThrottleCounter)
        .where(or_(*conditions), ThrottleCounter.failures > 0)
        .values(failures=0, window_started_at=None, locked_until=None)
    )
    return int(getattr(cleared, "rowcount", 0))


def _lock(counter: ThrottleCounter | None, now: datetime) -> datetime | None:
    if counter is None or counter.locked_until is None or counter.locked_until <= now:
        return None
    return counter.locked_until


def _read(session: Session, subjects: dict[Scope, str]) -> dict[Scope, ThrottleCounter]:
    found = session.execute(
        select(ThrottleCounter).where(
            or_(
                *(
                    and_(ThrottleCounter.scope == scope, ThrottleCounter.subject == subject)
                    for scope, subject in subjects.items()
                )
            )
        )
    ).scalars()
    return {Scope(counter.scope): counter for counter in found}


def _count(session: Session, scope: Scope, subject: str, now: datetime) -> None:
    counter = _counter(session, scope, subject, now)
    limit = LIMITS[scope]
    count = after_failure(
        Count(counter.failures, counter.window_started_at, counter.locked_until), limit, now
    )
    counter.failures, counter.window_started_at, counter.locked_until = (
        count.failures,
        count.window_started_at,
        count.locked_until,
    )
    ends = [now + limit.window, count.locked_until]
    if counter.signed_in_at is not None:
        ends.append(counter.signed_in_at + KNOWN_ADDRESS)
    counter.expires_at = max(end for end in ends if end is not None)


def _locked(session: Session, scope: Scope, subject: str) -> ThrottleCounter | None:
    """The subject's counter, locked until the unit's commit."""
    return session.execute(_for_update(scope, subject)).scalar_one_or_none()


def _counter(session: Session, scope: Scope, subject: str, now: datetime) -> ThrottleCounter:
    """The subject's counter, locked, created when missing (another instance creating it at the same
    moment makes this insert fail: the row is then read again)."""
    counter = _locked(session, scope, subject)
    if counter is not None:
        return counter
    counter = ThrottleCounter(scope=scope, subject=subject, failures=0, expires_at=now)
    try:
        with session.begin_nested():
            session.add(counter)
    except IntegrityError:
        return session.execute(_for_update(scope, subject)).scalar_one()
    return counter


def _for_update(scope: Scope, subject: str) -> Select[ThrottleCounter]:
    return (
        select(ThrottleCounter)
        .where(ThrottleCounter.scope == scope, ThrottleCounter.subject == subject)
        .with_for_update()
    )


def _forget_expired(session: Session, now: datetime) -> None:
    session.execute(delete(ThrottleCounter).where(ThrottleCounter.expires_at < now))
