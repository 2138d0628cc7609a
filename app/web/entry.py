"""Order entry for a rep on the phone: customer search, lines by code, GTIN or title, live prices and
warnings from the capture service itself, and one keystroke to record the order.

The whole form is state the browser sends back (no draft on the server): each post re-plans the order
with `capture.preview_order` (the same prices and warnings capture gives) and renders the form again.
Without JavaScript, Enter or "Ajouter" posts the form; with htmx only the form is swapped, and the
focus goes where the server says (`data-focus`).
"""

import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.api import Once, ReadSession, Writes
from app.auth.service import Actor
from app.catalog.models import Customer
from app.catalog.repository import find_customers, find_products
from app.catalog.service import default_shipping_address
from app.email import service as inbox
from app.errors import DomainError
from app.numbering import Rank
from app.orders import capture
from app.orders import service as orders
from app.orders.capture import OrderPlan
from app.orders.models import Channel
from app.orders.schemas import OrderCreate, OrderRead, Warning
from app.tracking.service import issue_link
from app.web.pages import Banner, Reads, banner, is_htmx, render
from app.web.session import Csrf, Rep
from app.web.typing import decimal_of, item_code, number_text, said

router = APIRouter()

SUGGESTIONS = 8
RECENT_ORDERS = 5


@dataclass
class EntryLine:
    code: str
    quantity: str


@dataclass
class EntryForm:
    """What the rep has typed so far, as the browser sends it back."""

    key: str
    customer_query: str = ""
    customer_code: str = ""
    shipping_address: str = ""
    channel: str = Channel.PHONE
    customer_reference: str = ""
    notes: str = ""
    email_text: str = ""
    item: str = ""
    item_quantity: str = "1"
    lines: list[EntryLine] = field(default_factory=list)
    inbox_item: int | None = None  # the email the order is keyed from, shown beside the form

    @classmethod
    def blank(cls) -> "EntryForm":
        return cls(key=secrets.token_urlsafe(16))

    @classmethod
    def from_form(cls, form: FormData) -> "EntryForm":
        def text(name: str, default: str = "") -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else default

        codes = [c for c in form.getlist("code") if isinstance(c, str)]
        quantities = [q for q in form.getlist("quantity") if isinstance(q, str)]
        return cls(
            key=text("entry_key") or secrets.token_urlsafe(16),
            customer_query=text("customer_query"),
            customer_code=text("customer_code"),
            shipping_address=text("shipping_address"),
            channel=text("channel", Channel.PHONE),
            customer_reference=text("customer_reference"),
            notes=text("notes"),
            email_text=text("email_text"),
            item=text("item"),
            item_quantity=text("item_quantity") or "1",
            lines=[EntryLine(c.strip(), q.strip()) for c, q in zip(codes, quantities, strict=False)],
            inbox_item=int(text("inbox_item")) if text("inbox_item").isdigit() else None,
        )

    def draft_values(self) -> dict[str, Any]:
        return {
            "customer_code": self.customer_code,
            "channel": self.channel,
            "customer_reference": self.customer_reference or None,
            "shipping_address": self.shipping_address or None,
            "notes": self.notes or None,
            "email_text": (self.email_text or None) if self.channel == Channel.EMAIL else None,
            "lines": [
                {"product_code": line.code, "quantity": number_text(line.quantity)} for line in self.lines
            ],
        }


@dataclass
class EntryState:
    """The form, what the server made of it, and where each message goes."""

    form: EntryForm
    customer: Customer | None = None
    recent: list[OrderRead] = field(default_factory=list)
    plan: OrderPlan | None = None
    errors: dict[str, str] = field(default_factory=dict)
    line_errors: dict[int, str] = field(default_factory=dict)
    focus: str = "customer_query"

    def line_warnings(self, line_no: int) -> list[Warning]:
        if self.plan is None:
            return []
        return [w for w in self.plan.warnings if w.line_no == line_no]

    def order_warnings(self) -> list[Warning]:
        if self.plan is None:
            return []
        return [w for w in self.plan.warnings if w.line_no is None]


