"""Appointments: slots, booking, cancel/reschedule with the manage token, QR, .ics, check-in."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from office360.core.errors import DomainError, Invalid

from ..appointments_service import AppointmentService, calendar_file, citizen_messages
from ..errors import error_response, status_for
from ..sessions import client_address
from ..web.qr import qr_png, qr_svg
from .deps import Caller, IdempotencyKey, MaybeCaller, State, request_hash
from .models import ERRORS, Strict, Ticket

router = APIRouter(prefix="/api/v1", tags=["appointments"], responses=ERRORS)

AppointmentId = Annotated[int, Path(ge=1, le=2**53)]
ManageToken = Annotated[
    str | None,
    Query(alias="t", max_length=64, description="the manage token of the confirmation link"),
]
OfficeId = Annotated[str | None, Query(max_length=40)]
ServiceId = Annotated[str, Query(min_length=1, max_length=40)]
Day = Annotated[date, Query(description="local date, YYYY-MM-DD")]
_FIRST_DAY, _LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


# --- schemas -----------------------------------------------------------------------------------


class BookableService(BaseModel):
    id: str
    names: dict[str, str]
    icon: str
    slot_minutes: int
    capacity: int
    video: bool


class SlotInfo(BaseModel):
    start: str
    end: str
    time: str
    capacity: int
    free: int


class SlotDay(BaseModel):
    office: str
    service: str
    day: str
    timezone: str
    slot_minutes: int
    slots: list[SlotInfo]


class BookAppointment(Strict):
    service: str = Field(min_length=1, max_length=40)
    slot_at: datetime = Field(description="slot start with its offset, as GET .../slots gives it")
    name: str = Field(min_length=1, max_length=100, description="a name or initials")
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    video: bool = False
    lang: str | None = Field(None, max_length=8)
    channel: Literal["web", "phone", "counter"] | None = Field(
        None, description="phone and counter need a staff token; default web (counter with a token)"
    )
    office: str | None = Field(None, max_length=40)


class Reschedule(Strict):
    slot_at: datetime


class CheckInRequest(Strict):
    code: str = Field(min_length=1, max_length=1100, description="the scanned QR text")
    office: str | None = Field(None, max_length=40)
    lang: str | None = Field(None, max_length=8)


class Appointment(BaseModel):
    id: int
    office: str
    office_name: str
    service: str
    service_names: dict[str, str]
    slot_at: str
    slot_end: str
    local_day: str
    local_time: str
    timezone: str
    channel: str
    video: bool
    video_url: str | None
    name: str
    email: str | None
    phone: str | None
    lang: str
    status: str
    ticket_id: int | None
    sequence: int
    code: str | None
    manage_url: str | None
    qr_png_url: str
    qr_svg_url: str
    ics_url: str
    created_at: str


class CheckedInAppointment(BaseModel):
    id: int
    service: str
    slot_at: str
    video: bool
    status: str


class CheckIn(BaseModel):
    outcome: str
    reason: str
    message: str
    messages: dict[str, str]
    replayed: bool
    ticket: Ticket
    appointment: CheckedInAppointment


# --- helpers -----------------------------------------------------------------------------------


def appointments(request: Request) -> AppointmentService:
    return request.app.state.appointments  # type: ignore[no-any-return]


def refusal(exc: DomainError, lang: str | None) -> JSONResponse:
    """The error body, plus the sentences a kiosk can show (and when to come back)."""
    extra: dict[str, Any] = {k: v for k, v in exc.details.items() if k == "earliest"}
    messages = citizen_messages(exc.code)
    if messages:
        extra["messages"] = messages
        extra["citizen_message"] = messages.get(lang or "es") or messages.get("es", "")
    return error_response(status_for(exc), exc.code, exc.message, **extra)


def public_scope(request: Request) -> str:
    """Idempotency scope of a booking without a token: one per client address (as the rate limits
    see it), so two citizens never share a key's stored answer. Keyed with the hub's secret:
    a plain hash of an IPv4 address is reversed by trying them all."""
    secret = request.app.state.hub.service.secret
    address = hmac.new(secret, client_address(request).encode(), hashlib.sha256).hexdigest()
    return f"appointments:public:{address[:32]}"


async def _write(state: State, scope: str, key: str | None, digest: str, fn: Any) -> JSONResponse:
    svc = state.service
    outcome = await state.write(lambda: svc.run_write(scope, key, digest, fn))
    return JSONResponse(outcome.body, outcome.status)


# --- reads -------------------------------------------------------------------------------------


@router.get("/appointments/services", response_model=list[BookableService])
async def bookable_services(request: Request, office: OfficeId = None) -> list[dict[str, Any]]:
    return appointments(request).bookable_services(office)


@router.get("/appointments/slots", response_model=SlotDay)
async def slots(
    request: Request, state: State, service: ServiceId, day: Day, office: OfficeId = None
) -> dict[str, Any]:
    return await state.run(appointments(request).slots, office, service, day)


@router.get("/appointments", response_model=list[Appointment])
async def day_list(
    request: Request,
    state: State,
    caller: Caller,
    day: Day,
    office: OfficeId = None,
    service: Annotated[str | None, Query(max_length=40)] = None,
) -> list[dict[str, Any]]:
    """A day's appointments (staff, manager, admin), with video links for the desks."""
    if not _FIRST_DAY <= day <= _LAST_DAY:
        raise Invalid("day_out_of_range", "that day is out of range")
    return await state.run(appointments(request).day_list, office, day, caller, service)


