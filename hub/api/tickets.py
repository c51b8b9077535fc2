"""Tickets: issue, read (with a token or the status link's token), cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from ..web.ticket_stream import PositionCache, open_ticket_stream
from .deps import Caller, IdempotencyKey, MaybeCaller, State, request_hash
from .models import ERRORS, IssueTicket, Ticket

router = APIRouter(prefix="/api/v1", tags=["tickets"], responses=ERRORS)

TicketId = Annotated[int, Path(ge=1, le=2**53)]
StatusToken = Annotated[
    str | None, Query(alias="t", max_length=64, description="status link token")
]


@router.post("/tickets", status_code=201, response_model=Ticket)
async def issue_ticket(
    body: IssueTicket, request: Request, state: State, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    raw = await request.body()
    svc = state.service

    def work() -> object:
        return svc.run_write(
            caller.scope,
            key,
            request_hash("POST", "/tickets", raw),
            lambda conn, events: svc.issue_ticket(
                conn,
                events,
                caller,
                body.office,
                body.service,
                body.priority,
                body.lang,
                body.channel,
            ),
        )

    outcome = await state.write(work)  # type: ignore[arg-type]
    return JSONResponse(outcome.body, outcome.status)


@router.get("/tickets/{ticket_id}", response_model=Ticket)
async def read_ticket(
    ticket_id: TicketId, state: State, caller: MaybeCaller, t: StatusToken = None
) -> dict[str, object]:
    return await state.run(state.service.ticket, ticket_id, caller, t)


@router.post("/tickets/{ticket_id}/cancel", response_model=Ticket)
async def cancel_ticket(
    ticket_id: TicketId,
    state: State,
    caller: MaybeCaller,
    t: StatusToken = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    svc = state.service
    scope = caller.scope if caller else f"status:{ticket_id}"

    def work() -> object:
        return svc.run_write(
            scope,
            key,
            request_hash("POST", f"/tickets/{ticket_id}/cancel", b""),
            lambda conn, events: svc.cancel_ticket(conn, events, ticket_id, caller, t),
        )

    outcome = await state.write(work)  # type: ignore[arg-type]
    return JSONResponse(outcome.body, outcome.status)


@router.get(
    "/tickets/{ticket_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    summary="Live status of one ticket for its phone page (authorised by its status token only)",
)
async def ticket_events(
    ticket_id: TicketId,
    request: Request,
    state: State,
    t: Annotated[str, Query(min_length=1, max_length=64, description="status link token")],
) -> StreamingResponse:
    cache = getattr(request.app.state, "ticket_positions", None)
    if cache is None:
        cache = request.app.state.ticket_positions = PositionCache()
    frames = await open_ticket_stream(state, cache, ticket_id, t)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
