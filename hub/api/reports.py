"""Results: KPI reports (JSON or CSV), a comparison of two periods, the what-if planner, and the
citizen's feedback on a finished ticket.

Reports and simulations take up to a couple of seconds of CPU: they run in worker threads, two
at a time, never on the event loop, and read through their own engine (hub/reports_repo.py).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from office360.config import OfficeSettings, Settings
from office360.core.errors import DomainError, Invalid, NotFound
from office360.core.kpi import COMPARISON_FIELDS, ServiceLevel, compare
from office360.core.simulation import DeskPlan

from .. import planner
from ..auth import Principal
from ..feedback import give_feedback
from ..reports_repo import (
    build_report,
    check_range,
    feedback_summary,  # noqa: F401 - the dashboard imports it from here
    load_kpis,
    read_engine,
    report_body,
    timezones,
)
from .deps import Caller, MaybeCaller, State
from .models import ERRORS, Strict

router = APIRouter(prefix="/api/v1", responses=ERRORS)
MANAGERS = frozenset({"manager", "admin"})
T = TypeVar("T")
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}

# --- response models -----------------------------------------------------------------------------


class DistributionOut(BaseModel):
    count: int
    mean: float | None
    median: float | None
    p90: float | None


class PunctualityOut(BaseModel):
    count: int
    early_share: float | None
    on_time_share: float | None
    late_share: float | None
    mean_minutes: float | None


class GroupOut(BaseModel):
    dimension: str
    office: str
    key: str
    issued: int
    called: int
    served: int
    no_shows: int
    cancelled: int
    transfers: int
    transferred_in: int
    recalls: int
    waiting: DistributionOut
    service: DistributionOut
    call_to_arrival: DistributionOut
    within_target: float | None
    target_met: bool | None
    no_show_rate: float | None
    transfer_rate: float | None
    channels: dict[str, int]
    punctuality: PunctualityOut


class ServiceLevelOut(BaseModel):
    target_s: float
    goal: float


class FeedbackOut(BaseModel):
    office: str
    service: str
    """"" for the whole office."""
    count: int
    mean_rating: float | None
    ratings: dict[str, int]
    comments: int


class KpiReportOut(BaseModel):
    office: str | None
    from_: date = Field(alias="from")
    to: date
    service_level: ServiceLevelOut
    punctuality_grace_s: float
    first_day: date | None
    last_day: date | None
    groups: list[GroupOut]
    feedback: list[FeedbackOut]


class MetricOut(BaseModel):
    metric: str
    a: bool | int | float | None
    b: bool | int | float | None
    delta: float | None
    change: float | None


class GroupDeltaOut(BaseModel):
    dimension: str
    office: str
    key: str
    in_a: bool
    in_b: bool
    metrics: list[MetricOut]


class PeriodOut(BaseModel):
    from_: date = Field(alias="from")
    to: date


class ComparisonOut(BaseModel):
    office: str | None
    a: PeriodOut
    b: PeriodOut
    groups: list[GroupDeltaOut]


class FeedbackIn(Strict):
    rating: int = Field(ge=1, le=5, description="1 (bad) to 5 (very good)")
    comment: str | None = Field(
        None, max_length=2000, description="kept without e-mails, phones or ID numbers"
    )


class FeedbackGiven(BaseModel):
    ticket: int
    rating: int
    comment: str | None
    channel: str
    created_at: str


ServiceId = Annotated[str, Field(min_length=1, max_length=40)]


class DeskIn(Strict):
    id: str = Field(min_length=1, max_length=40)
    services: list[ServiceId] = Field(min_length=1, max_length=40)


class ProfileIn(Strict):
    service: ServiceId
    per_hour: dict[Annotated[int, Field(ge=0, le=23)], Annotated[float, Field(ge=0, le=1000)]] = (
        Field(min_length=1, max_length=24, description='arrivals per hour by hour: {"9": 12}')
    )
    mean_service_minutes: float = Field(5, gt=0, le=240)


class PlanIn(Strict):
    office: str | None = Field(None, max_length=40)
    desks: list[DeskIn] | None = Field(
        None, min_length=1, max_length=60, description="default: the office's desks"
    )
    desk_count: int | None = Field(
        None, ge=1, le=60, description="instead of desks: this many desks serving every service"
    )
    appointment_share: float = Field(
        0, ge=0, le=1, description="share of walk-ins turned into appointments"
    )
    replay_day: date | None = Field(None, description="a real day (office-local) to replay")
    profile: list[ProfileIn] | None = Field(None, min_length=1, max_length=40)
    days: int = Field(1, ge=1, le=20, description="synthetic days to simulate")
    seed: int = Field(9, ge=0, le=2**31)
    target_minutes: float = Field(10, ge=1, le=240)
    walk_seconds: float = Field(0, ge=0, le=600)
    slot_minutes: int = Field(10, ge=5, le=120)


class ServiceOutcomeOut(BaseModel):
    service: str
    arrivals: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    max_wait_s: float | None
    within_target: float | None
    max_queue: int


class DeskOutcomeOut(BaseModel):
    desk: str
    served: int
    busy_s: float
    utilisation: float


class ActualOut(BaseModel):
    mean_wait_s: float | None
    p90_wait_s: float | None
    within_target: float | None


class PlanOut(BaseModel):
    source: Literal["replay", "synthetic"]
    day: str | None
    arrivals: int
    appointments: int
    span_s: float
    overall: ServiceOutcomeOut
    services: list[ServiceOutcomeOut]
    desks: list[DeskOutcomeOut]
    actual: ActualOut | None


# --- helpers shared with the dashboard and the CLI ------------------------------------------------


def require_manager(caller: Principal) -> None:
    if caller.role not in MANAGERS:
        raise DomainError("forbidden", "reports are for managers and admins")


def report_office(settings: Settings, caller: Principal, office: str | None) -> str | None:
    """The office to report on: the caller's own, or any (None: all) for an admin of all."""
    if caller.office_id:
        if office and office != caller.office_id:
            raise DomainError("wrong_office", "this token belongs to another office")
        return caller.office_id
    if office is not None and settings.office(office) is None:
        raise NotFound("unknown_office", f"no office {office!r}")
    return office


