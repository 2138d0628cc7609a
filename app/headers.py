"""Security headers on every answer: no sniffing, no framing, no referrer to other sites, and for the
desk's pages a content policy that runs only the scripts served by Carnet itself."""

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)
# Styles may be inline (a few style attributes); scripts only from this origin (htmx, desk.js).
DESK_POLICY: Final = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, unguarded_prefixes: tuple[str, ...]) -> None:
        self.app = app
        # The API documentation page initialises Swagger UI with an inline script.
        self.unguarded_prefixes = unguarded_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_policy = not str(scope["path"]).startswith(self.unguarded_prefixes)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in COMMON if name not in present]
                if with_policy and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DESK_POLICY))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
