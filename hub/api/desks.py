"""Desk actions: next, recall, start, finish, no-show, transfer, pause, resume."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from .deps import Caller, IdempotencyKey, State, request_hash
from .models import ERRORS, Ticket, Transfer

router = APIRouter(prefix="/api/v1/desks", tags=["desks"], responses=ERRORS)

DeskId = Annotated[str, Path(min_length=1, max_length=40)]
OfficeId = Annotated[str | None, Query(max_length=40)]
SimpleAction = Literal["next", "recall", "start", "finish", "no-show", "pause", "resume"]


async def _act(
    state: State,
    caller: Caller,
    request: Request,
    desk: str,
    action: str,
    office: str | None,
    body: dict[str, object],
    key: str | None,
) -> Response:
    raw = await request.body()
    svc = state.service

    def work() -> object:
        return svc.run_write(
            caller.scope,
            key,
            request_hash("POST", f"/desks/{desk}/{action}?{request.url.query}", raw),
            lambda conn, events: svc.desk_action(conn, events, caller, office, desk, action, body),
        )

    outcome = await state.write(work)  # type: ignore[arg-type]
    if outcome.status == 204:
        return Response(status_code=204)
    return JSONResponse(outcome.body, outcome.status)


@router.post(
    "/{desk}/transfer",
    response_model=Ticket,
    summary="Transfer the ticket being served to another service (it keeps its place)",
)
async def transfer(
    desk: DeskId,
    body: Transfer,
    request: Request,
    state: State,
    caller: Caller,
    office: OfficeId = None,
    key: IdempotencyKey = None,
) -> Response:
    return await _act(state, caller, request, desk, "transfer", office, body.model_dump(), key)


@router.post(
    "/{desk}/{action}",
    responses={
        200: {"description": "the desk's ticket (or the desk, for pause/resume)"},
        204: {"description": "next: nobody is waiting"},
    },
    summary="Call the next ticket, recall, start, finish, no-show, pause or resume",
)
async def desk_action(
    desk: DeskId,
    action: SimpleAction,
    request: Request,
    state: State,
    caller: Caller,
    office: OfficeId = None,
    key: IdempotencyKey = None,
    service: Annotated[
        str | None, Query(max_length=40, description="next: call only from this service")
    ] = None,
) -> Response:
    body: dict[str, object] = {"service": service} if service else {}
    return await _act(state, caller, request, desk, action, office, body, key)
