"""Admin pages for managers and admins: office, users, device tokens, device health, QR poster."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from .. import repository, users_repo
from ..auth import ROLES as TOKEN_ROLES
from ..auth import hash_token, new_token
from ..sessions import USER_ROLES, StaffSession, hash_password
from .auth_pages import read_form
from .common import (
    form_csrf_ok,
    hub,
    language,
    office_of,
    render,
    service_name,
    settings,
    signed_in,
)
from .i18n import translator

router = APIRouter(include_in_schema=False)
ADMINS = ("manager", "admin")
PAPER_WARNINGS = frozenset({"paper_low", "paper_out", "near_end", "offline", "error", "cover_open"})
LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{2,80}$")


def grantable(role: str, choices: tuple[str, ...]) -> tuple[str, ...]:
    """An admin grants any role; a manager every role below manager."""
    if role == "admin":
        return choices
    return tuple(r for r in choices if r not in ("admin", "manager"))


async def _admin(request: Request) -> StaffSession | Response:
    return await signed_in(request, ADMINS)


@router.get("/admin")
async def overview(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    office = office_of(request, session)
    lang = language(request)
    services = [
        {
            "id": s.id,
            "prefix": s.prefix,
            "name": service_name(office, s.id, lang),
            "desks": [d.label() for d in office.desks if s.id in d.services],
        }
        for s in office.services
    ]
    hours = _opening_hours(request)
    return render(
        request,
        "admin_overview.html",
        session=session,
        office=office,
        services=services,
        hours=hours,
        section="overview",
    )


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _opening_hours(request: Request) -> list[tuple[str, str]] | None:
    """Opening hours from the [appointments] settings (issue 4's section), when they exist."""
    appointments = getattr(settings(request), "appointments", None)
    hours = getattr(appointments, "hours", None) if appointments else None
    if not hours:
        return None
    t = translator(language(request))
    order = {day: i for i, day in enumerate(WEEKDAYS)}
    days = sorted(hours.items(), key=lambda item: order.get(item[0], len(WEEKDAYS)))
    return [(t(f"day.{day}") if day in order else day, span) for day, span in days]


# --- users -------------------------------------------------------------------------------------


async def _users_page(
    request: Request, session: StaffSession, status: int = 200, **extra: Any
) -> Response:
    state = hub(request)

    def load() -> list[Any]:
        with state.service.transaction() as conn:
            return users_repo.list_users(conn)

    users = await state.run(load)
    office = office_of(request, session)
    return render(
        request,
        "admin_users.html",
        status,
        session=session,
        office=office,
        users=users,
        roles=grantable(session.role, USER_ROLES),
        section="users",
        **{"notice": None, "error": None, **extra},
    )


@router.get("/admin/users")
async def users_page(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    return await _users_page(request, session)


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _users_page(request, session, 403, error="csrf.failed")
    login = form.get("login", "").strip()
    name = form.get("name", "").strip()[:200] or login
    role = form.get("role", "")
    password = form.get("password", "")
    if not LOGIN_PATTERN.match(login):
        return await _users_page(request, session, 422, error="admin.login")
    if role not in grantable(session.role, USER_ROLES):
        return await _users_page(request, session, 403, error="err.forbidden")
    if not 8 <= len(password) <= 200:
        return await _users_page(request, session, 422, error="admin.password")
    office = office_of(request, session)
    state = hub(request)
    password_hash = hash_password(password)

    def add() -> bool:
        try:
            with state.service.transaction() as conn:
                users_repo.insert_user(
                    conn,
                    login=login,
                    name=name,
                    role=role,
                    office_id=office.id,
                    password_hash=password_hash,
                    active=True,
                    created_at=state.service.clock(),
                )
            return True
        except IntegrityError:
            return False

    if not await state.run(add):
        return await _users_page(request, session, 409, error="admin.login")
    return await _users_page(request, session, notice="admin.done")


@router.post("/admin/users/disable")
async def disable_user(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _users_page(request, session, 403, error="csrf.failed")
    login = form.get("login", "")
    state = hub(request)

    def disable() -> str | None:
        with state.service.transaction() as conn:
            user = users_repo.user_by_login(conn, login)
            if user is None or login == session.login:
                return "admin.login"
            if user.role not in grantable(session.role, USER_ROLES):
                return "err.forbidden"
            users_repo.set_active(conn, login, False)
            users_repo.delete_user_sessions(conn, user.id)
            return None

    error = await state.run(disable)
    if error:
        return await _users_page(request, session, 422, error=error)
    return await _users_page(request, session, notice="admin.done")


# --- device tokens -----------------------------------------------------------------------------


async def _tokens_page(
    request: Request, session: StaffSession, status: int = 200, **extra: Any
) -> Response:
    state = hub(request)

    def load() -> list[Any]:
        with state.service.transaction() as conn:
            return repository.list_tokens(conn)

    tokens = await state.run(load)
    office = office_of(request, session)
    return render(
        request,
        "admin_tokens.html",
        status,
        session=session,
        office=office,
        tokens=tokens,
        roles=grantable(session.role, TOKEN_ROLES),
        section="tokens",
        **{"notice": None, "error": None, "new_token": None, **extra},
    )


@router.get("/admin/tokens")
async def tokens_page(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    return await _tokens_page(request, session)


@router.post("/admin/tokens")
async def create_token(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _tokens_page(request, session, 403, error="csrf.failed")
    office = office_of(request, session)
    role = form.get("role", "")
    name = form.get("name", "").strip()[:200]
    desk = form.get("desk", "").strip() or None
    if role not in grantable(session.role, TOKEN_ROLES):
        return await _tokens_page(request, session, 403, error="err.forbidden")
    if not name:
        return await _tokens_page(request, session, 422, error="admin.name")
    if (role == "staff") != (desk is not None) or (desk and office.desk_by_id(desk) is None):
        return await _tokens_page(request, session, 422, error="admin.desk")
    token = new_token()
    state = hub(request)

    def create() -> None:
        with state.service.transaction() as conn:
            repository.insert_token(
                conn,
                name=name,
                role=role,
                office_id=office.id,
                desk_id=desk,
                token_hash=hash_token(token),
                created_at=state.service.clock(),
            )

    await state.run(create)
    return await _tokens_page(request, session, notice="admin.token_once", new_token=token)


@router.post("/admin/tokens/revoke")
async def revoke_token(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    form = await read_form(request)
    if not form_csrf_ok(request, form.get("csrf"), session):
        return await _tokens_page(request, session, 403, error="csrf.failed")
    token_id = int(form["id"]) if form.get("id", "").isdigit() else 0
    state = hub(request)

    def revoke() -> bool:
        with state.service.transaction() as conn:
            return repository.revoke_token(conn, token_id, state.service.clock())

    if not await state.run(revoke):
        return await _tokens_page(request, session, 404, error="admin.id")
    state.tokens.clear()  # revocation applies now, not after the cache's lifetime
    return await _tokens_page(request, session, notice="admin.done")


# --- device health -----------------------------------------------------------------------------


def device_rows(
    reports: list[dict[str, Any]], now: datetime, silent_minutes: float
) -> list[dict[str, Any]]:
    rows = []
    for r in reports:
        report = r.get("report") or {}
        seen = datetime.fromisoformat(r["received_at"])
        silent = (now - seen).total_seconds() / 60
        printer = str(report.get("printer", "unknown"))
        warnings: list[tuple[str, dict[str, Any]]] = []
        if silent > silent_minutes:
            warnings.append(
                ("admin.warn_silent", {"minutes": int(silent) if silent >= 1 else "<1"})
            )
        if printer in PAPER_WARNINGS:
            warnings.append(("admin.warn_paper", {"state": printer}))
        rows.append(
            {
                "device": r["device"],
                "role": r["role"],
                "version": report.get("version", ""),
                "printer": printer,
                "camera": str(report.get("camera", "unknown")),
                "seen": seen.strftime("%Y-%m-%d %H:%M:%S UTC"),
                "warnings": warnings,
            }
        )
    return rows


@router.get("/admin/devices")
async def devices_page(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    office = office_of(request, session)
    state = hub(request)
    reports = await state.run(state.service.device_reports, office.id)
    rows = device_rows(reports, state.service.clock(), settings(request).web.device_silent_minutes)
    return render(
        request,
        "admin_devices.html",
        session=session,
        office=office,
        devices=rows,
        section="devices",
    )


# --- QR poster -----------------------------------------------------------------------------------


def qr_svg(data: str) -> Markup:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    # Size comes from the page's CSS: drop the fixed millimetres.
    svg = re.sub(r'\s(width|height)="[^"]*"', "", svg, count=2)
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR" class="qr" ', 1))


@router.get("/admin/poster")
async def poster(request: Request) -> Response:
    session = await _admin(request)
    if not isinstance(session, StaffSession):
        return session
    office = office_of(request, session)
    url = f"{settings(request).hub.base_url()}/take"
    return render(
        request,
        "poster.html",
        session=session,
        office=office,
        url=url,
        qr=qr_svg(url),
        take_enabled=settings(request).web.take_enabled,
    )
