"""Signing in and out through the API: a bearer token for a password, the end of every token."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel

from app.api import ReadSession, Writes
from app.auth import service
from app.auth.dependencies import CurrentActor
from app.auth.signing_in import sign_in
from app.errors import NotPermitted

router = APIRouter(tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", responses={401: {}, 429: {"description": "locked for a while: see Retry-After"}})
async def issue_token(
    request: Request,
    session: ReadSession,
    writes: Writes,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> TokenRead:
    """Repeated failures lock the account from the caller's address, the address, or the account from
    unknown addresses, for a while: 429 with `Retry-After` (README, "Signing in")."""
    host = request.client.host if request.client else None
    user = await sign_in(session, writes, username=username, password=password, host=host, via="api")
    return TokenRead(access_token=service.issue_token(user))


@router.post("/auth/sign-out", status_code=204, responses={401: {}, 403: {}})
async def sign_out(actor: CurrentActor, writes: Writes) -> Response:
    """End every token and desk session of the caller, on every device, at once."""
    if actor.kind != "user":
        raise NotPermitted("a partner's API key is revoked by an administrator, not signed out")
    await writes.write(lambda session: service.sign_out(session, actor=actor))
    return Response(status_code=204)
