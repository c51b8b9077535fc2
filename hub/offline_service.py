"""Kiosk offline mode, the hub's side: number blocks reserved in advance, and the merge of the
tickets a kiosk issued from them while it could not reach the hub.

A kiosk asks for blocks while it is online (`reserve_blocks`): per service, a run of numbers
taken from the office's daily counter in one transaction, so no other kiosk and not the hub
itself will ever give them. While the hub is unreachable the kiosk issues from its blocks and
keeps each ticket in a local spool; when the hub is back it sends the spool (`merge`). Each
ticket is stored with its original issue time as its place in the queue (the policy calls the
oldest first), once per (kiosk token, local id): a resend gets the stored ticket back.
A ticket a citizen already holds is never refused for its appointment: an appointment that can
no longer be checked in leaves the ticket in the queue as a walk-in, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection

from office360.config import OfficeSettings, ServiceSettings
from office360.core import events as ev
from office360.core.errors import Conflict, DomainError, Invalid, NotFound
from office360.core.model import TicketStatus
from office360.core.numbering import format_number, local_day, spoken_number
from office360.core.slots import CheckInOutcome, check_in_decision
from office360.qrtoken import TokenError, verify

from . import appointments_repo as arepo
from . import offline_repo as orepo
from . import repository as repo
from .auth import Principal
from .services import HubService

MAX_BLOCK = 500
MAX_BATCH = 200
FUTURE_SKEW = timedelta(minutes=10)
"""A kiosk clock this far ahead of the hub's is tolerated (the time is then taken as now)."""
MAX_AGE = timedelta(days=7)
"""Older offline tickets are refused: nobody is waiting for them any more."""
APPOINTMENT_CHECKED_IN = "appointment.checked_in"


class OfflineTicketItem(BaseModel):
    """One ticket from a kiosk's spool (validated one by one: a bad item fails alone)."""

    model_config = ConfigDict(extra="forbid")

    local_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    service: str = Field(min_length=1, max_length=40)
    number: str = Field(min_length=2, max_length=12)
    issued_at: AwareDatetime
    priority: str | None = Field(None, max_length=40)
    lang: str | None = Field(None, max_length=8)
    channel: Literal["walk_in", "appointment"] = "walk_in"
    appointment_code: str | None = Field(None, max_length=1100)


