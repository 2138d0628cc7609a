"""The customer's status page: what was ordered, what left (which note, which day), what waits, what
was cancelled; reached by its link alone, without signing in, and nothing else about the customer.

The link is a bearer secret: the answer is not cached, not indexed, sends no referrer, and each client
address may ask only so often (a guess at a token is wasted work)."""

import math
import threading
import time
from collections import deque
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api import ReadSession
from app.config import get_settings
from app.errors import NotFound, TooManyRequests
from app.tracking.service import status_for_token
from app.web.pages import render

router = APIRouter()

PER_MINUTE: Final = 30
PRIVATE_HEADERS: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


class RateLimit:
    """At most `limit` requests per client address in any 60 seconds (per worker process)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - 60}
            recent = self._seen.setdefault(client, deque())
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= self.limit:
                raise TooManyRequests(
                    "too many requests from this address: try again in a minute",
                    retry_after=math.ceil(recent[0] + 60 - now),
                )
            recent.append(now)


status_rate = RateLimit(PER_MINUTE)
UNKNOWN_LINK = (
    "Ce lien de suivi est inconnu ou n'est plus valable : le vendeur peut vous en donner un nouveau."
)


@router.get("/status/{token}", response_class=HTMLResponse)
def order_status(request: Request, token: str, session: ReadSession) -> HTMLResponse:
    status_rate.check(request.client.host if request.client else "?")
    try:
        view = status_for_token(session, token)
    except NotFound as exc:  # said to the customer, in the page's language
        raise NotFound(UNKNOWN_LINK) from exc
    settings = get_settings()
    seller = {
        "name": settings.seller_name,
        "postal_code": settings.seller_postal_code,
        "city": settings.seller_city,
        "phone": settings.seller_phone,
        "email": settings.seller_email,
    }
    response = render(request, "status.html", actor=None, view=view, seller=seller)
    response.headers.update(PRIVATE_HEADERS)
    return response
