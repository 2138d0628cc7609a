from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from app.api import ReadSession, Writes
from app.audit import service as audit
from app.auth import service
from app.errors import NotAuthenticated

router = APIRouter(tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token")
async def issue_token(
    request: Request,
    session: ReadSession,
    writes: Writes,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> TokenRead:
    """The password is checked on the read session, off the event loop; the audit trail's record of
    the sign-in, or of its failure, is then written through the writer."""
    client = request.client.host if request.client else "?"
    try:
        user = await run_in_threadpool(
            partial(service.sign_in, session, username=username, password=password, client=client)
        )
    except NotAuthenticated:
        await writes.write(partial(audit.sign_in_failed, username=username, client=client, via="api"))
        raise
    await writes.write(
        partial(audit.signed_in, user_id=user.id, username=user.username, client=client, via="api")
    )
    return TokenRead(access_token=service.issue_token(user))
