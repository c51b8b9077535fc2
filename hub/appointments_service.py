"""Appointments use cases: slots, booking, cancelling, rescheduling, check-in, import.

Writes run inside `HubService.run_write` (one transaction, events published after commit);
this module asks office360.core.slots and office360.qrtoken and keeps its SQL in
appointments_repo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row

from office360.appointments_import import AppointmentImportError, AppointmentRow, Problem
from office360.config import AppointmentServiceSettings, OfficeSettings
from office360.core.errors import Conflict, DomainError, Invalid, NotFound
from office360.core.model import Desk
from office360.core.slots import (
    CHECK_IN_MESSAGES,
    CheckInOutcome,
    CheckInRules,
    LateArrival,
    ServiceSchedule,
    Slot,
    capacity_from_desks,
    check_in_decision,
    code_expires_at,
    find_slot,
    parse_weekly_hours,
    slots_for_day,
)
from office360.core.text import unsafe_characters
from office360.qrtoken import CITIZEN_MESSAGES, Claims, TokenError, verify

from . import appointments_repo as arepo
from . import repository as repo
from .auth import Principal
from .keys import KeyStore
from .services import HubService

APPOINTMENT_BOOKED = "appointment.booked"
APPOINTMENT_RESCHEDULED = "appointment.rescheduled"
APPOINTMENT_CANCELLED = "appointment.cancelled"
APPOINTMENT_CHECKED_IN = "appointment.checked_in"

BOOKED, CANCELLED, CHECKED_IN = "booked", "cancelled", "checked_in"
STAFF_ROLES = frozenset({"admin", "manager", "staff"})
CHECK_IN_ROLES = frozenset({"admin", "manager", "staff", "kiosk"})
CHANNELS = ("web", "phone", "counter")
_ID_LOW, _ID_HIGH = 2**32, 2**53  # ids stay exact in JavaScript numbers
_EMAIL_RE = re.compile(r"[^@\s,;<>\"]{1,64}@[^@\s,;<>\"]{1,190}\.[^@\s,;<>\"]{2,63}")
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()./-]{5,23}")

# Refusals a kiosk shows that the core does not already translate.
MESSAGES: dict[str, dict[str, str]] = {
    "appointment_unknown": {
        "es": "No encontramos esta cita. Pida ayuda en el mostrador.",
        "en": "We cannot find this appointment. Please ask at the counter.",
    },
    "appointment_cancelled": {
        "es": "Esta cita fue anulada. Puede sacar un número sin cita.",
        "en": "This appointment was cancelled. You can take a walk-in number.",
    },
    "qr_superseded": {
        "es": "Este código ya no vale: la cita cambió de hora. Use el código de su nueva cita.",
        "en": "This code is no longer valid: the appointment was moved. Use the new code.",
    },
    "appointment_replayed": {
        "es": "Esta cita ya estaba registrada. Este es su número.",
        "en": "This appointment was already checked in. This is your number.",
    },
}


def citizen_messages(code: str) -> dict[str, str] | None:
    return CITIZEN_MESSAGES.get(code) or CHECK_IN_MESSAGES.get(code) or MESSAGES.get(code)


def hash_manage_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AppointmentService:
    def __init__(self, hub: HubService) -> None:
        self.hub = hub
        self.config = hub.settings.appointments
        self.keys = KeyStore(self.config.key_path(hub.settings.hub.data_dir))
        self.rules = CheckInRules(
            early_window=timedelta(minutes=self.config.early_window_minutes),
            grace=timedelta(minutes=self.config.grace_minutes),
            late=LateArrival(self.config.late_policy),
        )
        self._schedules: dict[tuple[str, str], tuple[ServiceSchedule, bool]] = {}

    def prepare(self) -> None:
        self.keys.load_or_create()

    # --- schedules ---------------------------------------------------------------------------

    def schedule(self, office: OfficeSettings, service_id: str) -> ServiceSchedule:
        """The service's schedule; NotFound if it does not exist or takes no appointments."""
        if not self.config.enabled:
            raise NotFound("appointments_disabled", "this hub takes no appointments")
        key = (office.id, service_id)
        if key not in self._schedules:
            if not any(s.id == service_id for s in office.services):
                raise NotFound(
                    "unknown_service", f"office {office.id} has no service {service_id!r}"
                )
            own: AppointmentServiceSettings = self.config.for_service(office.id, service_id)
            desks = [Desk(d.id, d.label(), tuple(d.services)) for d in office.desks]
            schedule = ServiceSchedule(
                service_id,
                parse_weekly_hours(own.hours or {}),  # type: ignore[arg-type]
                own.slot_minutes or self.config.slot_minutes,
                capacity_from_desks(service_id, desks, own.capacity),
                frozenset(own.closed_days),
            )
            self._schedules[key] = (schedule, own.enabled and schedule.capacity > 0)
        schedule, enabled = self._schedules[key]
        if not enabled:
            raise NotFound("service_not_bookable", f"{service_id!r} takes no appointments")
        return schedule

    def bookable_services(self, office_id: str | None) -> list[dict[str, Any]]:
        office = self.hub.office(office_id)
        out = []
        for service in office.services:
            try:
                schedule = self.schedule(office, service.id)
            except NotFound as exc:
                if exc.code == "appointments_disabled":
                    raise
                continue
            out.append(
                {
                    "id": service.id,
                    "names": service.names,
                    "icon": service.icon,
                    "slot_minutes": schedule.slot_minutes,
                    "capacity": schedule.capacity,
                    "video": self.config.video,
                }
            )
        return out

    def _today(self, office: OfficeSettings) -> date:
        return self.hub.clock().astimezone(ZoneInfo(office.timezone)).date()

    def _check_day(self, office: OfficeSettings, day: date) -> None:
        today = self._today(office)
        last = today + timedelta(days=self.config.booking_days_ahead)
        if not today <= day <= last:
            raise Invalid(
                "day_out_of_range",
                f"appointments can be booked from {today} to {last}",
            )

    def _day_bounds(self, office: OfficeSettings, day: date) -> tuple[datetime, datetime]:
        zone = ZoneInfo(office.timezone)
        start = datetime.combine(day, time(0), zone).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
        return start, end

    def _day_slots(
        self, conn: Connection, office: OfficeSettings, schedule: ServiceSchedule, day: date
    ) -> list[Slot]:
        start, end = self._day_bounds(office, day)
        counts = arepo.booked_counts(conn, office.id, schedule.service_id, start, end)
        return slots_for_day(schedule, day, office.timezone, counts)

    # --- reads -------------------------------------------------------------------------------

    def slots(self, office_id: str | None, service_id: str, day: date) -> dict[str, Any]:
        office = self.hub.office(office_id)
        schedule = self.schedule(office, service_id)
        self._check_day(office, day)
        now = self.hub.clock()
        zone = ZoneInfo(office.timezone)
        with self.hub.transaction() as conn:
            slots = self._day_slots(conn, office, schedule, day)
        return {
            "office": office.id,
            "service": service_id,
            "day": day.isoformat(),
            "timezone": office.timezone,
            "slot_minutes": schedule.slot_minutes,
            "slots": [
                {
                    "start": s.start.isoformat(),
                    "end": s.end.isoformat(),
                    "time": s.start.astimezone(zone).strftime("%H:%M"),
                    "capacity": s.capacity,
                    "free": s.free if s.start > now else 0,
                }
                for s in slots
            ],
        }

    def days(self, office_id: str | None, service_id: str) -> list[tuple[date, int]]:
        """(day, free slots) for every bookable day from today on."""
        office = self.hub.office(office_id)
        schedule = self.schedule(office, service_id)
        today = self._today(office)
        now = self.hub.clock()
        last = today + timedelta(days=self.config.booking_days_ahead)
        start, _ = self._day_bounds(office, today)
        _, end = self._day_bounds(office, last)
        out = []
        with self.hub.transaction() as conn:
            counts = arepo.booked_counts(conn, office.id, service_id, start, end)
        day = today
        while day <= last:
            free = [
                s
                for s in slots_for_day(schedule, day, office.timezone, counts)
                if s.free > 0 and s.start > now
            ]
            if free:
                out.append((day, len(free)))
            day += timedelta(days=1)
        return out

    def read(
        self, appointment_id: int, principal: Principal | None, token: str | None
    ) -> dict[str, Any]:
        with self.hub.transaction() as conn:
            row = self._authorized(conn, appointment_id, principal, token)
            return self._json(row, token)

    def day_list(
        self, office_id: str | None, day: date, principal: Principal, service_id: str | None
    ) -> list[dict[str, Any]]:
        """A day's appointments for the desks (staff, manager, admin)."""
        if principal.role not in STAFF_ROLES:
            raise DomainError("forbidden", f"a {principal.role} token cannot list appointments")
        office = self.hub.office(office_id, principal)
        start, end = self._day_bounds(office, day)
        with self.hub.transaction() as conn:
            rows = arepo.appointments_between(conn, office.id, start, end, service_id)
        return [self._json(r, None) for r in rows]

    def appointment_for_code(self, code: str, now: datetime) -> Claims:
        return verify(code, self.keys.ring().public_keys(), now)

    # --- writes ------------------------------------------------------------------------------

    def book(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal | None,
        req: dict[str, Any],
    ) -> tuple[int, dict[str, Any]]:
        channel = req.get("channel") or ("counter" if principal else "web")
        if principal is None:
            if channel != "web":
                raise DomainError("forbidden", "phone and counter bookings need a staff token")
        elif principal.role not in STAFF_ROLES:
            raise DomainError("forbidden", f"a {principal.role} token cannot book appointments")
        if channel not in CHANNELS:
            raise Invalid("unknown_channel", f"channel must be one of {', '.join(CHANNELS)}")
        office = self.hub.office(req.get("office"), principal)
        schedule = self.schedule(office, req["service"])
        raw_name = str(req.get("name") or "")
        name = " ".join(raw_name.split())
        if not name:
            raise Invalid("name_missing", "give a name or initials")
        if len(name) > 100:
            raise Invalid("name_too_long", "a name is at most 100 characters")
        _refuse_unsafe_text("name", raw_name)
        _refuse_unsafe_text("email", str(req.get("email") or ""))
        _refuse_unsafe_text("phone", str(req.get("phone") or ""))
        email = (req.get("email") or "").strip() or None
        if email and not _EMAIL_RE.fullmatch(email):
            raise Invalid("email_invalid", "that is not an e-mail address")
        phone = (req.get("phone") or "").strip() or None
        if phone and not _PHONE_RE.fullmatch(phone):
            raise Invalid("phone_invalid", "that is not a phone number")
        video = bool(req.get("video"))
        if video and not self.config.video:
            raise Invalid("video_unavailable", "this office offers no video appointments")
        slot = self._free_slot(conn, office, schedule, req["slot_at"])
        if not arepo.take_place(
            conn, office.id, schedule.service_id, slot.start, schedule.capacity
        ):
            raise Conflict("slot_full", "that slot has no free place left")
        now = self.hub.clock()
        token = secrets.token_urlsafe(24)
        appointment_id = _new_id()
        lang = req.get("lang")
        values = {
            "id": appointment_id,
            "office_id": office.id,
            "service_id": schedule.service_id,
            "slot_at": slot.start,
            "slot_minutes": schedule.slot_minutes,
            "channel": channel,
            "video": video,
            "video_room": _room_id() if video else None,
            "name": name,
            "email": email,
            "phone": phone,
            "lang": lang if lang in office.languages else office.languages[0],
            "status": BOOKED,
            "ticket_id": None,
            "manage_token_hash": hash_manage_token(token),
            "sequence": 0,
            "external_id": None,
            "created_at": now,
            "updated_at": now,
            "checked_in_at": None,
        }
        arepo.insert_appointment(conn, **values)
        row = arepo.get_appointment(conn, appointment_id)
        assert row is not None
        self._emit(conn, events, APPOINTMENT_BOOKED, row, now)
        return 201, self._json(row, token)

    def cancel(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        appointment_id: int,
        principal: Principal | None,
        token: str | None,
    ) -> tuple[int, dict[str, Any]]:
        row = self._authorized(conn, appointment_id, principal, token)
        if row.status == CANCELLED:
            return 200, self._json(row, token)
        if row.status == CHECKED_IN:
            raise Conflict("appointment_checked_in", "a checked-in appointment cannot be cancelled")
        now = self.hub.clock()
        arepo.release_place(conn, row.office_id, row.service_id, row.slot_at)
        arepo.update_appointment(conn, row.id, status=CANCELLED, updated_at=now)
        done = arepo.get_appointment(conn, row.id)
        assert done is not None
        self._emit(conn, events, APPOINTMENT_CANCELLED, done, now)
        return 200, self._json(done, token)

    def reschedule(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        appointment_id: int,
        principal: Principal | None,
        token: str | None,
        slot_at: datetime,
    ) -> tuple[int, dict[str, Any]]:
        row = self._authorized(conn, appointment_id, principal, token)
        if row.status == CANCELLED:
            raise Conflict("appointment_cancelled", "this appointment was cancelled")
        if row.status == CHECKED_IN:
            raise Conflict("appointment_checked_in", "a checked-in appointment cannot be moved")
        office = self.hub.office(row.office_id)
        schedule = self.schedule(office, row.service_id)
        if slot_at.tzinfo is not None and slot_at == row.slot_at:
            return 200, self._json(row, token)
        slot = self._free_slot(conn, office, schedule, slot_at)
        if not arepo.take_place(conn, office.id, row.service_id, slot.start, schedule.capacity):
            raise Conflict("slot_full", "that slot has no free place left")
        arepo.release_place(conn, office.id, row.service_id, row.slot_at)
        now = self.hub.clock()
        arepo.update_appointment(
            conn,
            row.id,
            slot_at=slot.start,
            slot_minutes=schedule.slot_minutes,
            sequence=row.sequence + 1,
            updated_at=now,
        )
        moved = arepo.get_appointment(conn, row.id)
        assert moved is not None
        self._emit(conn, events, APPOINTMENT_RESCHEDULED, moved, now)
        return 200, self._json(moved, token)

    def check_in(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        code: str,
        office_id: str | None,
        lang: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """The ticket for a scanned code: issued once; the same code again gives it back."""
        if principal.role not in CHECK_IN_ROLES:
            raise DomainError("forbidden", f"a {principal.role} token cannot check in")
        now = self.hub.clock()
        office_wanted = principal.office_id or office_id
        if office_id and principal.office_id and office_id != principal.office_id:
            raise DomainError("wrong_office", "this token belongs to another office")
        claims = verify(code, self.keys.ring().public_keys(), now, office=office_wanted)
        if claims.office not in self.hub.offices:
            raise TokenError("qr_wrong_office", f"this hub does not serve office {claims.office!r}")
        office = self.hub.offices[claims.office]
        row = arepo.get_appointment(conn, claims.appointment_id)
        if row is None or row.office_id != claims.office or row.service_id != claims.service:
            raise NotFound("appointment_unknown", "no such appointment")
        if row.status == CANCELLED:
            raise Conflict("appointment_cancelled", "this appointment was cancelled")
        if row.status == CHECKED_IN and row.ticket_id is not None:
            return 200, self._replayed(conn, row, lang)
        if claims.slot_start != row.slot_at:
            raise Conflict("qr_superseded", "the appointment was moved; this code is an old one")
        decision = check_in_decision(row.slot_at, now, office.timezone, self.rules)
        if not decision.accepted:
            details = {"earliest": decision.earliest.isoformat()} if decision.earliest else {}
            raise Conflict(decision.reason, decision.message("en"), **details)
        if not arepo.mark_checked_in(conn, row.id, now):
            # Another kiosk checked it in while this one waited for the lock.
            again = arepo.get_appointment(conn, row.id)
            assert again is not None
            if again.status == CANCELLED or again.ticket_id is None:
                raise Conflict("appointment_cancelled", "this appointment was cancelled")
            return 200, self._replayed(conn, again, lang)
        as_appointment = decision.outcome is CheckInOutcome.APPOINTMENT
        _, ticket = self.hub.issue_ticket(
            conn,
            events,
            principal,
            office.id,
            row.service_id,
            None,
            lang or row.lang,
            "appointment" if as_appointment else "walk_in",
            slot_at=decision.slot_at if as_appointment else None,
            appointment_id=str(row.id),
        )
        arepo.update_appointment(conn, row.id, ticket_id=ticket["id"])
        done = SimpleNamespace(**{**row._asdict(), "status": CHECKED_IN, "ticket_id": ticket["id"]})
        self._emit(
            conn,
            events,
            APPOINTMENT_CHECKED_IN,
            done,
            now,
            ticket_id=ticket["id"],
            outcome=decision.outcome.value,
        )
        # issue_ticket's answer is used as is: re-reading the position costs O(queue length).
        return 201, self._check_in_json(done, ticket, decision.outcome.value, decision.reason, lang)

    def join_video(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        appointment_id: int,
        principal: Principal | None,
        token: str | None,
        lang: str | None,
    ) -> tuple[int, dict[str, Any]]:
        """A video appointment checks in from the citizen's own device (its confirmation link),
        so it joins the queue and the desk that calls it gets the video link."""
        row = self._authorized(conn, appointment_id, principal, token)
        if not row.video:
            raise Conflict(
                "appointment_in_person", "an appointment in person checks in at the office kiosk"
            )
        remote = Principal(0, "video join", "kiosk", row.office_id, None)
        return self.check_in(conn, events, remote, self.code_for(row), row.office_id, lang)

    def import_rows(self, rows: Iterable[AppointmentRow]) -> int:
        """Store imported appointments in one transaction; all or nothing.

        Rows already imported (same office and id) are refused with their line numbers."""
        rows = list(rows)
        now = self.hub.clock()
        with self.hub.transaction() as conn:
            problems: list[Problem] = []
            by_office: dict[str, list[AppointmentRow]] = {}
            for r in rows:
                by_office.setdefault(r.office, []).append(r)
            for office_id, group in by_office.items():
                taken = arepo.external_ids_taken(conn, office_id, [r.external_id for r in group])
                problems += [
                    Problem(r.line, "id_already_imported", f"id {r.external_id!r} is already here")
                    for r in group
                    if r.external_id in taken
                ]
            if problems:
                raise AppointmentImportError(problems)
            for r in rows:
                office = self.hub.offices[r.office]
                minutes = self.config.for_service(r.office, r.service).slot_minutes
                arepo.insert_appointment(
                    conn,
                    id=_new_id(),
                    office_id=r.office,
                    service_id=r.service,
                    slot_at=r.start,
                    slot_minutes=minutes or self.config.slot_minutes,
                    channel="counter",
                    video=r.video,
                    video_room=_room_id() if r.video else None,
                    name=r.name[:100],
                    email=r.email or None,
                    phone=r.phone[:32] or None,
                    lang=office.languages[0],
                    status=BOOKED,
                    ticket_id=None,
                    manage_token_hash=hash_manage_token(secrets.token_urlsafe(24)),
                    sequence=0,
                    external_id=r.external_id or None,
                    created_at=now,
                    updated_at=now,
                    checked_in_at=None,
                )
                arepo.add_places(conn, r.office, r.service, r.start, 1)
        return len(rows)

    # --- helpers -----------------------------------------------------------------------------

    def _free_slot(
        self, conn: Connection, office: OfficeSettings, schedule: ServiceSchedule, start: datetime
    ) -> Slot:
        if start.tzinfo is None:
            raise Invalid("slot_unknown", "give the slot start with its time zone offset")
        try:
            day = start.astimezone(ZoneInfo(office.timezone)).date()
        except (OverflowError, ValueError):
            raise Invalid("slot_unknown", "no slot starts then") from None
        self._check_day(office, day)
        begin, end = self._day_bounds(office, day)
        counts = arepo.booked_counts(conn, office.id, schedule.service_id, begin, end)
        return find_slot(schedule, start, office.timezone, counts, now=self.hub.clock())

    def _authorized(
        self, conn: Connection, appointment_id: int, principal: Principal | None, token: str | None
    ) -> Row[Any]:
        row = arepo.get_appointment(conn, appointment_id)
        allowed = row is not None and (
            (
                principal is not None
                and principal.role in STAFF_ROLES
                and principal.office_id in (None, row.office_id)
            )
            or (
                token is not None
                and hmac.compare_digest(hash_manage_token(token), row.manage_token_hash)
            )
        )
        if row is None or not allowed:
            # The same answer for an unknown id and a wrong token: ids cannot be probed.
            raise NotFound("appointment_unknown", "no such appointment")
        return row

    def code_for(self, row: Row[Any]) -> str:
        """The QR text (Ed25519 signatures are deterministic: the same claims give the same code
        until the key is rotated)."""
        office = self.hub.offices[row.office_id]
        claims = Claims(
            appointment_id=row.id,
            office=row.office_id,
            service=row.service_id,
            slot_start=row.slot_at,
            expires_at=code_expires_at(row.slot_at, office.timezone),
        )
        return self.keys.ring().signing.sign(claims)

    def video_url(self, row: Row[Any]) -> str | None:
        if not row.video or not row.video_room:
            return None
        return self.config.video_url_template.replace("{room}", row.video_room)

    def _json(self, row: Row[Any], token: str | None) -> dict[str, Any]:
        office = self.hub.offices[row.office_id]
        service = next((s for s in office.services if s.id == row.service_id), None)
        base = self.hub.settings.hub.base_url()
        query = f"?t={token}" if token else ""
        api = f"{base}/api/v1/appointments/{row.id}"
        zone = ZoneInfo(office.timezone)
        local = row.slot_at.astimezone(zone)
        return {
            "id": row.id,
            "office": row.office_id,
            "office_name": office.name,
            "service": row.service_id,
            "service_names": service.names if service else {},
            "slot_at": row.slot_at.isoformat(),
            "slot_end": (row.slot_at + timedelta(minutes=row.slot_minutes)).isoformat(),
            "local_day": local.date().isoformat(),
            "local_time": local.strftime("%H:%M"),
            "timezone": office.timezone,
            "channel": row.channel,
            "video": bool(row.video),
            "video_url": self.video_url(row),
            "name": row.name,
            "email": row.email,
            "phone": row.phone,
            "lang": row.lang,
            "status": row.status,
            "ticket_id": row.ticket_id,
            "sequence": row.sequence,
            "code": self.code_for(row) if row.status == BOOKED else None,
            "manage_url": f"{base}/book/manage/{row.id}{query}" if token else None,
            "qr_png_url": f"{api}/qr.png{query}",
            "qr_svg_url": f"{api}/qr.svg{query}",
            "ics_url": f"{api}/calendar.ics{query}",
            "created_at": row.created_at.isoformat(),
        }

    def _replayed(self, conn: Connection, row: Row[Any], lang: str | None) -> dict[str, Any]:
        """The answer for a code already checked in: the ticket issued then, as it is now."""
        ticket_row = repo.get_ticket(conn, row.ticket_id)
        assert ticket_row is not None
        ticket = self.hub._ticket_json(conn, ticket_row, with_position=True)
        outcome = "appointment" if ticket_row.slot_at else "walk_in"
        return self._check_in_json(row, ticket, outcome, "appointment_replayed", lang, True)

    def _check_in_json(
        self,
        row: Any,
        ticket: dict[str, Any],
        outcome: str,
        reason: str,
        lang: str | None,
        replayed: bool = False,
    ) -> dict[str, Any]:
        messages = citizen_messages(reason) or {}
        lang = (
            lang if lang in messages else ("es" if "es" in messages else next(iter(messages), ""))
        )
        return {
            "outcome": outcome,
            "reason": reason,
            "message": messages.get(lang, ""),
            "messages": messages,
            "replayed": replayed,
            "ticket": ticket,
            "appointment": {
                "id": row.id,
                "service": row.service_id,
                "slot_at": row.slot_at.isoformat(),
                "video": bool(row.video),
                "status": row.status,
            },
        }

    def _emit(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        kind: str,
        row: Any,
        now: datetime,
        **extra: Any,
    ) -> None:
        # No name, e-mail, phone or video link in events: only what a display may show.
        payload = {
            "id": row.id,
            "service": row.service_id,
            "slot_at": row.slot_at.isoformat(),
            "channel": row.channel,
            "video": bool(row.video),
            "status": row.status,
        }
        self.hub._emit(conn, events, row.office_id, kind, now, appointment=payload, **extra)


def _new_id() -> int:
    return _ID_LOW + secrets.randbelow(_ID_HIGH - _ID_LOW)


def _room_id() -> str:
    """An unguessable video room id: 100 random bits as lowercase base32 (URL-safe anywhere)."""
    return base64.b32encode(secrets.token_bytes(15)).decode().lower().rstrip("=")[:20]


def _refuse_unsafe_text(field: str, value: str) -> None:
    """422 `{field}_invalid` for a citizen's free text that could hide what staff read."""
    if unsafe_characters(value):
        raise Invalid(
            f"{field}_invalid",
            f"{field}: control characters and bidirectional overrides are not allowed",
        )


def calendar_file(service: AppointmentService, row: Row[Any], manage_url: str | None) -> str:
    """The appointment as an .ics file in the appointment's language."""
    from urllib.parse import urlsplit

    from office360.ics import CalendarEvent, appointment_uid, event_ics

    office = service.hub.offices[row.office_id]
    names = next((s.names for s in office.services if s.id == row.service_id), {})
    lang = row.lang if row.lang in ("es", "en") else "es"
    service_name = names.get(row.lang) or next(iter(names.values()), row.service_id)
    video = service.video_url(row)
    if lang == "es":
        summary = f"Cita: {service_name} · {office.name}"
        notes = "Lleve el código QR de su confirmación." if not video else "Cita por vídeo."
        manage = "Anular o cambiar la cita"
    else:
        summary = f"Appointment: {service_name} · {office.name}"
        notes = "Bring the QR code of your confirmation." if not video else "Video appointment."
        manage = "Cancel or change the appointment"
    description = notes + (f"\n{video}" if video else "")
    if manage_url:
        description += f"\n{manage}: {manage_url}"
    domain = urlsplit(service.hub.settings.hub.base_url()).hostname or "office360.local"
    event = CalendarEvent(
        uid=appointment_uid(row.id, domain),
        start=row.slot_at,
        end=row.slot_at + timedelta(minutes=row.slot_minutes),
        summary=summary,
        description=description,
        location=video or office.name,
        url=video or "",
        reminder=timedelta(hours=1),
        status="CANCELLED" if row.status == CANCELLED else "CONFIRMED",
        sequence=row.sequence,
    )
    return event_ics(event, service.hub.clock())
