"""Returned goods keyed by a rep: the customer, the delivery note when the paperwork names it, and per
line the item (code or GTIN, as scanned), the quantity and why; the credit note follows."""

import json
import secrets
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from app.api import Once, ReadSession, Writes
from app.delivery.schemas import ReturnCancel, ReturnCreate
from app.errors import DomainError
from app.fulfilment import service as fulfilment
from app.numbering import Rank
from app.web.pages import Reads, banner, render
from app.web.session import Csrf, Rep
from app.web.typing import item_code, number_text, said

router = APIRouter()
BLANK_ROWS = 8
GTIN_LENGTHS = (8, 12, 13, 14)


def _is_gtin(item: str) -> bool:
    return item.isdigit() and len(item) in GTIN_LENGTHS


@dataclass
class ReturnForm:
    key: str
    customer_code: str = ""
    delivery_note_number: str = ""
    invoice_reference: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # item, quantity, reason
    errors: dict[str, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)  # the product code a row's words of title name

    @classmethod
    def blank(cls) -> "ReturnForm":
        return cls(key=secrets.token_urlsafe(16), rows=[("", "", "")] * BLANK_ROWS)

    @classmethod
    def from_form(cls, form: FormData) -> "ReturnForm":
        def values(name: str) -> list[str]:
            return [v.strip() for v in form.getlist(name) if isinstance(v, str)]

        rows = list(zip(values("item"), values("quantity"), values("reason"), strict=False))
        return cls(
            key=str(form.get("form_key") or secrets.token_urlsafe(16)),
            customer_code=str(form.get("customer_code") or "").strip().upper(),
            delivery_note_number=str(form.get("delivery_note_number") or "").strip().upper(),
            invoice_reference=str(form.get("invoice_reference") or "").strip(),
            rows=rows + [("", "", "")] * max(0, BLANK_ROWS - len(rows)),
        )

    def filled(self) -> list[tuple[int, tuple[str, str, str]]]:
        return [(index, row) for index, row in enumerate(self.rows) if any(row)]

    def find_items(self, session: Session) -> None:
        """Each row's item as a code: a GTIN goes as scanned, anything else (a code in lower case,
        words of a title) is looked up as at order entry; an item found nowhere is said beside it."""
        for row, (item, _, _) in self.filled():
            if not item or _is_gtin(item):
                continue
            code, refusal = item_code(session, item)
            if code is None:
                self.errors.setdefault(f"item-{row}", refusal or "")
            else:
                self.codes[row] = code

    def draft_values(self) -> dict[str, Any]:
        lines = []
        for row, (item, quantity, reason) in self.filled():
            line: dict[str, Any] = {"quantity": number_text(quantity) or None, "reason": reason or None}
            if _is_gtin(item):
                line["gtin"] = item
            else:
                line["product_code"] = self.codes.get(row, item) or None
            lines.append(line)
        return {
            "customer_code": self.customer_code,
            "delivery_note_number": self.delivery_note_number or None,
            "invoice_reference": self.invoice_reference or None,
            "lines": lines,
        }

    def place(self, loc: tuple[Any, ...], message: str) -> None:
        """A message beside its field: `lines.1.quantity` is the second filled row's quantity."""
        if loc[:1] == ("body",):
            loc = loc[1:]
        if len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int) and loc[1] < len(self.filled()):
            row = self.filled()[loc[1]][0]
            column = "item" if len(loc) < 3 or loc[2] in ("product_code", "gtin") else str(loc[2])
            self.errors.setdefault(f"{column}-{row}", message)
        else:
            self.errors.setdefault(str(loc[0]) if loc else "return", message)


@router.get("/returns/new", response_class=HTMLResponse)
def new_return(request: Request, session: ReadSession, actor: Rep) -> HTMLResponse:
    return render(request, "return_new.html", actor=actor, top=banner(session), form=ReturnForm.blank())


@router.post("/returns/new", dependencies=[Csrf])
async def record_return(request: Request, actor: Rep, reads: Reads, writes: Writes) -> Response:
    form = ReturnForm.from_form(await request.form())
    await reads(form.find_items)
    try:
        draft = ReturnCreate.model_validate(form.draft_values())
    except ValidationError as exc:
        for detail in exc.errors():
            form.place(tuple(detail["loc"]), said(detail))
        return await _refused(request, actor, reads, form)
    if form.errors:
        return await _refused(request, actor, reads, form)
    once = Once.of(actor.caller_key, form.key, scope="desk-return:", payload=draft.model_dump(mode="json"))
    try:
        answer = await once.write(
            writes,
            lambda session: fulfilment.return_read(
                fulfilment.record_return(session, draft=draft, actor=actor)
            ),
            rank=Rank.RETURNS,
        )
    except DomainError as exc:
        for located in exc.errors:
            form.place(located.loc, located.msg)
        if not exc.errors:
            form.errors["return"] = exc.detail
        return await _refused(request, actor, reads, form)
    number = json.loads(bytes(answer.body))["number"]
    return RedirectResponse(f"/returns/{number}?recorded=1", status_code=303)


async def _refused(request: Request, actor: Any, reads: Reads, form: ReturnForm) -> HTMLResponse:
    top = await reads(banner)
    return render(request, "return_new.html", actor=actor, top=top, form=form, status_code=422)


@router.get("/returns/{number}", response_class=HTMLResponse)
def return_detail(
    request: Request, number: str, session: ReadSession, actor: Rep, recorded: int = 0
) -> HTMLResponse:
    return _detail_page(request, session, actor, number, None, recorded=bool(recorded))


def _detail_page(
    request: Request, session: Session, actor: Any, number: str, error: str | None, *, recorded: bool = False
) -> HTMLResponse:
    recorded_return = fulfilment.return_read(fulfilment.get_return(session, number=number, actor=actor))
    return render(
        request,
        "return.html",
        actor=actor,
        top=banner(session),
        goods_return=recorded_return,
        recorded=recorded,
        error=error,
        status_code=422 if error else 200,
    )


@router.post("/returns/{number}/cancel", dependencies=[Csrf])
async def cancel_return(
    request: Request,
    number: str,
    actor: Rep,
    reads: Reads,
    writes: Writes,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Keyed by mistake: the goods leave the stock again, the credit note is voided with the reason."""
    try:
        draft = ReturnCancel(reason=reason)
        await writes.write(
            lambda session: fulfilment.cancel_return(session, number=number, reason=draft.reason, actor=actor)
        )
    except (DomainError, ValidationError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else "donnez la raison de l'annulation"
        return await reads(lambda session: _detail_page(request, session, actor, number, detail))
    return RedirectResponse(f"/returns/{number}", status_code=303)
