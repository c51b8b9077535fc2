"""Offices, services, desks and tickets as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    RECALLED = "recalled"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"


ACTIVE_AT_DESK = frozenset({TicketStatus.CALLED, TicketStatus.RECALLED, TicketStatus.SERVING})
FINAL = frozenset(
    {TicketStatus.DONE, TicketStatus.NO_SHOW, TicketStatus.TRANSFERRED, TicketStatus.CANCELLED}
)


class Channel(StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"
    PHONE = "phone"
    WEB = "web"


class DeskState(StrEnum):
    OPEN = "open"
    PAUSED = "paused"


@dataclass(frozen=True)
class Service:
    id: str
    prefix: str
    names: dict[str, str]
    desk_ids: tuple[str, ...] = ()

    def name(self, lang: str, fallback: str = "es") -> str:
        return self.names.get(lang) or self.names.get(fallback) or next(iter(self.names.values()))


@dataclass(frozen=True)
class Desk:
    id: str
    name: str
    service_ids: tuple[str, ...]


@dataclass(frozen=True)
class Office:
    id: str
    name: str
    timezone: str
    languages: tuple[str, ...]
    services: tuple[Service, ...] = ()
    desks: tuple[Desk, ...] = ()

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def desk(self, desk_id: str) -> Desk | None:
        return next((d for d in self.desks if d.id == desk_id), None)


@dataclass(frozen=True)
class QueuedTicket:
    """What the queue policy needs to know about a waiting ticket."""

    id: int
    service_id: str
    issued_at: datetime
    priority: str | None = None
    slot_at: datetime | None = None
    overtaken_at: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def fair_at(self) -> datetime:
        """Its place in a plain first-come queue: the slot for an appointment, else issue time."""
        return self.slot_at if self.slot_at is not None else self.issued_at
