"""Orders as the desk sees them: the list, one order with its deliveries and backorders, and what a
person may do to it (cancel, accept after review, give the customer a status link, settle the lines a
partner sent that could not become order lines).

Settling a line is one form per line: the item is searched as on the entry page (a code, a GTIN or
words of the title; Enter on a suggestion shows what was found), then "map", "correct" or "remove",
always with a reason. Without JavaScript the form posts and the page comes back with the messages
beside their fields; with htmx only that line's panel is swapped.
"""

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.api import ReadSession, Writes
from app.auth.models import Role
from app.auth.service import Actor, caller_name
from app.catalog.repository import find_products
from app.delivery.repository import notes_of_order
from app.edi import review as edi_review
from app.edi import service as edi_service
from app.edi.schemas import LineCorrectionIn, LineMappingIn, LineRemovalIn
from app.email.service import messages_of_order
from app.errors import DomainError
from app.fulfilment import service as fulfilment
from app.orders import service as orders
from app.orders.models import OrderStatus, UnresolvedLineStatus
from app.orders.review import capturable
from app.orders.schemas import UnresolvedLineRead
from app.pagination import Cursor, decode_cursor
from app.tracking.service import current_token, issue_link
from app.web.pages import Reads, banner, is_htmx, render
from app.web.session import Csrf, OrderReader, Rep

router = APIRouter()
PAGE_SIZE = 50


@router.get("/orders", response_class=HTMLResponse)
def order_list(
    request: Request,
    session: ReadSession,
    actor: OrderReader,
    q: Annotated[str, Query(max_length=1_000)] = "",
    status: Annotated[str, Query(max_length=40)] = "",
    cursor: Cursor = None,
) -> HTMLResponse:
    """The search form sends its fields even when left empty ("any status"): a blank is no filter,
    and a search longer than anything stored is cut, never refused."""
    q = q.strip()[:100]
    chosen = OrderStatus(status) if status in set(OrderStatus) else None
    page = orders.list_orders(
        session, actor=actor, q=q or None, status=chosen, before_id=decode_cursor(cursor), limit=PAGE_SIZE
    )
    return render(
        request,
        "orders.html",
        actor=actor,
        top=banner(session),
        page=page,
        q=q,
        status=chosen,
        statuses=list(OrderStatus),
    )


@router.get("/orders/{number}", response_class=HTMLResponse)
def order_detail(
    request: Request, number: str, session: ReadSession, actor: OrderReader, captured: int = 0
) -> HTMLResponse:
    return _order_page(request, session, actor, number, captured=bool(captured))


def _order_page(
    request: Request,
    session: Session,
    actor: Actor,
    number: str,
    *,
    captured: bool = False,
    settling: "LineReview | None" = None,
    status_code: int = 200,
) -> HTMLResponse:
    order = orders.get_order(session, number=number, actor=actor)
    token = current_token(session, order_id=order.id)
    shown = orders.order_read(order)
    reviews = {
        line.id: settling if settling is not None and settling.line_id == line.id else LineReview.blank(line)
        for line in shown.unresolved_lines
        if line.status == UnresolvedLineStatus.OPEN
    }
    return render(
        request,
        "order.html",
        actor=actor,
        top=banner(session),
        order=shown,
        captured_by=caller_name(session, shown.captured_by),
        notes=notes_of_order(session, order.id),
        status_url=str(request.base_url).rstrip("/") + f"/status/{token}" if token else None,
        captured=captured,
        emails=messages_of_order(session, order_id=order.id),
        interchange=edi_service.interchange_of_order(session, order_id=order.id, actor=actor),
        may_change=actor.role in (Role.REP, Role.ADMIN),
        may_close=actor.role in (Role.REP, Role.WAREHOUSE, Role.ADMIN),
        reviews=reviews,
        review_error=settling.errors.get("line") if settling and settling.line_id not in reviews else None,
        status_code=status_code,
    )


