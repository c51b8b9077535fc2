"""Enrollment of kiosks and displays by a one-time pairing code."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field

from office360.core.errors import DomainError

from .. import pairing
from .deps import Caller, State
from .models import ERRORS, Strict

router = APIRouter(prefix="/api/v1/pairing", tags=["devices"], responses=ERRORS)
Code = Field(min_length=4, max_length=16)


class OpenPairing(Strict):
    code: str = Code
    role: Literal["kiosk", "display"]
    device: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9 _.:-]+$")
    office: str | None = Field(None, max_length=40)


class PairingCode(Strict):
    code: str = Code


async def _write(state: State, fn: Any) -> dict[str, Any]:
    svc = state.service
    outcome = await state.write(
        lambda: svc.run_write("pairing", None, "", lambda conn, _events: (200, fn(conn)))
    )
    assert outcome.body is not None
    return outcome.body


@router.post("", summary="A new device asks to pair, showing CODE on its screen (no token needed)")
async def open_pairing(body: OpenPairing, state: State) -> dict[str, Any]:
    svc = state.service
    office = svc.office(body.office)
    return await _write(
        state,
        lambda conn: pairing.open_request(
            conn, body.code, body.role, office.id, body.device, svc.clock(), svc.secret
        ),
    )


@router.post("/approve", summary="A technician approves the code shown on a device")
async def approve_pairing(body: PairingCode, state: State, caller: Caller) -> dict[str, Any]:
    if caller.role not in ("admin", "manager"):
        raise DomainError("forbidden", "only managers and admins approve devices")
    svc = state.service
    return await _write(
        state, lambda conn: pairing.approve(conn, body.code, svc.clock(), svc.secret)
    )


@router.post(
    "/collect",
    summary="The device collects its token once the code is approved (202 while pending)",
    responses={202: {"description": "not approved yet: ask again in a few seconds"}},
)
async def collect_pairing(body: PairingCode, state: State) -> JSONResponse:
    svc = state.service
    body_out = await _write(
        state, lambda conn: pairing.collect(conn, body.code, svc.clock(), svc.secret)
    )
    return JSONResponse(body_out, 202 if body_out["status"] == "pending" else 200)
