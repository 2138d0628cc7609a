"""Request limits, enforced while the body streams in: body size (a lying Content-Length does not help),
and NUL characters, which PostgreSQL refuses in any text column."""

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.problems import problem_response


class BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Pure ASGI middleware: refuse bodies over `default_limit` bytes, or over a larger limit on the
    path prefixes that receive files (EDI interchanges)."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, large_limit: int, large_prefixes: tuple[str, ...]
    ):
        self.app = app
        self.default_limit = default_limit
        self.large_limit = large_limit
        self.large_prefixes = large_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.large_limit if path.startswith(self.large_prefixes) else self.default_limit
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, limit)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem_response(
            413, "payload-too-large", "Payload too large", f"the request body exceeds {limit} bytes"
        )
        await response(scope, receive, send)


# `\u0000` in JSON, unless its backslash is itself escaped (`\\u0000` is the text "\u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00")


class RefuseNul:
    """Pure ASGI middleware: a NUL character in the path, the query or a JSON or form body is refused
    with a located 422, before any route could hand it to the database (PostgreSQL would fail the
    statement, a 500; SQLite would store it). Raw bodies (e-mail) and the paths under `skip_prefixes`
    (EDI, which keeps partner values with NUL replaced and answers for them itself) are left alone.

    JSON and form bodies are read whole first (they are small: `BodySizeLimit` runs outside this), then
    handed to the application unchanged."""

    def __init__(self, app: ASGIApp, *, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.skip_prefixes = skip_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await self._refuse(scope, receive, send, "path")
            return
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in query or _FORM_NUL.search(query):
            await self._refuse(scope, receive, send, "query")
            return
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.split(b";", 1)[0].strip().lower()
        if content_type == b"application/json" or content_type.endswith(b"+json"):
            pattern = _JSON_NUL
        elif content_type == b"application/x-www-form-urlencoded":
            pattern = _FORM_NUL
        else:
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the application see it
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if pattern.search(body):
            await self._refuse(scope, receive, send, "body")
            return
        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if message["type"] != "http.request":
                    return message
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay_receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        msg = "NUL characters (U+0000) are not accepted"
        response = problem_response(
            422, "validation", "Invalid request", f"{msg} in the {where}", [{"loc": [where], "msg": msg}]
        )
        await response(scope, receive, send)
