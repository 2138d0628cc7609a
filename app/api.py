"""Dependencies shared by the HTTP routes: the read session, the writer, safe retries, the type of a
body (the caller is in app/auth/dependencies.py)."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Final, TypeVar, cast

from fastapi import Depends, Header, Path, Request, Response, params
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.db import get_engine, open_session
from app.errors import FieldError, UnsupportedMediaType
from app.idempotency import service as idempotency
from app.pagination import MAX_ID
from app.writer import UnitOfWorkRunner, get_writer


def get_session() -> Iterator[Session]:
    """The request's read-only session, for routes that only read (sync routes, run in the threadpool).
    A route that writes hands its unit of work to the writer instead (`Writes`, app/writer.py)."""
    session = open_session(get_engine(), write=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSession = Annotated[Session, Depends(get_session, scope="function")]
Writes = Annotated[UnitOfWorkRunner, Depends(get_writer)]
P = TypeVar("P")
RowId = Annotated[int, Path(ge=-MAX_ID, le=MAX_ID)]


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


@dataclass(frozen=True)
class Once:
    """A write that may carry an `Idempotency-Key`: its unit of work runs once per (caller, scope, key)
    and a retry gets the first answer, sent as stored, with `Idempotent-Replayed: true`. The one place
    where retries are handled (app/idempotency); services return what they made and know nothing of it."""

    caller: str
    key: str | None
    request_hash: str | None

    @classmethod
    def of(cls, caller: str, key: str | None, *, scope: str, payload: Any) -> "Once":
        if key is None:
            return cls(caller, None, None)
        idempotency.check_key(key)
        return cls(caller, f"{scope}{key}", idempotency.request_hash(payload))

    async def write(
        self,
        writes: UnitOfWorkRunner,
        work: Callable[[Session], BaseModel],
        *,
        rank: int,
        status_code: int = 201,
    ) -> Response:
        if self.key is None or self.request_hash is None:
            model = await writes.write(work, rank=rank)
            return _answer_response(idempotency.fresh_answer(model, status_code))
        key, request_hash = self.key, self.request_hash
        answer = await writes.write(
            lambda session: idempotency.answer_once(
                session,
                caller=self.caller,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                produce=lambda: work(session),
            ),
            rank=rank,
        )
        return _answer_response(answer)

    async def write_planned(
        self,
        writes: UnitOfWorkRunner,
        plan: Callable[[Session], P],
        apply: Callable[[Session, P], BaseModel],
        *,
        rank: int,
        status_code: int = 201,
    ) -> Response:
        """`plan` reads (and may refuse) outside the write lock, `apply` writes. With a key already
        answered, the first answer is given back and neither runs: a retry gets its order even if
        it could no longer be taken now."""
        if self.key is None or self.request_hash is None:
            model = await writes.write_planned(plan, apply, rank=rank)
            return _answer_response(idempotency.fresh_answer(model, status_code))
        key, request_hash = self.key, self.request_hash

        def plan_once(session: Session) -> tuple[idempotency.Answer | None, P | None]:
            earlier = idempotency.find_answer(session, caller=self.caller, key=key, request_hash=request_hash)
            return (earlier, None) if earlier is not None else (None, plan(session))

        def apply_once(
            session: Session, planned: tuple[idempotency.Answer | None, P | None]
        ) -> idempotency.Answer:
            earlier, value = planned
            if earlier is not None:
                return earlier
            return idempotency.answer_once(
                session,
                caller=self.caller,
                key=key,
                request_hash=request_hash,
                status_code=status_code,
                produce=lambda: apply(session, cast(P, value)),
            )

        return _answer_response(await writes.write_planned(plan_once, apply_once, rank=rank))


def _answer_response(answer: idempotency.Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(
        answer.body, status_code=answer.status_code, media_type="application/json", headers=headers
    )


JSON_TYPES: Final = ("application/json",)
FORM_TYPES: Final = ("application/x-www-form-urlencoded", "multipart/form-data")


def media_type(content_type: str | None) -> str | None:
    """`text/CSV; charset=utf-8` is `text/csv`."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def body_types(route: APIRoute) -> tuple[str, ...] | None:
    """The media types a route reads a body in, as its OpenAPI description says: those listed for a raw
    body (EDI interchanges, e-mail messages), forms for a form, JSON for a model; None without a body."""
    raw = (route.openapi_extra or {}).get("requestBody", {}).get("content")
    if raw:
        return tuple(raw)
    if route.body_field is None:
        return None
    return FORM_TYPES if isinstance(route.body_field.field_info, params.Form) else JSON_TYPES


async def check_body_type(request: Request) -> None:
    """Refuse a body whose Content-Type the route does not read with 415 (`image/png` posted as an EDI
    interchange, a form or text posted to a JSON route), naming what it reads. A raw body without a
    Content-Type is read for what it is (EDI and e-mail look at the bytes); a JSON route asks for one."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not _has_body(request):
        return
    accepted = body_types(route)
    if accepted is None:
        return
    given = media_type(request.headers.get("content-type"))
    if given is None:
        if accepted not in (JSON_TYPES, FORM_TYPES):
            return
    elif given in {media.lower() for media in accepted} or (
        accepted == JSON_TYPES and _structured_json(given)
    ):
        return
    detail = f"Content-Type {given or '(none)'} is not read here: send {', '.join(accepted)}"
    raise UnsupportedMediaType(detail, errors=[FieldError(("header", "content-type"), detail)])


def _structured_json(given: str) -> bool:
    """`application/merge-patch+json` and the like: JSON to FastAPI too."""
    return given.startswith("application/") and given.endswith("+json")


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length.strip() not in ("", "0"))


BodyType = Depends(check_body_type)