@router.get("/appointments/{appointment_id}", response_model=Appointment)
async def read(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> dict[str, Any]:
    return await state.run(appointments(request).read, appointment_id, caller, t)


async def _row_and_code(
    request: Request, state: State, appointment_id: int, caller: Any, t: str | None
) -> tuple[Any, str | None]:
    appts = appointments(request)

    def load() -> tuple[Any, str | None]:
        with appts.hub.transaction() as conn:
            row = appts._authorized(conn, appointment_id, caller, t)
        return row, (appts.code_for(row) if row.status == "booked" else None)

    return await state.run(load)


_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get(
    "/appointments/{appointment_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
async def qr_png_image(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> Response:
    _, code = await _row_and_code(request, state, appointment_id, caller, t)
    if code is None:
        raise DomainError("appointment_not_booked", "only a booked appointment has a code")
    return Response(qr_png(code), media_type="image/png", headers=_PRIVATE)


@router.get(
    "/appointments/{appointment_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}}},
)
async def qr_svg_image(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> Response:
    _, code = await _row_and_code(request, state, appointment_id, caller, t)
    if code is None:
        raise DomainError("appointment_not_booked", "only a booked appointment has a code")
    return Response(qr_svg(code), media_type="image/svg+xml", headers=_PRIVATE)


@router.get(
    "/appointments/{appointment_id}/calendar.ics",
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}}},
)
async def calendar(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> Response:
    appts = appointments(request)
    row, _ = await _row_and_code(request, state, appointment_id, caller, t)
    manage = f"{appts.hub.settings.hub.base_url()}/book/manage/{row.id}?t={t}" if t else None
    body = calendar_file(appts, row, manage).encode("utf-8")
    headers = {
        **_PRIVATE,
        "Content-Disposition": f'attachment; filename="appointment-{row.slot_at:%Y%m%d}.ics"',
    }
    return Response(body, media_type="text/calendar; charset=utf-8", headers=headers)


# --- writes ------------------------------------------------------------------------------------


@router.post("/appointments", status_code=201, response_model=Appointment)
async def book(
    body: BookAppointment,
    request: Request,
    state: State,
    caller: MaybeCaller,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """Book a slot. Without a token: the public booking page (channel web). With a staff,
    manager or admin token: on behalf of a phone caller or a person at the counter."""
    appts = appointments(request)
    raw = await request.body()
    req = body.model_dump()
    return await _write(
        state,
        caller.scope if caller else public_scope(request),
        key,
        request_hash("POST", "/appointments", raw),
        lambda conn, events: appts.book(conn, events, caller, req),
    )


@router.post("/appointments/{appointment_id}/cancel", response_model=Appointment)
async def cancel(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> JSONResponse:
    appts = appointments(request)
    return await _write(
        state,
        "appointments:manage",
        None,
        "",
        lambda conn, events: appts.cancel(conn, events, appointment_id, caller, t),
    )


@router.post("/appointments/{appointment_id}/reschedule", response_model=Appointment)
async def reschedule(
    appointment_id: AppointmentId,
    body: Reschedule,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
) -> JSONResponse:
    """Move to another free slot of the same service; the old QR code stops working."""
    appts = appointments(request)
    return await _write(
        state,
        "appointments:manage",
        None,
        "",
        lambda conn, events: appts.reschedule(
            conn, events, appointment_id, caller, t, body.slot_at
        ),
    )


@router.post(
    "/appointments/{appointment_id}/join",
    status_code=201,
    response_model=CheckIn,
    responses={200: {"model": CheckIn, "description": "already in the queue: the same ticket"}},
)
async def join_video(
    appointment_id: AppointmentId,
    request: Request,
    state: State,
    caller: MaybeCaller,
    t: ManageToken = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> JSONResponse:
    """A video appointment joins the queue at its time from the confirmation link (`?t=` the
    manage token): the desk that calls it sees the video link. Same check-in rules as a kiosk."""
    appts = appointments(request)
    try:
        return await _write(
            state,
            "appointments:manage",
            None,
            "",
            lambda conn, events: appts.join_video(conn, events, appointment_id, caller, t, lang),
        )
    except DomainError as exc:
        return refusal(exc, lang)


@router.post(
    "/checkin",
    status_code=201,
    response_model=CheckIn,
    responses={200: {"model": CheckIn, "description": "already checked in: the same ticket"}},
)
async def check_in(
    body: CheckInRequest,
    request: Request,
    state: State,
    caller: Caller,
    key: IdempotencyKey = None,
) -> JSONResponse:
    """A scanned appointment code → its ticket (kiosk, staff, manager or admin token).

    201 with a new ticket; 200 with the same ticket when the code was already checked in.
    Refusals carry `messages` ({lang: sentence}) a kiosk can show."""
    appts = appointments(request)
    raw = await request.body()
    try:
        return await _write(
            state,
            caller.scope,
            key,
            request_hash("POST", "/checkin", raw),
            lambda conn, events: appts.check_in(
                conn, events, caller, body.code, body.office, body.lang
            ),
        )
    except DomainError as exc:
        return refusal(exc, body.lang)
