"""Kiosk offline mode: number blocks reserved in advance, and the spool sent back (hub/offline_service.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from ..offline_service import MAX_BATCH, MAX_BLOCK, OfflineService
from .deps import Caller, IdempotencyKey, State, request_hash
from .models import ERRORS, Strict, Ticket

router = APIRouter(prefix="/api/v1", tags=["devices"], responses=ERRORS)


class ReserveBlocks(Strict):
    size: int = Field(50, ge=1, le=MAX_BLOCK, description="numbers per block")
    next_day: bool = Field(False, description="also reserve for the office's next local day")
    office: str | None = Field(None, max_length=40)


class Block(BaseModel):
    id: int
    service: str
    prefix: str
    day: str
    first: int
    last: int
    next: int


class Blocks(BaseModel):
    office: str
    at: str
    days: list[str]
    blocks: list[Block]


class OfflineBatch(Strict):
    items: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH,
        description="spooled tickets: {local_id, service, number, issued_at, priority, lang, "
        "channel, appointment_code}; each is checked on its own",
    )
    office: str | None = Field(None, max_length=40)


class ItemResult(BaseModel):
    local_id: str | None
    status: int
    ticket: Ticket | None = None
    error: str | None = None
    message: str | None = None
    appointment_reason: str | None = None
    stale: bool | None = None


class MergeResult(BaseModel):
    office: str
    stored: int
    results: list[ItemResult]


def _offline(request: Request, state: State) -> OfflineService:
    return OfflineService(state.service, getattr(request.app.state, "appointments", None))


@router.post(
    "/devices/blocks",
    response_model=Blocks,
    summary="A kiosk reserves blocks of numbers to issue while the hub is unreachable",
)
async def reserve_blocks(
    body: ReserveBlocks, request: Request, state: State, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    offline = _offline(request, state)
    raw = await request.body()
    svc = state.service
    outcome = await state.write(
        lambda: svc.run_write(
            caller.scope,
            key,
            request_hash("POST", "/devices/blocks", raw),
            lambda conn, _events: offline.reserve_blocks(
                conn, caller, body.office, body.size, body.next_day
            ),
        )
    )
    return JSONResponse(outcome.body, outcome.status)


@router.post(
    "/tickets/offline",
    response_model=MergeResult,
    summary="A kiosk sends the tickets it issued offline; each is stored once, by issue time",
)
async def merge_offline(
    body: OfflineBatch, request: Request, state: State, caller: Caller, key: IdempotencyKey = None
) -> JSONResponse:
    offline = _offline(request, state)
    raw = await request.body()
    svc = state.service
    outcome = await state.write(
        lambda: svc.run_write(
            caller.scope,
            key,
            request_hash("POST", "/tickets/offline", raw),
            lambda conn, events: offline.merge(conn, events, caller, body.office, body.items),
        )
    )
    return JSONResponse(outcome.body, outcome.status)
