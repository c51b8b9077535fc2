"""Server-Sent Events: live, resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from .. import repository as repo
from ..events import HEARTBEAT, encode_sse
from ..state import HubState
from .deps import Caller, State
from .models import ERRORS

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERRORS)
HEARTBEAT_S = 15.0


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Live events; reconnect with Last-Event-ID to receive what was missed",
)
async def stream_events(
    state: State,
    caller: Caller,
    office: Annotated[str | None, Query(max_length=40)] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    office_id = state.service.office(office, caller).id
    last = await state.run(_last_id, state)
    after = _resume_from(last_event_id, last)
    return StreamingResponse(
        _frames(state, office_id, after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_from(last_event_id: str | None, last: int) -> int:
    """The id to send events after: the client's Last-Event-ID when it is a number this hub could
    have sent; else the newest (an id from before a restored or reset database would otherwise
    wait for events that never come)."""
    if not last_event_id or len(last_event_id) > 20 or not last_event_id.isascii():
        return last
    return min(int(last_event_id), last) if last_event_id.isdigit() else last


def _last_id(state: HubState) -> int:
    with state.service.transaction(write=False) as conn:
        return repo.last_event_id(conn)


def _missed(state: HubState, office_id: str, after: int) -> list[Any]:
    with state.service.transaction(write=False) as conn:
        return repo.events_after(conn, office_id, after)


async def _frames(state: HubState, office_id: str, after: int) -> AsyncIterator[bytes]:
    sub = state.broker.subscribe(office_id)  # before the replay, so nothing falls in between
    sent = after
    try:
        # an id-only block: the client learns where it stands before any event arrives
        yield f"id: {after}\nretry: 2000\n\n".encode()
        while True:
            missed = await state.run(_missed, state, office_id, sent)
            for row in missed:
                event = {
                    "id": row.id,
                    "type": row.type,
                    "office": row.office_id,
                    "at": row.at.isoformat(),
                    **json.loads(row.payload),
                }
                yield encode_sse(event)
                sent = row.id
            if len(missed) < 5000:
                break
        while True:
            if not await sub.queue.wait(HEARTBEAT_S):
                yield HEARTBEAT
                continue
            frames, ended = [], False
            for item in sub.queue.drain():
                if item is None:
                    ended = True
                    break
                event_id, frame = item
                if event_id > sent:
                    sent = event_id
                    frames.append(frame)
            if frames:
                yield b"".join(frames)  # a burst goes out in one write
            if ended:
                return
    finally:
        state.broker.unsubscribe(sub)
