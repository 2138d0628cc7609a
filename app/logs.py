"""What the server says: one line per event on stderr, as one JSON object per line for a log collector
or as plain text for a person at a terminal (`CARNET_LOG_FORMAT`), with the request's id.

Every request gets an id: the caller's `X-Request-ID` when it is a sane token, else a new one. It is
sent back in the answer's `X-Request-ID` and carried by every line logged while the request is served
(its access line, the problem it was answered with, an error's traceback), so that a person quoting
the id of a failed request leads to all of them. An access line tells the method, the path, the
status, the duration and who called when known; never a token, a password nor a query string.
"""

import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER: Final = "x-request-id"
_SANE_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._:;=+/-]{1,128}")
# Set when a request starts and never reset: each request runs in a task (and a context) of its own,
# and the server logs an unhandled error's traceback after the application returned, in that context.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

access_log = logging.getLogger("carnet.access")


def configure_logging(*, log_format: Literal["auto", "json", "plain"], level: str) -> None:
    """Every logger of the process (uvicorn's included) writes through one handler on stderr."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else PlainFormatter())
    root = logging.getLogger()
    for previous in root.handlers[:]:
        root.removeHandler(previous)
    root.addHandler(handler)
    root.setLevel(level)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "pid", "request_id"?, ...the record's fields, "error"?}`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,  # which worker process
        }
        current = request_id.get()
        if current is not None:
            line["request_id"] = current
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class PlainFormatter(logging.Formatter):
    """`12:04:31 INFO  GET /api/v1/orders 201 12.3 ms user rep1  [request id]`: the message says it
    all (the JSON form adds its fields for machines)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-5s %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        current = getattr(record, "fields", {}).get("request_id") or request_id.get()
        if current is None:
            return text
        first, newline, rest = text.partition("\n")
        return f"{first}  [{current}]{newline}{rest}"


def note_caller(request: Request, *, kind: str, name: str) -> None:
    """Who is calling, for the request's access line: `kind` is `user` or `partner`."""
    request.state.caller = (kind, name)


# (method, route template, status, seconds): where each request's latency goes (app/metrics.py).
Observer = Callable[[str, str, int, float], None]


class RequestLog:
    """The request id, the access line and the request's latency given to `observe`. Outermost of the
    application's middleware, so that it times and sees every answer."""

    def __init__(self, app: ASGIApp, *, observe: Observer) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = next((v for k, v in scope["headers"] if k == REQUEST_ID_HEADER.encode()), b"").decode(
            "latin-1"
        )
        current = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        request_id.set(current)
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # unless an answer starts: the server answers an unhandled error with a 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", current.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_template(scope)
            self.observe(scope["method"], route, status, seconds)
            _log_access(scope, route, status, seconds, state.get("caller"))


def route_template(scope: Scope) -> str:
    """The path as the application declares it (`/api/v1/orders/{number}`), so that metrics have one
    series per route, not per order; `unmatched` for a path that names no route."""
    route = scope.get("route")
    template, pattern = getattr(route, "path", None), getattr(route, "path_regex", None)
    if isinstance(template, str) and isinstance(pattern, re.Pattern):
        # An included router's route knows its path without the prefix it was included under: the
        # prefix is what stands before the part of the path the route matches.
        path: str = scope["path"]
        for start, character in enumerate(path):
            if character == "/" and pattern.match(path[start:]):
                return path[:start] + template
        return template
    if scope.get("root_path") and "app_root_path" in scope:
        return f"{scope['root_path']}/{{path}}"  # a mounted application: the static assets
    return "unmatched"


def _log_access(
    scope: Scope, route: str, status: int, seconds: float, caller: tuple[str, str] | None
) -> None:
    # A route whose path carries a bearer token (a customer's status link) is logged by its template.
    path = route if "{token" in route else scope["path"]
    milliseconds = round(seconds * 1000, 1)
    fields: dict[str, Any] = {
        "request_id": request_id.get(),
        "method": scope["method"],
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": milliseconds,
    }
    client = scope.get("client")
    if client:
        fields["client"] = client[0]
    message = f"{scope['method']} {path} {status} {milliseconds} ms"
    if caller is not None:
        fields[caller[0]] = caller[1]
        message += f" {caller[0]} {caller[1]}"
    level = logging.ERROR if status >= 500 else logging.INFO
    access_log.log(level, message, extra={"fields": fields})
