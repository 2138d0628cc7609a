"""Rendering a desk page: the shared Jinja environment, the banner every page carries (the ERP is
down, how old the snapshot is), the navigation a role may use, the CSRF token for its forms."""

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api import ReadSession
from app.auth.models import Role
from app.auth.service import Actor
from app.config import get_settings
from app.system import SystemWarning, mode_banner, system_state
from app.templating import Lang, environment, format_money
from app.web.i18n import labeller, lang_of, translator
from app.web.session import CSRF_FIELD, allowed, csrf_token, remember_csrf

T = TypeVar("T")


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    roles: tuple[Role, ...]


NAVIGATION = (
    NavItem("/orders/new", "Saisie de commande", (Role.REP,)),
    NavItem("/orders", "Commandes", (Role.REP, Role.WAREHOUSE, Role.FINANCE)),
    NavItem("/inbox", "Emails", (Role.REP,)),
    NavItem("/edi", "EDI", (Role.REP,)),
    NavItem("/returns/new", "Retours", (Role.REP,)),
    NavItem("/warehouse", "Entrepôt", (Role.WAREHOUSE,)),
    NavItem("/finance", "Finance", (Role.FINANCE,)),
    NavItem("/supplier", "Fournisseurs", (Role.SUPPLIER, Role.FINANCE)),
    NavItem("/admin", "Administration", ()),
    NavItem("/admin/audit", "Journal d'audit", ()),
)


def home_for(actor: Actor) -> str:
    """The page a person lands on after signing in."""
    return next((item.href for item in NAVIGATION if allowed(actor, item.roles)), "/orders")


@dataclass(frozen=True)
class Banner:
    mode: str
    snapshot_as_of: datetime | None
    snapshot_age_hours: int | None
    warnings: tuple[SystemWarning, ...] = ()

    def for_viewer(self, actor: Actor | None) -> "Banner":
        """Each warning for the people who act on it, and the admins: finance's (what waits for the
        ERP, invoicing deadlines) for finance, refused EDI files for the reps. Everybody reads the
        mode and the snapshot's date."""
        if actor is None:
            return replace(self, warnings=())
        shown = tuple(w for w in self.warnings if allowed(actor, _AUDIENCE.get(w.code, (Role.FINANCE,))))
        return replace(self, warnings=shown)

    def lines(self, lang: Lang) -> list[str]:
        """What the banner says, in the page's language: the mode, then each warning."""
        mode = mode_banner(self.mode)
        said = [translator(lang)(mode)] if mode else []
        return said + [_warning_text(warning, lang) for warning in self.warnings]


# Who reads a warning on the banner besides the admins (finance, unless named here).
_AUDIENCE: dict[str, tuple[Role, ...]] = {"edi_files_refused": (Role.REP,)}

# The system's warnings as the desk says them (the API's `detail` is English).
_WARNINGS: dict[str, dict[Lang, str]] = {
    "edi_files_refused": {
        "fr": "{count} fichier(s) EDI refusé(s) depuis 24 h : le partenaire a reçu le refus, voyez "
        "pourquoi dans EDI (acheteur inconnu, fichier cassé).",
        "en": "{count} EDI file(s) refused in the last 24 hours: the partner was told, see why under EDI "
        "(unknown buyer, broken file).",
    },
    "replay_needs_a_person": {
        "fr": "{count} document(s) que la reprise ne peut pas passer dans l'ERP : à saisir à la main ou à "
        "annuler (Finance).",
        "en": "{count} document(s) the replay cannot put into the ERP: key them by hand or cancel them "
        "(Finance).",
    },
    "uninvoiced_past_month": {
        "fr": "{count} bon(s) de livraison des mois passés pas encore facturé(s) dans l'ERP : reprenez-les "
        "avant la clôture de la facturation du mois.",
        "en": "{count} delivery note(s) of past months not yet invoiced in the ERP: replay them before the "
        "month's invoicing closes.",
    },
    "uninvoiced_delivery": {
        "fr": "{count} bon(s) de livraison pas encore facturé(s) dans l'ERP, le plus ancien livré il y a "
        "{age_days} jour(s), {amount} TTC : une facture par bon est due à la livraison, lancez la reprise.",
        "en": "{count} delivery note(s) not yet invoiced in the ERP, the oldest delivered {age_days} day(s) "
        "ago, {amount} incl. VAT: an invoice per delivery note is due at delivery, replay them.",
    },
    "recap_due_at_month_end": {
        "fr": "{count} bon(s) de livraison de ce mois, {amount} TTC, attendent leur facture récapitulative, "
        "due en fin de mois : lancez la reprise avant.",
        "en": "{count} delivery note(s) of this month, {amount} incl. VAT, wait for their recap invoice, "
        "due at the end of the month: replay before it.",
    },
}


def _warning_text(warning: SystemWarning, lang: Lang) -> str:
    wording = _WARNINGS.get(warning.code)
    if wording is None:
        return warning.detail
    amount = format_money(warning.amount, lang) if warning.amount is not None else ""
    return wording[lang].format(count=warning.count, age_days=warning.age_days, amount=amount)


BANNER_SECONDS = 5.0
_banners: dict[str, tuple[float, Banner]] = {}


def banner(session: Session) -> Banner:
    """What every page says at the top. The system's state takes a few queries over whole tables
    (the oldest stock figure, documents waiting): it is read again every few seconds, not per page."""
    key = str(session.get_bind().engine.url)
    cached = _banners.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    system = system_state(session)
    as_of = system.snapshot_as_of
    local = as_of.astimezone(ZoneInfo(get_settings().business_timezone)) if as_of else None
    age = system.snapshot_age_seconds
    fresh = Banner(system.mode, local, age // 3600 if age is not None else None, tuple(system.warnings))
    _banners[key] = (time.monotonic() + BANNER_SECONDS, fresh)
    return fresh


def forget_banner() -> None:
    """The mode changed here (an incident declared or ended): the next page reads it afresh."""
    _banners.clear()


def render(
    request: Request,
    template: str,
    *,
    actor: Actor | None,
    top: Banner | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page (with `top`, the banner, read by the route) or a fragment of one."""
    lang = lang_of(request)
    values = {
        "request": request,
        "lang": lang,
        "t": translator(lang),
        "label": labeller(lang),
        "user": actor,
        "nav": [item for item in NAVIGATION if actor is not None and allowed(actor, item.roles)],
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        "banner": top.for_viewer(actor) if top is not None else None,
        "timezone": ZoneInfo(get_settings().business_timezone),
        **context,
    }
    html = environment.get_template(f"web/{template}").render(values)
    response = HTMLResponse(html, status_code=status_code)
    remember_csrf(request, response)
    return response


def local_time(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(get_settings().business_timezone))


@dataclass(frozen=True)
class Reader:
    """Reads for an async page route (one that also writes): `await reads(work)` runs `work` on the
    request's read-only session in the threadpool, never on the event loop."""

    session: Session

    async def __call__(self, work: Callable[[Session], T]) -> T:
        return await run_in_threadpool(work, self.session)


def get_reader(session: ReadSession) -> Reader:
    return Reader(session)


Reads = Annotated[Reader, Depends(get_reader)]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"
