"""The inbox through the API: a raw message handed in (an .eml dragged by a rep, a mail system's
pipe), the items and their state."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api import ReadSession, RowId, Writes
from app.auth.dependencies import CurrentActor
from app.email import service
from app.email.models import InboxState
from app.email.service import InboxItemRead
from app.errors import InvalidInput
from app.numbering import Rank

router = APIRouter(tags=["email"])
# A raw message as mail systems and upload tools label it; anything else is refused with 415.
MESSAGE_TYPES = ("message/rfc822", "text/plain", "application/octet-stream")


@router.post(
    "/email/messages",
    status_code=201,
    response_model=InboxItemRead,
    responses={
        200: {"description": "the same message again: the same item"},
        415: {"description": "a Content-Type that is not a message's"},
        422: {},
    },
    openapi_extra={
        "requestBody": {
            "content": {media: {"schema": {"type": "string"}} for media in MESSAGE_TYPES},
            "required": True,
        }
    },
)
async def post_message(request: Request, actor: CurrentActor, writes: Writes) -> Response:
    """A raw RFC 822 message becomes an inbox item (201); the same message again answers 200 with the
    same item and nothing new."""
    actor.require(*service.INBOX_ROLES)
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput("send the raw message (message/rfc822) as the body", loc=("body",))
    received = await writes.write_planned(
        lambda _session: service.read_message(raw),
        lambda session, read: service.receive_message(session, read=read, source=f"upload:{actor.name}"),
        rank=Rank.ORDERS,
    )
    return Response(
        received.item.model_dump_json(),
        status_code=201 if received.new else 200,
        media_type="application/json",
    )


@router.get("/email/messages")
def list_messages(
    session: ReadSession, actor: CurrentActor, status: Annotated[InboxState | None, Query()] = None
) -> list[InboxItemRead]:
    return service.list_items(session, actor=actor, state=status)


@router.get("/email/messages/{message_id}")
def get_message(message_id: RowId, session: ReadSession, actor: CurrentActor) -> InboxItemRead:
    return service.get_item(session, message_id=message_id, actor=actor)