@router.post("/orders/{number}/cancel", dependencies=[Csrf])
async def cancel(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    await writes.write(lambda session: orders.cancel_order(session, number=number, actor=actor))
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/accept", dependencies=[Csrf])
async def accept(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    await writes.write(lambda session: edi_review.accept_order(session, number=number, actor=actor))
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/status-link", dependencies=[Csrf])
async def new_status_link(number: str, actor: Rep, writes: Writes) -> RedirectResponse:
    """A new link for the customer; the old one, if any, stops working."""

    def issue(session: Session) -> str:
        orders.get_order(session, number=number, actor=actor)
        return issue_link(session, order_number=number, issued_by=actor.caller_key)

    await writes.write(issue)
    return RedirectResponse(f"/orders/{number}", status_code=303)


@router.post("/orders/{number}/lines/{line_no}/close", dependencies=[Csrf])
async def close_backorder(number: str, line_no: int, actor: OrderReader, writes: Writes) -> RedirectResponse:
    """The customer gives up the rest of a backordered line: its reservation is released."""
    await writes.write(
        lambda session: fulfilment.close_backorder(session, number=number, line_no=line_no, actor=actor)
    )
    return RedirectResponse(f"/orders/{number}", status_code=303)


@dataclass(frozen=True)
class Found:
    code: str
    name: str


@dataclass
class LineReview:
    """The form settling one line a partner sent, as the rep filled it in (blank: the partner's
    quantity when an order line can hold it, its item when we know it)."""

    line_id: int
    item: str = ""
    quantity: str = ""
    reason: str = ""
    product: Found | None = None  # what `item` names, once looked up
    errors: dict[str, str] = field(default_factory=dict)
    focus: str | None = None  # the field to put the cursor in once the form is back

    @classmethod
    def blank(cls, line: UnresolvedLineRead) -> "LineReview":
        quantity = line.quantity if capturable(line.quantity) is not None else ""
        return cls(line.id, item=line.product_code or "", quantity=quantity)

    @classmethod
    def from_form(cls, line_id: int, form: FormData) -> "LineReview":
        def text(name: str) -> str:
            value = form.get(name)
            return value.strip() if isinstance(value, str) else ""

        return cls(line_id, item=text("item"), quantity=text("quantity"), reason=text("reason"))

    def field_id(self, name: str) -> str:
        return f"review-{self.line_id}-{name}"

    def look_up(self, session: Session) -> None:
        """The product the item field names: an exact code or GTIN, else the one product it matches."""
        if not self.item:
            return
        found = find_products(session, self.item, limit=2)
        exact = [p for p in found if self.item in (p.code, p.gtin) or p.code == self.item.upper()]
        if exact or len(found) == 1:
            product = (exact or found)[0]
            self.item, self.product = product.code, Found(product.code, product.name)
            self.focus = self.field_id("reason" if self.quantity else "quantity")
        else:
            self.errors["item"] = (
                "aucun article ne correspond" if not found else "plusieurs articles correspondent : précisez"
            )

    def body(self, action: str) -> BaseModel | None:
        """What the service takes for the action, or None with the messages beside their fields."""
        if not self.reason:
            self.errors.setdefault("reason", "indiquez le motif")
        if action == "map" and self.product is None:
            self.errors.setdefault("item", "choisissez l'article")
        if action == "correct" and not self.quantity:
            self.errors.setdefault("quantity", "indiquez la quantité")
        if self.errors:
            return None
        quantity = self.quantity.replace(",", ".") or None
        model: type[BaseModel] = LineRemovalIn
        values: dict[str, Any] = {"reason": self.reason}
        if action == "map" and self.product is not None:
            model, values = LineMappingIn, {**values, "product_code": self.product.code, "quantity": quantity}
        elif action == "correct":
            model, values = LineCorrectionIn, {**values, "quantity": quantity}
        try:
            return model.model_validate(values)
        except ValidationError as exc:
            for error in exc.errors():
                self.place(tuple(error["loc"]), str(error["msg"]).removeprefix("Value error, "))
            return None

    def place(self, loc: tuple[Any, ...], message: str) -> None:
        if loc[:1] in (("body",), ("path",)):
            loc = loc[1:]
        name = {"product_code": "item", "gtin": "item"}.get(
            str(loc[0]) if loc else "", str(loc[0]) if loc else ""
        )
        self.errors.setdefault(name if name in ("item", "quantity", "reason") else "line", message)

    def first_error(self) -> str | None:
        return next(
            (self.field_id(name) for name in ("item", "quantity", "reason") if name in self.errors), None
        )


_SETTLE_ACTIONS = ("map", "correct", "remove")


@router.post("/orders/{number}/unresolved-lines/{line_id}", dependencies=[Csrf])
async def settle_line(
    request: Request, number: str, line_id: int, actor: Rep, reads: Reads, writes: Writes
) -> Response:
    """One line the partner sent, mapped to a product, corrected or removed, with the reason; or, for
    `refresh` (Enter on the item), the product the item names shown before anything is recorded."""
    form_data = await request.form()
    form = LineReview.from_form(line_id, form_data)
    action = str(form_data.get("action") or "refresh")
    if action in ("refresh", "map"):
        await reads(form.look_up)
    body = form.body(action) if action in _SETTLE_ACTIONS else None
    if body is not None:
        try:
            await writes.write(lambda session: _settle(session, number, form.line_id, body, actor))
        except DomainError as exc:
            for located in exc.errors:
                form.place(located.loc, located.msg)
            if not exc.errors:
                form.errors["line"] = exc.detail
        else:
            if is_htmx(request):
                return Response(status_code=204, headers={"HX-Redirect": f"/orders/{number}"})
            return RedirectResponse(f"/orders/{number}", status_code=303)
    form.focus = form.first_error() or form.focus
    return await reads(lambda session: _review_answer(request, session, actor, number, form))


def _settle(session: Session, number: str, line_id: int, body: BaseModel, actor: Actor) -> None:
    if isinstance(body, LineMappingIn):
        edi_review.map_line(session, number=number, line_id=line_id, body=body, actor=actor)
    elif isinstance(body, LineCorrectionIn):
        edi_review.correct_line(session, number=number, line_id=line_id, body=body, actor=actor)
    else:
        assert isinstance(body, LineRemovalIn)
        edi_review.remove_line(session, number=number, line_id=line_id, body=body, actor=actor)


def _review_answer(
    request: Request, session: Session, actor: Actor, number: str, form: LineReview
) -> Response:
    """The line's panel alone for htmx (always 200: htmx swaps only successful answers; a line settled
    meanwhile sends to the order as it now is), else the order's page (422 when something was refused)."""
    if not is_htmx(request):
        status_code = 422 if form.errors else 200
        return _order_page(request, session, actor, number, settling=form, status_code=status_code)
    shown = orders.order_read(orders.get_order(session, number=number, actor=actor))
    line = next((line for line in shown.unresolved_lines if line.id == form.line_id), None)
    if line is None or line.status != UnresolvedLineStatus.OPEN:
        return Response(status_code=204, headers={"HX-Redirect": f"/orders/{number}"})
    return render(request, "order_review.html", actor=actor, order=shown, line=line, review=form)
