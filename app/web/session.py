"""Who is at the desk: a signed session cookie for people, and a CSRF check on every form.

The session cookie carries the same signed token the API issues (app/auth), HttpOnly, SameSite=Lax,
Secure over HTTPS. CSRF is a double submit: a random `carnet_csrf` cookie (SameSite=Strict, HttpOnly)
whose value every form repeats in a hidden field, and every htmx request in the `X-CSRF-Token`
header (set once on `<body>` through `hx-headers`). A page read from another site cannot know it.
"""

import hmac
import secrets
from typing import Annotated, Final

from fastapi import Depends, Request, Response

from app.auth.models import Role
from app.auth.service import Actor, actor_from_token
from app.errors import DomainError, NotAuthenticated, NotPermitted
from app.logs import note_caller

SESSION_COOKIE: Final = "carnet_session"
CSRF_COOKIE: Final = "carnet_csrf"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
LANG_COOKIE: Final = "carnet_lang"
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """A page was asked for without a valid session: the desk answers with the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(DomainError):
    status = 403
    slug = "csrf"
    title = "Form refused"


def signed_in_actor(request: Request) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        actor = actor_from_token(token)
    except NotAuthenticated:
        return None
    note_caller(request, kind=actor.kind, name=actor.name)
    return actor


def csrf_token(request: Request) -> str:
    """The token forms repeat: the cookie's, or a new one that `remember_csrf` will set."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def remember_csrf(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new is not None:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", secure=_https(request), path="/"
        )


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form field or header does not repeat the CSRF cookie."""
    if request.method in SAFE_METHODS:
        return
    expected = request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfRefused(
            "the form's security token is missing or out of date: reload the page and send it again"
        )


def start_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_https(request), path="/"
    )


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


class DeskRoles:
    """A page's dependency: the signed-in person, who must hold one of the roles (admins hold all)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Actor:
        actor = signed_in_actor(request)
        if actor is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInRequired(path)
        if self.roles and not allowed(actor, self.roles):
            raise NotPermitted("this page is not for your role")
        return actor


def allowed(actor: Actor, roles: tuple[Role, ...]) -> bool:
    return actor.role == Role.ADMIN or actor.role in roles


Csrf = Depends(check_csrf)
AnyDeskUser = Annotated[Actor, Depends(DeskRoles())]
Rep = Annotated[Actor, Depends(DeskRoles(Role.REP))]
Warehouse = Annotated[Actor, Depends(DeskRoles(Role.WAREHOUSE))]
Finance = Annotated[Actor, Depends(DeskRoles(Role.FINANCE))]
Admin = Annotated[Actor, Depends(DeskRoles(Role.ADMIN))]
OrderReader = Annotated[Actor, Depends(DeskRoles(Role.REP, Role.WAREHOUSE, Role.FINANCE))]
SupplierReader = Annotated[Actor, Depends(DeskRoles(Role.SUPPLIER, Role.FINANCE))]
