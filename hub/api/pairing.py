"""Enrollment of kiosks and displays by a one-time pairing code."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from office360.core.errors import DomainError

from .. import pairing
from ..sessions import client_address
from .deps import Caller, State
from .models import ERRORS, ErrorBody, Strict

router = APIRouter(prefix="/api/v1/pairing", tags=["devices"], responses=ERRORS)
Code = Field(min_length=4, max_length=16)


class OpenPairing(Strict):
    code: str = Code
    role: Literal["kiosk", "display"]
    device: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9 _.:-]+$")
    office: str | None = Field(None, max_length=40)


class PairingCode(Strict):
    code: str = Code


class CodeWithSecret(Strict):
    code: str = Code
    secret: str = Field(
        "",
        max_length=100,
        pattern=r"^[A-Za-z0-9_-]*$",
        description="what POST /pairing answered to this device",
    )


async def _write(state: State, fn: Any) -> dict[str, Any]:
    svc = state.service
    outcome = await state.write(
        lambda: svc.run_write("pairing", None, "", lambda conn, _events: (200, fn(conn)))
    )
    assert outcome.body is not None
    return outcome.body


@router.post(
    "",
    summary="A new device asks to pair, showing CODE on its screen (no token needed); the "
    "answer's secret, kept off the screen, is needed to collect the token",
    responses={
        429: {
            "model": ErrorBody,
            "description": "pairing_busy: too many pending; Retry-After says when to try again",
        }
    },
)
async def open_pairing(body: OpenPairing, state: State, request: Request) -> dict[str, Any]:
    svc = state.service
    office = svc.office(body.office)
    address = client_address(request)
    return await _write(  # pairing_busy carries Retry-After (hub/errors.py domain_response)
        state,
        lambda conn: pairing.open_request(
            conn, body.code, body.role, office.id, body.device, svc.clock(), svc.secret, address
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
    summary="The device that opened the code collects its token once it is approved (202 while "
    "pending; 404 pairing_secret_invalid without the secret it was given)",
    responses={202: {"description": "not approved yet: ask again in a few seconds"}},
)
async def collect_pairing(body: CodeWithSecret, state: State) -> JSONResponse:
    svc = state.service
    body_out = await _write(
        state,
        lambda conn: pairing.collect(conn, body.code, body.secret, svc.clock(), svc.secret),
    )
    return JSONResponse(body_out, 202 if body_out["status"] == "pending" else 200)


@router.post(
    "/cancel",
    summary="The device that opened a code withdraws it, as it does when it opens a new one, so "
    "that code stops counting against the pending limits (404 pairing_secret_invalid without its "
    "secret: nothing changes)",
)
async def cancel_pairing(body: CodeWithSecret, state: State) -> dict[str, Any]:
    svc = state.service
    return await _write(
        state, lambda conn: pairing.cancel(conn, body.code, body.secret, svc.secret)
    )
