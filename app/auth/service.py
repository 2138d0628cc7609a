"""Users, password hashing (argon2 via pwdlib), signing in, and signed bearer tokens checked against
the user's current state on every request."""

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash
from sqlalchemy import Dialect, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth import throttle
from app.auth.models import STAFF_ROLES, Partner, PartnerCustomer, Role, User
from app.clock import utcnow
from app.config import get_settings
from app.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    NotPermitted,
    TooManyRequests,
)

TOKEN_ALGORITHM = "HS256"
PARTNER_ROLE = "partner"
MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class Actor:
    """Who is calling: a signed-in user or, later, an EDI partner restricted to its own customers."""

    kind: str  # "user" | "partner"
    id: int
    name: str
    role: str
    customer_ids: frozenset[int] | None = None  # None: every customer
    supplier_code: str | None = None  # a `supplier` user's supplier: the only titles it may see

    @property
    def caller_key(self) -> str:
        return f"{self.kind}:{self.id}"

    def require(self, *roles: Role) -> None:
        if self.role == Role.ADMIN or self.role in roles:
            return
        raise NotPermitted(f"this action needs the role {' or '.join(roles)}")

    def may_see_customer(self, customer_id: int) -> bool:
        return self.customer_ids is None or customer_id in self.customer_ids

    @property
    def is_staff(self) -> bool:
        """One of the distributor's people, as opposed to a partner or a supplier's user."""
        return self.kind == "user" and self.role in STAFF_ROLES


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    supplier_code: str | None = None,
    actor: audit.Who = audit.COMMAND_LINE,
) -> User:
    """`supplier_code`: the supplier whose titles a `supplier` user reads (required for that role only)."""
    supplier_code = _checked_role(role, supplier_code)
    _check_password(password)
    if not username or len(username) > 64 or not username.isprintable() or " " in username:
        raise InvalidInput("username must be 1 to 64 printable characters without spaces", loc=("username",))
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        created_at=utcnow(),
        supplier_code=supplier_code,
    )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise Conflict(f"user {username!r} already exists") from exc
    audit.record(
        session, actor=actor, action=Action.USER_CREATED, subject="user", ref=username, details={"role": role}
    )
    return user


def _checked_role(role: str, supplier_code: str | None) -> str | None:
    """The supplier code that goes with the role (a `supplier` user's, None for the others)."""
    if role not in set(Role):
        raise InvalidInput(f"unknown role {role!r}; expected one of {', '.join(Role)}", loc=("role",))
    supplier_code = (supplier_code or "").strip() or None
    if (role == Role.SUPPLIER) != (supplier_code is not None):
        raise InvalidInput(
            "a supplier code is given for the role supplier, and only for it", loc=("supplier_code",)
        )
    return supplier_code


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", loc=("password",))


class TooManyAttempts(TooManyRequests):
    """Refused while a lock holds (app/auth/throttle.py); `minutes` is what the desk tells the person."""

    slug = "too-many-attempts"
    title = "Too many failed attempts"

    def __init__(self, *, locked_until: datetime, now: datetime, what: str = "failed sign-ins") -> None:
        seconds = math.ceil((locked_until - now).total_seconds())
        self.minutes = math.ceil(seconds / 60)
        super().__init__(f"too many {what}: try again in {self.minutes} min", retry_after=seconds)


@dataclass(frozen=True)
class SignInAttempt:
    """What checking a password found, read before the unit of work that records it."""

    username: str
    address: str
    user_id: int | None  # the account the password opens; None: refused
    new_hash: str | None = None  # the password's hash with today's parameters, when they changed


def check_sign_in(session: Session, *, username: str, password: str, address: str) -> SignInAttempt:
    """Refuse at once while a lock holds (app/auth/throttle.py), else check the password. Reads only:
    argon2 takes tens of milliseconds, which must not be spent inside the writer's batch."""
    now = utcnow()
    locked_until = throttle.sign_in_lock(session, username=username, address=address, now=now)
    if locked_until is not None:
        raise TooManyAttempts(locked_until=locked_until, now=now)
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        _hasher().hash(password)  # same cost whether the user exists or not
        return SignInAttempt(username, address, None)
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid or not user.active:
        return SignInAttempt(username, address, None)
    return SignInAttempt(username, address, user.id, new_hash)


def record_sign_in(session: Session, *, attempt: SignInAttempt) -> User | None:
    """The unit of work after a check: a failure is counted against the account, the address and both;
    a success forgets the pair's failures and remembers the address. Returns the user signed in."""
    now = utcnow()
    user = session.get(User, attempt.user_id) if attempt.user_id is not None else None
    if user is None or not user.active:  # refused, or deactivated since the check
        throttle.count_sign_in_failure(session, username=attempt.username, address=attempt.address, now=now)
        return None
    if attempt.new_hash:
        user.password_hash = attempt.new_hash
    throttle.count_sign_in(session, username=attempt.username, address=attempt.address, now=now)
    return user


def issue_token(user: User) -> str:
    """A signed bearer token (also the desk's session cookie). It names the user and the version of
    its sessions; the role and whether the user may still sign in are read on every request."""
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "ver": user.session_version or 0,
        "iat": now,
        "exp": now + timedelta(minutes=settings.token_ttl_minutes),
    }
    return jwt.encode(claims, settings.secret_key, algorithm=TOKEN_ALGORITHM)


API_KEY_PREFIX = "ck_"


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def actor_from_api_key(session: Session, api_key: str) -> Actor:
    partner = session.execute(
        select(Partner).where(Partner.api_key_hash == key_hash(api_key), Partner.active.is_(True))
    ).scalar_one_or_none()
    if partner is None:
        raise NotAuthenticated("unknown or revoked API key")
    customer_ids = session.execute(
        select(PartnerCustomer.customer_id).where(PartnerCustomer.partner_id == partner.id)
    ).scalars()
    return Actor(
        kind="partner",
        id=partner.id,
        name=partner.name,
        role=PARTNER_ROLE,
        customer_ids=frozenset(customer_ids),
    )