def _resolve_customer(session: Session, state: EntryState, actor: Actor) -> None:
    form = state.form
    if form.customer_query and form.customer_query != form.customer_code:
        found = find_customers(session, form.customer_query, limit=2, customer_ids=actor.customer_ids)
        exact = [c for c in found if c.code == form.customer_query.upper()]
        if exact or len(found) == 1:
            chosen = (exact or found)[0]
            form.customer_code = form.customer_query = chosen.code
            form.shipping_address = ""
            state.focus = "item"
        else:
            form.customer_code = ""
            state.errors["customer_query"] = (
                "aucun client ne correspond" if not found else "plusieurs clients correspondent : précisez"
            )
            return
    if not form.customer_query:
        form.customer_code = ""
    if not form.customer_code:
        return
    customers = find_customers(session, form.customer_code, limit=1, customer_ids=actor.customer_ids)
    state.customer = next((c for c in customers if c.code == form.customer_code), None)
    if state.customer is None:
        state.errors["customer_query"] = "client inconnu"
        return
    default = default_shipping_address(state.customer.shipping_addresses)
    if not form.shipping_address and default is not None:
        form.shipping_address = default.code
    state.recent = orders.list_orders(
        session,
        actor=actor,
        customer_code=state.customer.code,
        status=None,
        channel=None,
        q=None,
        before_id=None,
        limit=RECENT_ORDERS,
    ).items


def _add_item(session: Session, state: EntryState) -> None:
    """The item field's text becomes a line: an exact code or GTIN, else the one product it matches.
    The same product again adds to its line (a scanner scanning twice means two)."""
    form = state.form
    if not form.item:
        return
    quantity = decimal_of(form.item_quantity)
    if quantity is None or quantity <= 0:
        state.errors["item_quantity"] = "quantité invalide"
        state.focus = "item_quantity"
        return
    code, refusal = item_code(session, form.item)
    if code is None:
        state.errors["item"] = refusal or ""
        state.focus = "item"
        return
    for line in form.lines:
        if line.code == code:
            current = decimal_of(line.quantity) or Decimal(0)
            line.quantity = format(current + quantity, "f")
            break
    else:
        form.lines.append(EntryLine(code, format(quantity, "f")))
    form.item, form.item_quantity = "", "1"
    state.focus = "item"


def _plan(session: Session, state: EntryState, actor: Actor) -> None:
    if state.customer is None or not state.form.lines:
        return
    try:
        draft = OrderCreate.model_validate(state.form.draft_values())
    except ValidationError as exc:
        _place_validation_errors(state, exc.errors())
        return
    try:
        state.plan = capture.preview_order(session, draft=draft, actor=actor)
    except DomainError as exc:
        _place_domain_error(state, exc)


def _place_validation_errors(state: EntryState, errors: list[Any]) -> None:
    for error in errors:
        _place(state, tuple(error["loc"]), said(error))


def _place_domain_error(state: EntryState, exc: DomainError) -> None:
    if not exc.errors:
        state.errors["order"] = exc.detail
    for error in exc.errors:
        _place(state, error.loc[1:] if error.loc[:1] == ("body",) else error.loc, error.msg)


def _place(state: EntryState, loc: tuple[Any, ...], message: str) -> None:
    """Put a message next to the field it is about (`lines.2.quantity` goes to line 3)."""
    if loc[:1] == ("lines",) and len(loc) > 1 and isinstance(loc[1], int):
        state.line_errors.setdefault(loc[1], message)
        state.focus = state.focus if state.focus != "customer_query" else f"quantity-{loc[1]}"
        return
    name = {"customer_code": "customer_query"}.get(
        str(loc[0]) if loc else "order", str(loc[0]) if loc else "order"
    )
    state.errors.setdefault(name, message)


