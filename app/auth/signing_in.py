"""Signing in, for the API's token and the desk's form alike: the password is checked on the request's
read session in the threadpool (argon2 costs tens of milliseconds, never spent inside the writer's
batch), then what came of it is recorded in a unit of work of the writer."""

from functools import partial

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.audit import service as audit
from app.auth import service, throttle
from app.auth.models import User
from app.errors import NotAuthenticated
from app.writer import UnitOfWorkRunner


async def sign_in(
    session: Session,
    writes: UnitOfWorkRunner,
    *,
    username: str,
    password: str,
    host: str | None,
    via: str,
) -> User:
    """The user the password opens; `TooManyAttempts` (429) while a lock holds, else
    `NotAuthenticated` (401) for a wrong password, an unknown or a deactivated user alike. The sign-in
    or its failure goes to the audit trail (`via`: `api` or `desk`) in the same unit as its count."""
    address = throttle.client_address(host)
    attempt = await run_in_threadpool(
        partial(service.check_sign_in, session, username=username, password=password, address=address)
    )
    user = await writes.write(
        partial(_record, attempt=attempt, username=username, client=host or "?", via=via)
    )
    if user is None:
        raise NotAuthenticated("unknown user or wrong password")
    return user


def _record(
    session: Session, *, attempt: service.SignInAttempt, username: str, client: str, via: str
) -> User | None:
    user = service.record_sign_in(session, attempt=attempt)
    if user is None:
        audit.sign_in_failed(session, username=username, client=client, via=via)
    else:
        audit.signed_in(session, user_id=user.id, username=user.username, client=client, via=via)
    return user