def report_engine(request: Request) -> Engine:
    engine = getattr(request.app.state, "report_engine", None)
    if engine is None:
        settings: Settings = request.app.state.hub.service.settings
        engine = request.app.state.report_engine = read_engine(settings.hub.sqlalchemy_url())
    return engine


async def in_worker(request: Request, fn: Callable[..., T], *args: Any) -> T:
    """CPU-heavy work in a worker thread, at most two at a time per hub."""
    gate = getattr(request.app.state, "report_gate", None)
    if gate is None:
        gate = request.app.state.report_gate = asyncio.Semaphore(2)
    async with gate:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def service_level(target_minutes: float, goal: float) -> ServiceLevel:
    return ServiceLevel(target_minutes * 60, goal)


def csv_response(rows: list[dict[str, Any]], fields: tuple[str, ...], name: str) -> Response:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- endpoints -------------------------------------------------------------------------------------

From = Annotated[date, Query(alias="from", description="first day, office-local (YYYY-MM-DD)")]
To = Annotated[date, Query(description="last day, included")]
OfficeParam = Annotated[str | None, Query(max_length=40)]
Format = Annotated[Literal["json", "csv"], Query()]
TargetMinutes = Annotated[
    float, Query(ge=1, le=240, description="service-level target: minutes of waiting")
]
Goal = Annotated[float, Query(ge=0.05, le=1, description="share that should meet the target")]


@router.get(
    "/reports/kpis",
    tags=["reports"],
    response_model=KpiReportOut,
    responses=CSV_RESPONSE,
    summary="KPIs per office, service, desk, hour of day and day (managers and admins)",
)
async def kpis(
    request: Request,
    state: State,
    caller: Caller,
    from_: From,
    to: To,
    office: OfficeParam = None,
    format: Format = "json",
    target_minutes: TargetMinutes = 10,
    goal: Goal = 0.8,
) -> Any:
    require_manager(caller)
    settings = state.service.settings
    office = report_office(settings, caller, office)
    check_range(from_, to)
    report, feedback = await in_worker(
        request,
        build_report,
        report_engine(request),
        settings,
        from_,
        to,
        office,
        service_level(target_minutes, goal),
    )
    if format == "csv":
        from office360.core.kpi import ROW_FIELDS

        return csv_response(report.to_rows(), ROW_FIELDS, f"kpis-{from_}-{to}.csv")
    return report_body(report, feedback, office, from_, to)