@dataclass(frozen=True)
class UserState:
    """What a token is checked against on every request."""

    username: str
    role: str
    active: bool
    session_version: int
    supplier_code: str | None


_USER_STATE = select(User.username, User.role, User.active, User.session_version, User.supplier_code).where(
    User.id == bindparam("user_id")
)


@lru_cache(maxsize=8)
def _user_state_sql(dialect: Dialect) -> str:
    return str(_USER_STATE.compile(dialect=dialect))


def read_user_state(dbapi_connection: Any, dialect: Dialect, user_id: int) -> UserState | None:
    """One read by primary key on a driver connection (pooled, or a session's), with the statement
    compiled once: it runs on every request, and through a session it cost ten times the read itself
    (about 250 µs against 25 µs on SQLite). A single SELECT: it writes nothing whatever the connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(
            _user_state_sql(dialect), (user_id,) if dialect.paramstyle == "qmark" else {"user_id": user_id}
        )
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    username, role, active, version, supplier_code = row
    return UserState(username, role, bool(active), int(version), supplier_code)


def token_subject(token: str) -> tuple[int, int]:
    """The user id and session version a bearer token's valid signature vouches for, while it lasts
    (the signature check is remembered until the token expires)."""
    user_id, version, expires = _verified_token(token)
    if expires <= time.time():
        raise NotAuthenticated("invalid or expired token")
    return user_id, version


def actor_of(user_id: int, version: int, user: UserState | None) -> Actor:
    """The user a token names, as the user stands now: a user since deleted or deactivated, or whose
    sessions were ended since the token was issued (sign-out, a new role or password), is refused."""
    if user is None:
        raise NotAuthenticated("invalid or expired token")
    if not user.active or user.session_version != version:
        raise NotAuthenticated("this session has ended (signed out, or the account changed): sign in again")
    return Actor(
        kind="user", id=user_id, name=user.username, role=user.role, supplier_code=user.supplier_code
    )


def actor_from_token(session: Session, token: str) -> Actor:
    """`actor_of` the token, read on a session (the desk's pages)."""
    user_id, version = token_subject(token)
    connection = session.connection()
    return actor_of(user_id, version, read_user_state(connection.connection, connection.dialect, user_id))


@lru_cache(maxsize=4096)
def _verified_token(token: str) -> tuple[int, int, float]:
    """The user id, the session version and the expiry a token's valid signature vouches for."""
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[TOKEN_ALGORITHM])
        return int(claims["sub"]), int(claims["ver"]), float(claims["exp"])
    except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc


def end_sessions(session: Session, *, user_id: int) -> None:
    """Every token and desk session of the user stops working at its next request (sign-out)."""
    session.execute(update(User).where(User.id == user_id).values(session_version=User.session_version + 1))


def sign_out(session: Session, *, actor: Actor) -> None:
    """The caller ends every session of their own, on every device."""
    end_sessions(session, user_id=actor.id)
    audit.record(session, actor=actor, action=Action.SIGNED_OUT, subject="user", ref=actor.name)


def record_user_change(
    session: Session, *, actor: audit.Who, username: str, change: str, **details: str
) -> None:
    """An administrator's change to a user (role, deactivation, password, sign-out, unlock), for the
    audit trail; never the password itself."""
    audit.record(
        session,
        actor=actor,
        action=Action.USER_CHANGED,
        subject="user",
        ref=username,
        details={"change": change, **details},
    )


def change_role(session: Session, *, username: str, role: str, supplier_code: str | None = None) -> User:
    """A new role takes effect at once: the user's sessions end and the next sign-in carries it."""
    user = _user_to_change(session, username)
    supplier_code = _checked_role(role, supplier_code)
    if user.role == Role.ADMIN and role != Role.ADMIN:
        _keep_an_admin(session, user)
    user.role, user.supplier_code = role, supplier_code
    user.session_version += 1
    return user


def set_active(session: Session, *, username: str, active: bool) -> User:
    """Deactivate (every session ends at once, signing in is refused) or reactivate a user."""
    user = _user_to_change(session, username)
    if not active and user.role == Role.ADMIN:
        _keep_an_admin(session, user)
    user.active = active
    user.session_version += 1
    return user


def set_password(session: Session, *, username: str, password: str) -> User:
    """A new password: the user's sessions end, and the failed sign-ins counted against the account
    are forgotten (an administrator's reset lifts a lock)."""
    user = _user_to_change(session, username)
    _check_password(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    throttle.lift_locks(session, username=username)
    return user


def user_id(session: Session, *, username: str) -> int:
    found = session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"no user {username!r}")
    return found


def _user_to_change(session: Session, username: str) -> User:
    user = session.execute(
        select(User).where(User.username == username).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    others = session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    ).scalar_one()
    if not others:
        raise Conflict(f"{user.username} is the last active admin: make another admin first")


def caller_name(session: Session, caller_key: str) -> str:
    """Who a caller key (`user:12`, `partner:3`) names, as people know them: a username, a partner's
    name; the key itself when it names nobody any more (or the command line)."""
    kind, _, ident = caller_key.partition(":")
    if ident.isascii() and ident.isdigit() and len(ident) <= 18:
        if kind == "user" and (user := session.get(User, int(ident))) is not None:
            return user.username
        if kind == "partner" and (partner := session.get(Partner, int(ident))) is not None:
            return partner.name
    return caller_key
