"""The desk panel (/desk) and the desk choice of a signed-in staff member."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .. import users_repo
from ..sessions import USER_ROLES, StaffSession
from .auth_pages import read_form
from .common import (
    form_csrf_ok,
    hub,
    language,
    office_of,
    redirect,
    render,
    service_name,
    settings,
    signed_in,
)
from .i18n import translator

router = APIRouter(include_in_schema=False)

# action -> (label key, keyboard shortcut); the panel shows the key on each button.
ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("next", "desk.next", "N"),
    ("recall", "desk.recall", "R"),
    ("start", "desk.start", "S"),
    ("finish", "desk.finish", "F"),
    ("no-show", "desk.no_show", "X"),
    ("transfer", "desk.transfer", "T"),
    ("pause", "desk.pause", "P"),
)
JS_STRINGS = (
    "desk.none",
    "desk.paused",
    "desk.open",
    "desk.live",
    "desk.offline",
    "desk.nobody",
    "desk.pause",
    "desk.resume",
    "desk.waiting",
    "desk.longest",
    "desk.slot",
    "desk.video",
    "err.desk_busy",
    "err.desk_idle",
    "err.desk_paused",
    "err.ticket_not_serving",
    "err.same_service",
    "err.forbidden",
    "err.unauthorized",
    "err.csrf_failed",
    "err.rate_limited",
    "err.network",
    "err.other",
    "desk.st.waiting",
    "desk.st.called",
    "desk.st.recalled",
    "desk.st.serving",
    "desk.st.done",
    "desk.st.no_show",
    "desk.st.cancelled",
    "desk.st.transferred",
    "book.done",
    "book.none",
)


def booking_api_present(request: Request) -> bool:
    """Whether the panel offers appointments: decided from the configuration the hub runs with.

    Not from walking `app.routes`: FastAPI 0.163 keeps included routers as objects with no
    `path`, so such a walk never finds /api/v1/appointments.
    """
    has_service = getattr(request.app.state, "appointments", None) is not None
    return has_service and settings(request).appointments.enabled


@router.get("/desk")
async def desk_panel(request: Request) -> Response:
    session = await signed_in(request, USER_ROLES)
    if not isinstance(session, StaffSession):
        return session
    office = office_of(request, session)
    desk = office.desk_by_id(session.desk_id) if session.desk_id else None
    if desk is None:
        return redirect(request, "/desk/choose")
    lang = language(request)
    t = translator(lang)
    booking = booking_api_present(request)
    services = [{"id": s.id, "name": service_name(office, s.id, lang)} for s in office.services]
    config = {
        "office": office.id,
        "desk": desk.id,
        "deskName": desk.label(),
        "services": desk.services,
        "names": {s["id"]: s["name"] for s in services},
        "strings": {key: t(key) for key in JS_STRINGS},
        "lang": lang,
        "booking": booking,
    }
    return render(
        request,
        "desk.html",
        session=session,
        office=office,
        desk=desk,
        actions=ACTIONS,
        services=services,
        desk_services=[s for s in services if s["id"] in desk.services],
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        booking=booking,
    )


@router.get("/desk/choose")
async def choose_page(request: Request) -> Response:
    session = await signed_in(request, USER_ROLES)
    if not isinstance(session, StaffSession):
        return session
    office = office_of(request, session)
    return render(request, "choose.html", session=session, office=office, error=None)


@router.post("/desk/choose")
async def choose(request: Request) -> Response:
    session = await signed_in(request, USER_ROLES)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    office = office_of(request, session)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return render(
            request, "choose.html", 403, session=session, office=office, error="csrf.failed"
        )
    desk = office.desk_by_id(form.get("desk", ""))
    if desk is None:
        return render(
            request, "choose.html", 422, session=session, office=office, error="choose.title"
        )
    state = hub(request)

    def pick() -> Any:
        with state.service.transaction() as conn:
            users_repo.set_session_desk(conn, session.id_hash, desk.id)

    await state.run(pick)
    return redirect(request, "/desk")
