"""The admin's page: the incident (and with it the system's mode, shown in every page's banner),
master-data imports with their report row by row, people who sign in, EDI partners (a key shown once)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api import ReadSession, Writes
from app.auth import service as users
from app.auth.models import Partner, Role, User
from app.auth.service import Actor, create_user
from app.auth.throttle import lift_locks
from app.catalog.importing import import_data
from app.catalog.reading import KINDS, ImportKind, parse_as_of
from app.catalog.repository import latest_snapshot
from app.edi.partners import create_partner
from app.errors import DomainError
from app.incidents import service as incidents
from app.web.pages import Reads, banner, forget_banner, render
from app.web.session import Admin, Csrf

router = APIRouter()


def _page_values(session: Session) -> dict[str, Any]:
    mode, incident = incidents.current_mode(session)
    return {
        "mode": mode,
        "incident": incident,
        "snapshot": latest_snapshot(session),
        "users": session.execute(select(User).order_by(User.username)).scalars().all(),
        "partners": session.execute(select(Partner).order_by(Partner.name)).scalars().all(),
        "roles": list(Role),
        "kinds": KINDS,
    }


def _admin_page(
    request: Request, session: Session, actor: Actor, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    values = {"message": None, "error": None, "import_result": None, "api_key": None, **extra}
    return render(
        request,
        "admin.html",
        actor=actor,
        top=banner(session),
        status_code=status_code,
        **_page_values(session),
        **values,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, session: ReadSession, actor: Admin, done: str = "") -> HTMLResponse:
    return _admin_page(request, session, actor, message=done or None)


async def _after(request: Request, actor: Actor, reads: Reads, exc: DomainError) -> HTMLResponse:
    return await reads(lambda session: _admin_page(request, session, actor, 422, error=exc.detail))


@router.post("/admin/incidents", dependencies=[Csrf])
async def declare_incident(
    request: Request,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    reason: Annotated[str, Form(min_length=1, max_length=500)],
    started_at: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    try:
        start = parse_as_of(started_at) if started_at.strip() else None
        await writes.write(
            lambda session: incidents.declare_incident(session, reason=reason, started_at=start, actor=actor)
        )
    except ValueError:
        return await _after(
            request, actor, reads, DomainError(f"début {started_at!r} : jj/mm/aaaa hh:mm attendu")
        )
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    forget_banner()
    return RedirectResponse("/admin?done=incident", status_code=303)


@router.post("/admin/incidents/{incident_id}/end", dependencies=[Csrf])
async def end_incident(
    request: Request, incident_id: int, actor: Admin, reads: Reads, writes: Writes
) -> Response:
    try:
        await writes.write(
            lambda session: incidents.end_incident(
                session, incident_id=incident_id, ended_at=None, actor=actor
            )
        )
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    forget_banner()
    return RedirectResponse("/admin?done=incident-ended", status_code=303)


@router.post("/admin/imports", dependencies=[Csrf])
async def import_master_data(
    request: Request,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    kind: Annotated[ImportKind, Form()],
    file: Annotated[UploadFile, File()],
    as_of: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The same import as `carnet import`: rows that are wrong are listed, the rest is imported."""
    data = await file.read()
    name = file.filename or "upload"
    fmt: Literal["csv", "json"] = "json" if name.lower().endswith(".json") else "csv"
    try:
        moment: datetime | None = parse_as_of(as_of) if as_of.strip() else None
    except ValueError:
        return await _after(request, actor, reads, DomainError(f"date {as_of!r} : jj/mm/aaaa hh:mm attendu"))
    try:
        result = await writes.write(
            lambda session: import_data(
                session, kind=kind, data=data, source=name, fmt=fmt, as_of=moment, actor=actor
            )
        )
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    return await reads(lambda session: _admin_page(request, session, actor, import_result=result))


@router.post("/admin/users", dependencies=[Csrf])
async def add_user(
    request: Request,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)],
    supplier_code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        await writes.write(
            lambda session: create_user(
                session,
                username=username,
                password=password,
                role=role,
                supplier_code=supplier_code,
                actor=actor,
            )
        )
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    return RedirectResponse(f"/admin?done=user-{username}", status_code=303)


UserChange = Literal["role", "deactivate", "activate", "password", "sign-out", "unlock"]


@router.post("/admin/users/{change}", dependencies=[Csrf])
async def change_user(
    request: Request,
    change: UserChange,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)] = "",
    supplier_code: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new role, a deactivation or a new password end the user's sessions at once (as does
    "sign out"); "unlock" forgets the failed sign-ins counted against the account."""

    def apply(session: Session) -> None:
        if change == "role":
            users.change_role(session, username=username, role=role, supplier_code=supplier_code)
        elif change in ("deactivate", "activate"):
            users.set_active(session, username=username, active=change == "activate")
        elif change == "password":
            users.set_password(session, username=username, password=password)
        elif change == "sign-out":
            users.end_sessions(session, user_id=users.user_id(session, username=username))
        else:
            lift_locks(session, username=username)
        details = {"role": role} if change == "role" else {}
        users.record_user_change(session, actor=actor, username=username, change=change, **details)

    try:
        await writes.write(apply)
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    return RedirectResponse(f"/admin?done={change}-{quote(username)}", status_code=303)


@router.post("/admin/partners", dependencies=[Csrf])
async def add_partner(
    request: Request,
    actor: Admin,
    reads: Reads,
    writes: Writes,
    name: Annotated[str, Form(max_length=100)],
    customers: Annotated[str, Form(max_length=20_000)],
) -> Response:
    """The partner's API key is shown on this answer only: it is stored hashed."""
    codes = [code.strip().upper() for code in customers.replace(",", " ").split() if code.strip()]
    try:
        key = await writes.write(
            lambda session: create_partner(session, name=name, customer_codes=codes, actor=actor)[1]
        )
    except DomainError as exc:
        return await _after(request, actor, reads, exc)
    return await reads(
        lambda session: _admin_page(request, session, actor, api_key=key, message=f"partner-{name}")
    )