@router.get(
    "/reports/compare",
    tags=["reports"],
    response_model=ComparisonOut,
    responses=CSV_RESPONSE,
    summary="Period B against period A, metric by metric (e.g. before and after a launch)",
)
async def compare_periods(
    request: Request,
    state: State,
    caller: Caller,
    a_from: Annotated[date, Query()],
    a_to: Annotated[date, Query()],
    b_from: Annotated[date, Query()],
    b_to: Annotated[date, Query()],
    office: OfficeParam = None,
    format: Format = "json",
    target_minutes: TargetMinutes = 10,
    goal: Goal = 0.8,
) -> Any:
    require_manager(caller)
    settings = state.service.settings
    office = report_office(settings, caller, office)
    check_range(a_from, a_to)
    check_range(b_from, b_to)
    level = service_level(target_minutes, goal)
    engine = report_engine(request)
    zones = timezones(settings)

    def both() -> Any:
        a = load_kpis(engine, zones, a_from, a_to, office, level)
        b = load_kpis(engine, zones, b_from, b_to, office, level)
        return compare(a, b)

    comparison = await in_worker(request, both)
    if format == "csv":
        return csv_response(
            comparison.to_rows(), COMPARISON_FIELDS, f"compare-{a_from}-{a_to}-{b_from}-{b_to}.csv"
        )
    return {
        "office": office,
        "a": {"from": a_from.isoformat(), "to": a_to.isoformat()},
        "b": {"from": b_from.isoformat(), "to": b_to.isoformat()},
        "groups": [
            {
                "dimension": g.dimension,
                "office": g.office,
                "key": g.key,
                "in_a": g.in_a,
                "in_b": g.in_b,
                "metrics": [m.__dict__ for m in g.metrics],
            }
            for g in comparison.groups
        ],
    }


def plan_from(body: PlanIn, office: OfficeSettings) -> planner.Plan:
    if body.desk_count is not None and body.desks is not None:
        raise Invalid("planner_desks", "give either desks or desk_count, not both")
    if body.desk_count is not None:
        desks = planner.generalist_desks(office, body.desk_count)
    elif body.desks is not None:
        desks = [DeskPlan(d.id, tuple(d.services)) for d in body.desks]
    else:
        desks = planner.office_desks(office)
    return planner.Plan(
        desks=desks,
        appointment_share=body.appointment_share,
        replay_day=body.replay_day,
        profile=tuple(
            planner.Profile(p.service, dict(p.per_hour), p.mean_service_minutes * 60)
            for p in body.profile or ()
        ),
        days=body.days,
        seed=body.seed,
        target_s=body.target_minutes * 60,
        walk_s=body.walk_seconds,
        slot_s=body.slot_minutes * 60,
    )


@router.post(
    "/planner/simulate",
    tags=["reports"],
    response_model=PlanOut,
    summary="What if: replay a real day or a synthetic one with other desks or appointment share",
)
async def simulate_plan(
    request: Request, state: State, caller: Caller, body: Annotated[PlanIn, Body()]
) -> Any:
    require_manager(caller)
    office = state.service.office(body.office, caller)
    plan = plan_from(body, office)
    if len({d.id for d in plan.desks}) != len(plan.desks):
        raise Invalid("simulation_desk_duplicate", "two desks share an id")
    return await in_worker(
        request, planner.run_plan, report_engine(request), office, plan, state.service.policy
    )


@router.post(
    "/tickets/{ticket_id}/feedback",
    tags=["tickets"],
    status_code=201,
    response_model=FeedbackGiven,
    summary="The citizen's rating of a finished ticket, once (status link token or kiosk token)",
)
async def post_feedback(
    ticket_id: Annotated[int, Path(ge=1, le=2**53)],
    body: FeedbackIn,
    state: State,
    caller: MaybeCaller,
    t: Annotated[str | None, Query(max_length=64, description="status link token")] = None,
) -> Any:
    svc = state.service
    return await state.run(give_feedback, svc, ticket_id, caller, t, body.rating, body.comment)
