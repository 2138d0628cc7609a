"""RFC 9457 problem details: the one translation from errors to HTTP answers of the API. A page of the
web desk gets the same error as a page instead (`ErrorPage`, given by app/web)."""

import logging
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from app.errors import DomainError
from app.logs import request_id

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("carnet.problems")

# (request, status, title, detail) -> an HTML page for a desk page's request, None for the API's.
ErrorPage = Callable[[Request, int, str, str], Response | None]


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
    # Logged with the request's id, which the answer carries in X-Request-ID: a caller quoting it
    # leads to this line.
    log.log(
        logging.ERROR if status >= 500 else logging.INFO,
        f"problem {status} {body['type']}: {detail}",
        extra={
            "fields": {
                "request_id": request_id.get(),
                "status": status,
                "type": body["type"],
                "detail": detail,
            }
        },
    )
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


def _allowed_methods(request: Request) -> str:
    """Every method some route of the app answers on this path: the router's own 405 names only the
    methods of the first route whose path matched."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return ", ".join(allowed)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    title = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}.get(
        exc.status_code, "Error"
    )
    return problem_response(
        exc.status_code,
        title.lower().replace(" ", "-"),
        title,
        str(exc.detail),
        headers=headers,
    )


def _unexpected_detail() -> str:
    return f"an unexpected error: quote request {request_id.get() or 'unknown'} when reporting it"


async def _unexpected_error(_request: Request, exc: Exception) -> Response:
    """An error no handler expected: a 500 that says which request to quote; the server logs the
    traceback with that id."""
    return problem_response(
        500,
        "internal-error",
        "Internal error",
        _unexpected_detail(),
        headers={"X-Request-ID": request_id.get() or "unknown"},
    )


def install(app: FastAPI, *, page: ErrorPage | None = None) -> None:
    def handler(
        api: Callable[[Request, Exception], Any], status_of: Callable[[Exception], tuple[int, str, str]]
    ) -> Any:
        async def answer(request: Request, exc: Exception) -> Response:
            if page is not None:
                status, title, detail = status_of(exc)
                html = page(request, status, title, detail)
                if html is not None:
                    if status == 405:
                        html.headers["Allow"] = _allowed_methods(request)
                    return html
            response: Response = await api(request, exc)
            return response

        return answer

    def domain(exc: Exception) -> tuple[int, str, str]:
        assert isinstance(exc, DomainError)
        return exc.status, exc.title, exc.detail

    def validation(exc: Exception) -> tuple[int, str, str]:
        assert isinstance(exc, RequestValidationError)
        return (
            422,
            "Invalid request",
            "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in _validation_errors(exc)),
        )

    def http(exc: Exception) -> tuple[int, str, str]:
        assert isinstance(exc, StarletteHTTPException)
        return exc.status_code, "Error", str(exc.detail)

    app.add_exception_handler(DomainError, handler(_domain_error, domain))
    app.add_exception_handler(RequestValidationError, handler(_request_validation_error, validation))
    app.add_exception_handler(StarletteHTTPException, handler(_http_error, http))
    app.add_exception_handler(
        Exception, handler(_unexpected_error, lambda _exc: (500, "Internal error", _unexpected_detail()))
    )
