"""Domain errors, raised by services and turned into RFC 9457 problem details by one handler."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One located problem; `loc` is the path to the offending value (`["body", "lines", 2, "quantity"]`)."""

    loc: tuple[str | int, ...]
    msg: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg}


class DomainError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self, detail: str, *, errors: list[FieldError] | None = None, slug: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        if slug is not None:
            self.slug = slug

    def answer_headers(self) -> dict[str, str]:
        """Headers the answer carries besides the problem itself."""
        return {}


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class NotAuthenticated(DomainError):
    status = 401
    slug = "not-authenticated"
    title = "Not authenticated"

    def answer_headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class NotPermitted(DomainError):
    status = 403
    slug = "not-permitted"
    title = "Not permitted"


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "Invalid input"

    def __init__(
        self, detail: str, *, loc: tuple[str | int, ...] = (), errors: list[FieldError] | None = None
    ):
        super().__init__(detail, errors=errors or ([FieldError(loc, detail)] if loc else []))


class BusinessRuleViolation(DomainError):
    """The request is well formed but the business state forbids it (e.g. blocked customer)."""

    status = 422
    slug = "business-rule"
    title = "Refused by a business rule"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class TooManyRequests(DomainError):
    """Refused for a while; `retry_after` seconds is when asking again may succeed (`Retry-After`)."""

    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, slug: str | None = None) -> None:
        super().__init__(detail, slug=slug)
        self.retry_after = max(1, retry_after)

    def answer_headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
