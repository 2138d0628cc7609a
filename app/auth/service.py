"""Users, password hashing (argon2 via pwdlib) and signed bearer tokens."""

import hashlib
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.audit.models import Action
from app.auth.models import Partner, PartnerCustomer, Role, User
from app.clock import utcnow
from app.config import get_settings
from app.errors import Conflict, DomainError, InvalidInput, NotAuthenticated, NotPermitted

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
    if role not in set(Role):
        raise InvalidInput(f"unknown role {role!r}; expected one of {', '.join(Role)}", loc=("role",))
    supplier_code = (supplier_code or "").strip() or None
    if (role == Role.SUPPLIER) != (supplier_code is not None):
        raise InvalidInput(
            "a supplier code is given for the role supplier, and only for it", loc=("supplier_code",)
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters", loc=("password",))
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


class TooManyAttempts(DomainError):
    status = 429
    slug = "too-many-attempts"
    title = "Too many failed sign-ins"


class SignInThrottle:
    """Failed sign-ins counted per username and per client address, in this process: past the limit
    within the window, signing in is refused (the right password too) until the window has passed.
    A guesser gets a handful of tries per quarter of an hour instead of ten a second."""

    def __init__(self, *, per_user: int = 5, per_client: int = 30, window_seconds: float = 900.0) -> None:
        self.per_user = per_user
        self.per_client = per_client
        self.window = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        recent = [moment for moment in self._failures.get(key, []) if moment > now - self.window]
        self._failures[key] = recent
        return recent

    def check(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key, limit in (
                (f"user:{username.lower()}", self.per_user),
                (f"client:{client}", self.per_client),
            ):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    wait = int(recent[0] + self.window - now) + 1
                    raise TooManyAttempts(f"too many failed sign-ins: try again in {wait // 60 + 1} min")

    def failed(self, username: str, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            for key in (f"user:{username.lower()}", f"client:{client}"):
                self._failures.setdefault(key, []).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.lower()}", None)

    def forget(self) -> None:
        """Lift every lock (an administrator's restart does the same)."""
        with self._lock:
            self._failures.clear()


sign_in_throttle = SignInThrottle()


def sign_in(session: Session, *, username: str, password: str, client: str) -> User:
    """Check a password, within the throttle's limits (the API's token and the desk's sign-in)."""
    sign_in_throttle.check(username, client)
    try:
        user = authenticate(session, username=username, password=password)
    except NotAuthenticated:
        sign_in_throttle.failed(username, client)
        raise
    sign_in_throttle.succeeded(username)
    return user


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        _hasher().hash(password)  # same cost whether the user exists or not
        raise NotAuthenticated("unknown user or wrong password")
    valid, new_hash = _hasher().verify_and_update(password, user.password_hash)
    if not valid or not user.active:
        raise NotAuthenticated("unknown user or wrong password")
    if new_hash:
        user.password_hash = new_hash
    return user


def issue_token(user: User) -> str:
    settings = get_settings()
    now = utcnow()
    claims = {
        "sub": str(user.id),
        "name": user.username,
        "role": user.role,
        "supplier": user.supplier_code,
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


def actor_from_token(token: str) -> Actor:
    """Verify a bearer token. The role is in the signed claims, so no query is needed per request;
    a verified token is remembered until it expires (a client sends the same token many times)."""
    actor, expires = _verified_token(token)
    if expires <= time.time():
        raise NotAuthenticated("invalid or expired token")
    return actor


@lru_cache(maxsize=4096)
def _verified_token(token: str) -> tuple[Actor, float]:
    try:
        claims = jwt.decode(token, get_settings().secret_key, algorithms=[TOKEN_ALGORITHM])
        actor = Actor(
            kind="user",
            id=int(claims["sub"]),
            name=str(claims["name"]),
            role=str(claims["role"]),
            supplier_code=claims.get("supplier"),
        )
        return actor, float(claims["exp"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise NotAuthenticated("invalid or expired token") from exc
