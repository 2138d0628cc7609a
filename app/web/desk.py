"""Signing in and out, the start page, the language."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.api import ReadSession, Writes
from app.auth import service as auth
from app.auth.models import User
from app.auth.signing_in import sign_in as check_password
from app.errors import NotAuthenticated
from app.web.i18n import lang_of, translator
from app.web.pages import Reads, banner, home_for, render
from app.web.session import LANG_COOKIE, Csrf, end_session, signed_in_actor, start_session

router = APIRouter()


def safe_next(url: str | None) -> str | None:
    """Only a path of this site: never another host (`//evil`, `https://...`)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


@router.get("/", response_class=HTMLResponse)
def start(request: Request, session: ReadSession) -> RedirectResponse:
    actor = signed_in_actor(request, session)
    return RedirectResponse(home_for(actor) if actor else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: ReadSession, next: str | None = None) -> HTMLResponse:
    return render(
        request,
        "login.html",
        actor=None,
        top=banner(session),
        next_url=safe_next(next) or "",
        error=None,
        username="",
    )


@router.post("/login", response_class=HTMLResponse, dependencies=[Csrf])
async def sign_in(
    request: Request,
    reads: Reads,
    writes: Writes,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Refused sign-ins are said next to the form: a wrong password (401), or a lock after repeated
    failures (429, with how long it lasts and `Retry-After`)."""
    host = request.client.host if request.client else None
    t = translator(lang_of(request))
    try:
        user = await check_password(
            reads.session, writes, username=username, password=password, host=host, via="desk"
        )
    except auth.TooManyAttempts as exc:
        error = t("Trop d'échecs de connexion : réessayez dans {minutes} min.").format(minutes=exc.minutes)
        page = await reads(lambda session: _login_page(request, session, error, username, next, 429))
        page.headers.update(exc.answer_headers())
        return page
    except NotAuthenticated:
        error = t("Identifiant ou mot de passe incorrect.")
        return await reads(lambda session: _login_page(request, session, error, username, next, 401))
    response = RedirectResponse(safe_next(next) or home_for(_signed_in(user)), status_code=303)
    start_session(request, response, auth.issue_token(user))
    return response


def _login_page(
    request: Request, session: Session, error: str, username: str, next_url: str, status_code: int
) -> HTMLResponse:
    return render(
        request,
        "login.html",
        actor=None,
        top=banner(session),
        status_code=status_code,
        next_url=safe_next(next_url) or "",
        error=error,
        username=username,
    )


def _signed_in(user: User) -> auth.Actor:
    return auth.Actor(kind="user", id=user.id, name=user.username, role=user.role)


@router.post("/logout", dependencies=[Csrf])
async def sign_out(request: Request, reads: Reads, writes: Writes) -> RedirectResponse:
    """Signing out ends the session for good (and every other session of the person): the cookie's
    token, copied or kept, no longer opens anything."""
    actor = await reads(lambda session: signed_in_actor(request, session))
    if actor is not None:
        await writes.write(lambda session: auth.sign_out(session, actor=actor))
    response = RedirectResponse("/login", status_code=303)
    end_session(response)
    return response


@router.get("/lang/{lang}")
def choose_language(request: Request, lang: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    response.set_cookie(
        LANG_COOKIE, "en" if lang == "en" else "fr", samesite="lax", path="/", max_age=400 * 86400
    )
    return response
