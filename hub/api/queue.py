"""Read-only views: services, queue state, device health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from office360.core.errors import DomainError

from ..auth import CAN_REPORT_HEALTH
from .deps import Caller, State
from .models import ERRORS, HealthReport, QueueState, ServiceInfo

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
    if caller.role not in CAN_REPORT_HEALTH:
        raise DomainError("forbidden", "only kiosks and displays report their health")
    svc = state.service
    report = body.model_dump(exclude={"device"})
    outcome = await state.write(
        lambda: svc.run_write(
            caller.scope,
            None,
            "",
            lambda conn, events: svc.report_health(conn, events, caller, body.device, report),
        )
    )
    assert outcome.body is not None
    return outcome.body


@router.get("/devices", tags=["devices"])
async def list_devices(
    state: State, caller: Caller, office: OfficeId = None
) -> list[dict[str, Any]]:
    if caller.role not in ("admin", "manager"):
        raise DomainError("forbidden", "only managers and admins see device health")
    return await state.run(state.service.device_reports, office or caller.office_id)
