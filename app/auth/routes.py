from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from app.api import ReadSession
from app.auth import service

router = APIRouter(tags=["auth"])


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token")
def issue_token(
    request: Request,
    session: ReadSession,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
) -> TokenRead:
    client = request.client.host if request.client else "?"
    user = service.sign_in(session, username=username, password=password, client=client)
    return TokenRead(access_token=service.issue_token(user))