def build_state(session: Session, form: EntryForm, actor: Actor, action: str) -> EntryState:
    state = EntryState(form=form, focus="item" if form.customer_code else "customer_query")
    if action.startswith("remove-"):
        index = int(action.removeprefix("remove-")) if action.removeprefix("remove-").isdigit() else -1
        if 0 <= index < len(form.lines):
            del form.lines[index]
    _resolve_customer(session, state, actor)
    if state.customer is not None:
        _add_item(session, state)
    _plan(session, state, actor)
    return state


def _page(request: Request, top: Banner, actor: Actor, state: EntryState, status: int = 200) -> HTMLResponse:
    """The form alone for htmx (always 200: htmx swaps only successful answers), else the whole page
    with its status (422 when a save was refused)."""
    if is_htmx(request):
        return render(request, "entry_form.html", actor=actor, state=state)
    return render(request, "entry.html", top=top, actor=actor, state=state, status_code=status)


@router.get("/orders/new", response_class=HTMLResponse)
def new_order(request: Request, session: ReadSession, actor: Rep) -> HTMLResponse:
    return _page(request, banner(session), actor, EntryState(form=EntryForm.blank()))


class DeskCaptured(BaseModel):
    number: str
    status_token: str


@router.post("/orders/new", response_class=HTMLResponse, dependencies=[Csrf])
async def post_order_form(request: Request, actor: Rep, reads: Reads, writes: Writes) -> Response:
    form_data = await request.form()
    form = EntryForm.from_form(form_data)
    action = str(form_data.get("action") or "refresh")
    state, top = await reads(lambda session: (build_state(session, form, actor, action), banner(session)))
    if action != "save" or state.errors or state.line_errors or state.plan is None:
        if action == "save":
            _explain_refusal(state)
        return _page(request, top, actor, state, 422 if action == "save" else 200)
    draft = OrderCreate.model_validate(form.draft_values())
    once = Once.of(actor.caller_key, form.key, scope="desk:", payload=draft.model_dump(mode="json"))
    try:
        answer = await once.write_planned(
            writes,
            lambda session: capture.plan_order(session, draft=draft, actor=actor),
            lambda session, plan: _record(session, plan, actor, form.inbox_item),
            rank=Rank.ORDERS,
        )
    except DomainError as exc:
        _place_domain_error(state, exc)
        return _page(request, top, actor, state, 422)
    number = json.loads(bytes(answer.body))["number"]
    target = f"/orders/{number}?captured=1"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _explain_refusal(state: EntryState) -> None:
    if state.form.item:
        state.errors.setdefault("item", "ligne non ajoutée : Entrée pour l'ajouter, ou videz le champ")
    if state.customer is None:
        state.errors.setdefault("customer_query", "choisissez le client")
    elif not state.form.lines:
        state.errors.setdefault("item", "ajoutez au moins une ligne")


def _record(session: Session, plan: OrderPlan, actor: Actor, inbox_item: int | None) -> DeskCaptured:
    order = capture.record_order(session, plan=plan, actor=actor)
    token = issue_link(session, order_number=order.number, issued_by=actor.caller_key)
    if inbox_item is not None:
        inbox.link_order(session, message_id=inbox_item, order_number=order.number)
    return DeskCaptured(number=order.number, status_token=token)


@router.get("/orders/new/customers", response_class=HTMLResponse)
def customer_suggestions(
    request: Request,
    session: ReadSession,
    actor: Rep,
    customer_query: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    customers = find_customers(session, customer_query, limit=SUGGESTIONS, customer_ids=actor.customer_ids)
    return render(request, "suggest_customers.html", actor=actor, customers=customers)


@router.get("/orders/new/products", response_class=HTMLResponse)
def product_suggestions(
    request: Request,
    session: ReadSession,
    actor: Rep,
    item: Annotated[str, Query(max_length=200)] = "",
    prefix: Annotated[str, Query(pattern=r"^[a-z][a-z0-9-]{0,39}$")] = "item-option",
) -> HTMLResponse:
    """Products for an item field; `prefix` names the options, unique when a page has several lists."""
    products = find_products(session, item, limit=SUGGESTIONS)
    return render(request, "suggest_products.html", actor=actor, products=products, prefix=prefix)