class OfflineService:
    def __init__(self, hub: HubService, appointments: Any = None) -> None:
        self.hub = hub
        self.appointments = appointments  # hub.appointments_service.AppointmentService

    # --- blocks ------------------------------------------------------------------------------

    def reserve_blocks(
        self,
        conn: Connection,
        principal: Principal,
        office_id: str | None,
        size: int,
        next_day: bool,
    ) -> tuple[int, dict[str, Any]]:
        """The kiosk's blocks with numbers left, per service and day (today, and tomorrow if
        asked); a new block of `size` numbers where fewer than half of `size` are left."""
        if principal.role != "kiosk":
            raise DomainError("forbidden", "only a kiosk token reserves offline numbers")
        if not 1 <= size <= MAX_BLOCK:
            raise Invalid("offline_block_size", f"a block holds 1 to {MAX_BLOCK} numbers")
        office = self.hub.office(office_id, principal)
        region_from = self.hub.settings.queue.offline_numbers_from
        now = self.hub.clock()
        today = local_day(now, office.timezone)
        days = [today, today + timedelta(days=1)] if next_day else [today]
        day_keys = [d.isoformat() for d in days]
        existing = orepo.blocks_of_device(conn, principal.token_id, office.id, day_keys)
        out: list[dict[str, Any]] = []
        for day in day_keys:
            for service in office.services:
                mine = [
                    SimpleNamespace(**b._asdict())
                    for b in existing
                    if b.day == day and b.prefix == service.prefix
                ]
                left = sum(b.last - max(b.top, b.first - 1) for b in mine)
                if left < max(1, size // 2):
                    first = orepo.reserve_numbers(
                        conn, office.id, service.prefix, day, size, region_from
                    )
                    values = {
                        "token_id": principal.token_id,
                        "office_id": office.id,
                        "prefix": service.prefix,
                        "day": day,
                        "first": first,
                        "last": first + size - 1,
                        "created_at": now,
                    }
                    block_id = orepo.insert_block(conn, **values)
                    mine.append(SimpleNamespace(id=block_id, top=0, used=0, **values))
                for b in mine:
                    if b.last > b.top:
                        out.append(_block_json(b, service))
        return 200, {"office": office.id, "at": now.isoformat(), "days": day_keys, "blocks": out}

    # --- merging a spool ---------------------------------------------------------------------

    def merge(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        office_id: str | None,
        items: Sequence[Mapping[str, Any]],
    ) -> tuple[int, dict[str, Any]]:
        """Store each item once, in the order of their issue times; a result per item.

        The tickets come back without a position: each would cost a pass over the queue, and
        the kiosk printed the ticket long ago (GET /tickets/{id} has it)."""
        if principal.role != "kiosk":
            raise DomainError("forbidden", "only a kiosk token sends offline tickets")
        if len(items) > MAX_BATCH:
            raise Invalid("offline_batch_too_large", f"send at most {MAX_BATCH} tickets at once")
        office = self.hub.office(office_id, principal)
        now = self.hub.clock()
        parsed: list[tuple[int, OfflineTicketItem | None, dict[str, Any]]] = []
        for index, raw in enumerate(items):
            try:
                parsed.append((index, OfflineTicketItem.model_validate(raw), {}))
            except ValidationError as exc:
                parsed.append((index, None, _invalid(raw, exc)))
        # Issue-time order, so ticket ids (the tie-break among equal times) follow it too.
        parsed.sort(key=lambda p: (p[1] is None, p[1].issued_at if p[1] else now, p[0]))
        results: list[dict[str, Any] | None] = [None] * len(items)
        touched: set[str] = set()
        for index, item, failure in parsed:
            if item is None:
                results[index] = failure
                continue
            mark = len(events)
            savepoint = conn.begin_nested()
            try:
                results[index] = self._merge_one(conn, events, principal, office, item, now)
            except DomainError as exc:
                savepoint.rollback()
                del events[mark:]
                results[index] = _refusal(item.local_id, exc)
                continue
            savepoint.commit()
            if results[index]["status"] == 201:  # type: ignore[index]
                touched.add(item.service)
        if touched:
            ordered = [s.id for s in office.services if s.id in touched]
            self.hub._emit_queue(conn, events, office, ordered, now)
        stored = sum(1 for r in results if r and r["status"] in (200, 201))
        return 200, {"office": office.id, "stored": stored, "results": results}

    def _merge_one(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        office: OfficeSettings,
        item: OfflineTicketItem,
        now: datetime,
    ) -> dict[str, Any]:
        hub = self.hub
        prior = orepo.offline_ticket(conn, principal.token_id, item.local_id)
        if prior is not None:
            if prior.number != item.number:
                raise Conflict(
                    "offline_local_id_reused", "this local id was sent before with another number"
                )
            row = repo.get_ticket(conn, prior.ticket_id)
            assert row is not None
            return _stored(item.local_id, 200, hub._ticket_json(conn, row))
        service = next((s for s in office.services if s.id == item.service), None)
        if service is None:
            raise NotFound("unknown_service", f"office {office.id} has no service {item.service!r}")
        prefix, seq = spoken_number(item.number)
        if prefix != service.prefix or seq < 1 or format_number(prefix, seq) != item.number:
            raise Invalid(
                "offline_number_invalid",
                f"{item.number!r} is not a number of service {service.id} ({service.prefix}…)",
            )
        if item.issued_at > now + FUTURE_SKEW or item.issued_at < now - MAX_AGE:
            raise Invalid(
                "offline_issued_at_out_of_range",
                "issued_at must lie within the last 7 days and not in the future",
            )
        day = local_day(item.issued_at, office.timezone).isoformat()
        issued_at = min(item.issued_at, now)
        block = orepo.block_for_number(conn, principal.token_id, office.id, prefix, day, seq)
        if block is None:
            raise Conflict(
                "offline_number_not_reserved",
                f"{item.number} on {day} is not in a block reserved for this kiosk",
            )
        if orepo.ticket_with_number(conn, office.id, day, item.number) is not None:
            raise Conflict("offline_number_used", f"{item.number} was already given on {day}")
        priority = item.priority
        if priority is not None and priority not in hub.settings.queue.priority_categories:
            raise Invalid(
                "unknown_priority",
                f"priority must be one of {', '.join(hub.settings.queue.priority_categories)}",
            )
        lang = item.lang if item.lang in office.languages else office.languages[0]
        lost = self._supersede(conn, events, principal, office, item.local_id, now)
        if lost is not None and lost.appointment_id:  # its check-in carries over
            appointment = arepo.get_appointment(conn, int(lost.appointment_id))
            slot_at, note = lost.slot_at, ""
        else:
            appointment, slot_at, note = self._appointment(conn, office, item, issued_at)
        stale = day < local_day(now, office.timezone).isoformat()
        channel = "appointment" if slot_at is not None else "walk_in"
        values: dict[str, Any] = {
            "office_id": office.id,
            "service_id": service.id,
            "day": day,
            "number": item.number,
            # A ticket of a past day is kept for the record, not queued: nobody waits for it.
            "status": (TicketStatus.CANCELLED if stale else TicketStatus.WAITING).value,
            "priority": priority,
            "lang": lang,
            "channel": channel,
            "issued_at": issued_at,
            "fair_at": slot_at or issued_at,
            "slot_at": slot_at,
            "finished_at": now if stale else None,
            "called_at": None,
            "desk_id": None,
            "recalls": 0,
            "appointment_id": str(appointment.id) if appointment is not None else None,
        }
        ticket_id = repo.insert_ticket(conn, **values)
        orepo.insert_offline_ticket(
            conn,
            token_id=principal.token_id,
            local_id=item.local_id,
            ticket_id=ticket_id,
            block_id=block.id,
            number=item.number,
            seq=seq,
            received_at=now,
        )
        row = repo.get_ticket(conn, ticket_id)
        assert row is not None
        hub._emit(conn, events, office.id, ev.TICKET_ISSUED, now, ticket=hub._event_ticket(row))
        if appointment is not None and lost is not None:
            arepo.update_appointment(conn, appointment.id, ticket_id=ticket_id)
        elif appointment is not None and self.appointments is not None:
            arepo.update_appointment(conn, appointment.id, ticket_id=ticket_id)
            done = SimpleNamespace(
                **{**appointment._asdict(), "status": "checked_in", "ticket_id": ticket_id}
            )
            self.appointments._emit(
                conn,
                events,
                APPOINTMENT_CHECKED_IN,
                done,
                now,
                ticket_id=ticket_id,
                outcome=channel,
            )
        result = _stored(item.local_id, 201, hub._ticket_json(conn, row))
        if note:
            result["appointment_reason"] = note
        if stale:
            result["stale"] = True
        return result

    def _supersede(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        office: OfficeSettings,
        local_id: str,
        now: datetime,
    ) -> Any:
        """The ticket the hub issued for this same request before the kiosk gave up waiting
        for the answer (the kiosk uses one key for both): nobody holds its number, so it
        leaves the queue and the offline ticket, which the citizen holds, takes its place."""
        prior = repo.get_idempotent(conn, principal.scope, local_id)
        if prior is None or prior[1] != 201:
            return None
        body = json.loads(prior[2]) if prior[2] else {}
        ticket = body.get("ticket", body) if isinstance(body, dict) else {}
        ticket_id = ticket.get("id") if isinstance(ticket, dict) else None
        row = repo.get_ticket(conn, ticket_id) if isinstance(ticket_id, int) else None
        if row is None or row.office_id != office.id:
            return None
        if row.status == TicketStatus.WAITING.value:
            repo.update_ticket(conn, row.id, status="cancelled", finished_at=now)
            cancelled = repo.get_ticket(conn, row.id)
            hub = self.hub
            hub._emit(
                conn,
                events,
                office.id,
                ev.TICKET_CANCELLED,
                now,
                ticket=hub._event_ticket(cancelled),
            )
        return row

    def _appointment(
        self, conn: Connection, office: OfficeSettings, item: OfflineTicketItem, at: datetime
    ) -> tuple[Any, datetime | None, str]:
        """(the appointment checked in, the slot the ticket is called at, a reason when the
        code could not be honoured and the ticket stays a walk-in)."""
        if not item.appointment_code or self.appointments is None:
            return None, None, ""
        try:
            claims = verify(
                item.appointment_code,
                self.appointments.keys.ring().public_keys(),
                at,
                office=office.id,
            )
        except TokenError as exc:
            return None, None, exc.code
        row = arepo.get_appointment(conn, claims.appointment_id)
        if row is None or row.office_id != office.id or row.service_id != item.service:
            return None, None, "appointment_unknown"
        if row.status != "booked":
            return (
                None,
                None,
                "appointment_cancelled" if row.status == "cancelled" else ("appointment_replayed"),
            )
        if claims.slot_start != row.slot_at:
            return None, None, "qr_superseded"
        decision = check_in_decision(row.slot_at, at, office.timezone, self.appointments.rules)
        if not decision.accepted:
            return None, None, decision.reason
        if not arepo.mark_checked_in(conn, row.id, at):
            return None, None, "appointment_replayed"
        slot = decision.slot_at if decision.outcome is CheckInOutcome.APPOINTMENT else None
        return row, slot, decision.reason


def _block_json(b: Any, service: ServiceSettings) -> dict[str, Any]:
    return {
        "id": b.id,
        "service": service.id,
        "prefix": b.prefix,
        "day": b.day,
        "first": b.first,
        "last": b.last,
        "next": max(b.first, b.top + 1),
    }


def _stored(local_id: str, status: int, ticket: dict[str, Any]) -> dict[str, Any]:
    return {"local_id": local_id, "status": status, "ticket": ticket}


def _refusal(local_id: str, exc: DomainError) -> dict[str, Any]:
    from .errors import status_for

    return {
        "local_id": local_id,
        "status": status_for(exc),
        "error": exc.code,
        "message": exc.message,
    }


def _invalid(raw: Any, exc: ValidationError) -> dict[str, Any]:
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ())) or "item"
    local_id = raw.get("local_id") if isinstance(raw, Mapping) else None
    return {
        "local_id": local_id if isinstance(local_id, str) and len(local_id) <= 64 else None,
        "status": 422,
        "error": "offline_item_invalid",
        "message": f"{where}: {first.get('msg', 'invalid')}",
    }
