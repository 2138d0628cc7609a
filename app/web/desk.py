"""Signing in and out, the start page, the language."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from app.api import ReadSession, Writes
from app.audit import service as audit
from app.auth import service as auth
from app.errors import NotAuthenticated
from app.web.pages import Reads, banner, home_for, render
from app.web.session import LANG_COOKIE, Csrf, end_session, signed_in_actor, start_session

router = APIRouter()


def safe_next(url: str | None) -> str | None:
    """Only a path of this site: never another host (`//evil`, `https://...`)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return None


@router.get("/", response_class=HTMLResponse)
def start(request: Request) -> RedirectResponse:
    actor = signed_in_actor(request)
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
    """The password is checked on the read session; the sign-in, or its failure, is recorded in the
    audit trail through the writer."""

    def refused(session: Session, status_code: int, error: str) -> HTMLResponse:
        return render(
            request,
            "login.html",
            actor=None,
            top=banner(session),
            status_code=status_code,
            next_url=safe_next(next) or "",
            error=error,
            username=username,
        )

    client = request.client.host if request.client else "?"
    try:
        user = await reads(partial(auth.sign_in, username=username, password=password, client=client))
    except auth.TooManyAttempts as exc:
        wait = exc.detail
        return await reads(lambda session: refused(session, 429, wait))
    except NotAuthenticated:
        await writes.write(partial(audit.sign_in_failed, username=username, client=client, via="desk"))
        return await reads(lambda session: refused(session, 401, "Identifiant ou mot de passe incorrect."))
    await writes.write(
        partial(audit.signed_in, user_id=user.id, username=user.username, client=client, via="desk")
    )
    token = auth.issue_token(user)
    actor = auth.actor_from_token(token)
    response = RedirectResponse(safe_next(next) or home_for(actor), status_code=303)
    start_session(request, response, token)
    return response


@router.post("/logout", dependencies=[Csrf])
def sign_out() -> RedirectResponse:
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
