"""The citizen's phone pages: the ticket status page and contactless walk-in (/take)."""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from office360.core.errors import DomainError

from ..auth import Principal, status_token
from ..sessions import client_address
from .auth_pages import read_form
from .common import (
    finish,
    form_csrf_ok,
    hub,
    language,
    redirect,
    render,
    secure,
    service_name,
    settings,
    web_state,
)
from .i18n import translator

router = APIRouter(include_in_schema=False)
DEVICE_COOKIE = "o360_device"
# The numbers this phone took at /take ("id:token" joined by "."), so a refusal can link back.
TAKEN_COOKIE = "o360_taken"
TAKEN_KEEP = 5
FINAL_STATES = ("done", "cancelled", "no_show", "transferred")
STATUS_STRINGS = (
    "status.waiting",
    "status.called",
    "status.recalled",
    "status.serving",
    "status.done",
    "status.no_show",
    "status.cancelled",
    "status.transferred",
    "phone.position_value",
    "phone.position_first",
    "phone.minutes",
    "phone.unknown",
    "phone.go_to",
    "phone.being_served",
    "phone.live",
    "phone.offline",
    "phone.sound_on",
    "phone.final",
)


def _status_path(ticket_id: int, token: str) -> str:
    return f"/status/{ticket_id}?t={token}"


async def _ticket(request: Request, ticket_id: int, token: str) -> dict[str, Any] | None:
    state = hub(request)
    if not (1 <= ticket_id <= 2**53) or not token or len(token) > 64:
        return None
    try:
        return await state.run(state.service.ticket, ticket_id, None, token)
    except DomainError:
        return None


@router.get("/status/{ticket_id}")
async def status_page(request: Request, ticket_id: int, t: str = "") -> Response:
    ticket = await _ticket(request, ticket_id, t)
    if ticket is None:
        return render(
            request, "message.html", 404, title="404", message="phone.not_found", phone=True
        )
    lang = language(request, ticket.get("lang"))
    request.state.lang = lang
    tr = translator(lang)
    office = settings(request).office(ticket["office"])
    assert office is not None
    config = {
        "events": f"/api/v1/tickets/{ticket_id}/events?t={t}",
        "strings": {key: tr(key) for key in STATUS_STRINGS},
        "ticket": ticket,
    }
    return render(
        request,
        "status.html",
        phone=True,
        ticket=ticket,
        token=t,
        service=service_name(office, ticket["service"], lang),
        final=ticket["status"] in FINAL_STATES,
        config_json=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
    )


@router.post("/status/{ticket_id}/cancel")
async def cancel(request: Request, ticket_id: int, t: str = "") -> Response:
    form = await read_form(request)
    ticket = await _ticket(request, ticket_id, t)
    if ticket is None:
        return render(
            request, "message.html", 404, title="404", message="phone.not_found", phone=True
        )
    if not form_csrf_ok(request, form.get("csrf"), None):
        return render(request, "message.html", 403, title="403", message="csrf.failed", phone=True)
    state = hub(request)
    svc = state.service
    # Already called or finished: the status page then shows what happened instead.
    with contextlib.suppress(DomainError):
        await state.write(
            lambda: svc.run_write(
                f"status:{ticket_id}",
                None,
                "",
                lambda conn, events: svc.cancel_ticket(conn, events, ticket_id, None, t),
            )
        )
    return redirect(request, _status_path(ticket_id, t))


def _take_office(request: Request) -> Any:
    s = settings(request)
    return s.office(s.web.take_office or None) or s.default_office


@router.get("/take")
async def take_page(request: Request) -> Response:
    s = settings(request)
    office = _take_office(request)
    lang = language(request)
    if not s.web.take_enabled:
        return render(
            request, "take.html", 403, phone=True, office=office, services=[], error="take.off"
        )
    services = [
        {"id": sv.id, "prefix": sv.prefix, "name": service_name(office, sv.id, lang)}
        for sv in office.services
    ]
    response = render(
        request, "take.html", phone=True, office=office, services=services, error=None
    )
    if not request.cookies.get(DEVICE_COOKIE):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=secure(request),
        )
    return response


@router.post("/take")
async def take(request: Request) -> Response:
    s = settings(request)
    office = _take_office(request)
    form = await read_form(request)

    def refuse(status: int, error: str, taken: list[dict[str, Any]] | None = None) -> Response:
        return render(
            request,
            "take.html",
            status,
            phone=True,
            office=office,
            services=[],
            error=error,
            taken=taken,
        )

    if not s.web.take_enabled:
        return refuse(403, "take.off")
    device = request.cookies.get(DEVICE_COOKIE, "")[:64]
    if not device or not form_csrf_ok(request, form.get("csrf"), None):
        return refuse(403, "take.cookies")
    service = form.get("service", "")
    if not any(sv.id == service for sv in office.services):
        return redirect(request, "/take")
    limiter = web_state(request).take
    device_key, address_key = f"device:{device}", f"addr:{client_address(request)}"
    if limiter.count(device_key, 3600) >= s.web.take_per_device_per_hour:
        return refuse(429, "take.limit_device", await _taken_tickets(request))
    if limiter.count(address_key, 3600) >= s.web.take_per_address_per_hour:
        return refuse(429, "take.limit_address")
    state = hub(request)
    svc = state.service
    # /take issues as a kiosk would, but only for its office and only walk-in web tickets.
    walk_in = Principal(0, "take page", "kiosk", office.id, None)
    lang = language(request)
    outcome = await state.write(
        lambda: svc.run_write(
            "take",
            None,
            "",
            lambda conn, events: svc.issue_ticket(
                conn, events, walk_in, office.id, service, None, lang, "web"
            ),
        )
    )
    limiter.hit(device_key)
    limiter.hit(address_key)
    assert outcome.body is not None
    ticket_id = int(outcome.body["id"])
    token = status_token(svc.secret, ticket_id)
    response = redirect(request, _status_path(ticket_id, token))
    taken = [*_taken_pairs(request), (ticket_id, token)][-TAKEN_KEEP:]
    response.set_cookie(
        TAKEN_COOKIE,
        ".".join(f"{i}:{tok}" for i, tok in taken),
        max_age=86400,
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )
    return finish(request, response)


def _taken_pairs(request: Request) -> list[tuple[int, str]]:
    """(ticket id, status token) of the numbers this phone took, as its cookie says."""
    pairs: list[tuple[int, str]] = []
    for part in request.cookies.get(TAKEN_COOKIE, "")[:1000].split(".")[-TAKEN_KEEP:]:
        ticket_id, _, token = part.partition(":")
        if ticket_id.isdigit() and token:
            pairs.append((int(ticket_id), token))
    return pairs


async def _taken_tickets(request: Request) -> list[dict[str, Any]]:
    """This phone's numbers that still exist (the token checked), newest first, with their links."""
    lang = language(request)
    found = []
    for ticket_id, token in reversed(_taken_pairs(request)):
        ticket = await _ticket(request, ticket_id, token)
        if ticket is None:
            continue
        office = settings(request).office(ticket["office"])
        found.append(
            {
                "number": ticket["number"],
                "service": service_name(office, ticket["service"], lang) if office else "",
                "status": ticket["status"],
                "url": _status_path(ticket_id, token),
            }
        )
    return found
