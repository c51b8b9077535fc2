"""Read-only views: services, queue state, device health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from office360.core import events as ev
from office360.core.errors import DomainError

from .. import pairing
from ..auth import CAN_REPORT_HEALTH
from .deps import Caller, State
from .models import ERRORS, HealthReport, QueueState, ServiceInfo, Strict, details_problem
from .reports import report_office

router = APIRouter(prefix="/api/v1", responses=ERRORS)
OfficeId = Annotated[str | None, Query(max_length=40)]


@router.get("/services", response_model=list[ServiceInfo], tags=["queue"])
async def list_services(state: State, office: OfficeId = None) -> list[dict[str, Any]]:
    return state.service.services(office)


@router.get("/queue", response_model=QueueState, tags=["queue"])
async def queue_state(state: State, caller: Caller, office: OfficeId = None) -> dict[str, Any]:
    return await state.run(state.service.queue, office, caller)


@router.post("/devices/health", tags=["devices"])
async def report_health(body: HealthReport, state: State, caller: Caller) -> dict[str, Any]:
    """The last report per device of the caller's office: the same name in two offices is two
    devices. In its office a name belongs to one token: another gets 409 device_name_taken
    (hub/pairing.py claim_device_name)."""
    if caller.role not in CAN_REPORT_HEALTH:
        raise DomainError("forbidden", "only kiosks and displays report their health")
    svc = state.service
    office = svc.office(None, caller)
    report = body.model_dump(exclude={"device"})

    def work(conn: Any, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        owner = pairing.claim_device_name(conn, caller, office.id, body.device)
        return svc.report_health(conn, events, caller, body.device, report, owner)

    outcome = await state.write(lambda: svc.run_write(caller.scope, None, "", work))
    assert outcome.body is not None
    return outcome.body


@router.get("/devices", tags=["devices"])
async def list_devices(
    state: State, caller: Caller, office: OfficeId = None
) -> list[dict[str, Any]]:
    """The caller's office's devices (403 wrong_office for another); an admin of all offices
    sees every office's (one row per office and name), or one office's with `office`."""
    if caller.role not in ("admin", "manager"):
        raise DomainError("forbidden", "only managers and admins see device health")
    office_id = report_office(state.service.settings, caller, office)
    devices = await state.run(state.service.device_reports, office_id)
    for device in devices:  # kept before details were checked: never let one break the list
        report = device["report"]
        if isinstance(report, dict) and details_problem(report.get("details", {})):
            report["details"] = {"dropped": "details too large or too deeply nested"}
    return devices


class DisplayMessage(Strict):
    message: str = Field("", max_length=280, description="the scrolling line; empty to clear it")
    office: str | None = Field(None, max_length=40)


@router.post("/display/message", tags=["devices"])
async def set_display_message(body: DisplayMessage, state: State, caller: Caller) -> dict[str, Any]:
    """Set the scrolling message line of the office's waiting-room displays."""
    if caller.role not in ("admin", "manager"):
        raise DomainError("forbidden", "only managers and admins set the display message")
    svc = state.service
    office = svc.office(body.office, caller)

    def work(conn: Any, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        svc._emit(conn, events, office.id, ev.DISPLAY_MESSAGE, svc.clock(), message=body.message)
        return 200, {"office": office.id, "message": body.message}

    outcome = await state.write(lambda: svc.run_write(caller.scope, None, "", work))
    assert outcome.body is not None
    return outcome.body
