"""RFC 9457 problem details: the one translation from errors to HTTP answers of the API."""

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.errors import DomainError

PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    located = []
    for error in exc.errors():
        msg = error.get("msg", "invalid value")
        if error.get("type") == "json_invalid":
            msg = f"malformed JSON: {error.get('ctx', {}).get('error', msg)}"
        located.append({"loc": list(error.get("loc", ())), "msg": msg})
    return located


async def _domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        exc.status, exc.slug, exc.title, exc.detail, [e.as_dict() for e in exc.errors], headers=headers
    )


async def _request_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    return problem_response(422, "validation", "Invalid request", f"{len(errors)} invalid value(s)", errors)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
        exc.status_code, "Error"
    )
    return problem_response(
        exc.status_code,
        title.lower().replace(" ", "-"),
        title,
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
