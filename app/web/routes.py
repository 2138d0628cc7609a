"""The desk's routers, its assets, and its errors as pages."""

from pathlib import Path
from typing import Final
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.web import (
    admin,
    audit_trail,
    desk,
    edi,
    entry,
    finance,
    inbox,
    orders,
    returns,
    status,
    suppliers,
    warehouse,
)
from app.web.pages import render
from app.web.session import SignInRequired, known_actor

ASSETS: Final = Path(__file__).resolve().parent.parent / "assets" / "web"
NOT_PAGES: Final = ("/api/", "/healthz", "/metrics", "/assets/")
# Order matters: `/orders/new` before `/orders/{number}`, `/returns/new` before `/returns/{number}`.
PAGES: Final = (
    desk,
    entry,
    orders,
    returns,
    inbox,
    edi,
    warehouse,
    finance,
    suppliers,
    admin,
    audit_trail,
    status,
)
TITLES: Final = {
    400: "Demande invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    409: "Opération impossible",
    422: "Demande invalide",
    429: "Trop de demandes",
}


def error_page(request: Request, status: int, title: str, detail: str) -> Response | None:
    """A desk page's error as a page (a form's own errors are shown next to its fields instead), with
    the menu of the person the page found signed in (an error handler reads no database)."""
    if request.url.path.startswith(NOT_PAGES):
        return None
    return render(
        request,
        "error.html",
        actor=known_actor(request),
        status_code=status,
        title=TITLES.get(status, title),
        detail=detail,
    )


async def _sign_in_first(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)


def install(app: FastAPI) -> None:
    for module in PAGES:
        app.include_router(module.router, include_in_schema=False)
    app.mount("/assets", StaticFiles(directory=ASSETS), name="assets")
    app.add_exception_handler(SignInRequired, _sign_in_first)
