"""Appointment slots of a service, and when an appointment may check in.

Opening hours are local wall-clock times in the office's time zone. Slots are laid out in real
time from the local opening time, so a slot always lasts `slot_minutes`; on a day the clocks
change inside opening hours the office is open for the real time between opening and closing
(an hour less in spring, an hour more in autumn). Slot times are returned in UTC: two
wall-clock times in the repeated autumn hour compare equal within one zone, UTC ones never do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import Conflict, Invalid
from .model import Desk

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")

Hours = tuple[tuple[time, time], ...]


@dataclass(frozen=True)
class ServiceSchedule:
    """When a service takes appointments.

    `weekly_hours[0]` is Monday: a tuple of (open, close) local times, in order, not overlapping.
    """

    service_id: str
    weekly_hours: tuple[Hours, Hours, Hours, Hours, Hours, Hours, Hours]
    slot_minutes: int
    capacity: int
    closed_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.weekly_hours) != 7:
            raise Invalid("schedule_invalid", "give opening hours for seven weekdays")
        if not 1 <= self.slot_minutes <= 24 * 60:
            raise Invalid("schedule_invalid", f"slot length out of range: {self.slot_minutes}")
        if self.capacity < 0:
            raise Invalid("schedule_invalid", f"capacity cannot be negative: {self.capacity}")
        for day, intervals in zip(WEEKDAYS, self.weekly_hours, strict=True):
            previous_close: time | None = None
            for opens, closes in intervals:
                if opens >= closes:
                    raise Invalid("schedule_invalid", f"{day}: {opens} is not before {closes}")
                if previous_close is not None and opens < previous_close:
                    raise Invalid("schedule_invalid", f"{day}: opening hours overlap or unordered")
                previous_close = closes


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    capacity: int
    free: int

    @property
    def booked(self) -> int:
        return self.capacity - self.free

    def local_start(self, tz: ZoneInfo | str) -> datetime:
        return self.start.astimezone(_zone(tz))


def parse_weekly_hours(spec: Mapping[str, str | Iterable[str]]) -> tuple[Hours, ...]:
    """``{"mon": "09:00-14:00", "thu": "09:00-14:00, 16:00-18:30"}`` to seven tuples.

    Weekdays not named are closed. Raises Invalid("schedule_invalid") naming the bad entry.
    """
    week: list[Hours] = [() for _ in WEEKDAYS]
    for key, value in spec.items():
        day = key.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise Invalid("schedule_invalid", f"unknown weekday {key!r}; use {', '.join(WEEKDAYS)}")
        parts = value.split(",") if isinstance(value, str) else list(value)
        intervals = [_parse_interval(key, part) for part in parts if part.strip()]
        week[WEEKDAYS.index(day)] = tuple(sorted(intervals))
    return tuple(week)


def _parse_interval(key: str, text: str) -> tuple[time, time]:
    match = _INTERVAL_RE.fullmatch(text)
    if not match:
        raise Invalid("schedule_invalid", f"{key}: expected HH:MM-HH:MM, got {text.strip()!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        opens = time(h1, m1)
        # 24:00 closes at midnight; time.max stands for it (slots_for_day reads it so)
        closes = time.max if (h2, m2) == (24, 0) else time(h2, m2)
    except ValueError:
        raise Invalid("schedule_invalid", f"{key}: no such time in {text.strip()!r}") from None
    return opens, closes


def capacity_from_desks(service_id: str, desks: Iterable[Desk], override: int | None = None) -> int:
    """People per slot: the override if given, else one per desk that serves the service."""
    if override is not None:
        if override < 0:
            raise Invalid("schedule_invalid", f"capacity cannot be negative: {override}")
        return override
    return sum(1 for desk in desks if service_id in desk.service_ids)


def slots_for_day(
    schedule: ServiceSchedule,
    day: date,
    tz: ZoneInfo | str,
    booked_counts: Mapping[datetime, int] | None = None,
) -> list[Slot]:
    """Every slot of `day` (a local date) with its free places.

    `booked_counts` maps a slot start (any aware datetime of that instant) to the places taken.
    """
    zone = _zone(tz)
    if day in schedule.closed_days:
        return []
    booked = _utc_keys(booked_counts or {})
    step = timedelta(minutes=schedule.slot_minutes)
    slots: list[Slot] = []
    for opens, closes in schedule.weekly_hours[day.weekday()]:
        start = _instant(day, opens, zone)
        close = _instant(day, closes, zone)
        if closes == time.max:
            close = _instant(day + timedelta(days=1), time(0, 0), zone)
        while start + step <= close:
            taken = booked.get(start, 0)
            free = max(schedule.capacity - taken, 0)
            slots.append(Slot(start, start + step, schedule.capacity, free))
            start += step
    return slots


def find_slot(
    schedule: ServiceSchedule,
    start: datetime,
    tz: ZoneInfo | str,
    booked_counts: Mapping[datetime, int] | None = None,
    now: datetime | None = None,
) -> Slot:
    """The slot starting at `start` if a booking can take it, else a coded error:
    slot_unknown (no slot starts then), slot_in_past, slot_full."""
    if start.tzinfo is None:
        raise Invalid("slot_unknown", "a slot start must carry its time zone")
    zone = _zone(tz)
    start_utc = start.astimezone(UTC)
    day = start_utc.astimezone(zone).date()
    slot = next(
        (s for s in slots_for_day(schedule, day, zone, booked_counts) if s.start == start_utc),
        None,
    )
    if slot is None:
        raise Invalid(
            "slot_unknown", f"no {schedule.service_id} slot starts at {start.isoformat()}"
        )
    if now is not None and slot.start <= now:
        raise Conflict("slot_in_past", "that slot has already started")
    if slot.free <= 0:
        raise Conflict("slot_full", "that slot has no free place left")
    return slot


def _zone(tz: ZoneInfo | str) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise Invalid("schedule_invalid", f"unknown time zone {tz!r}") from None


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time. A wall time skipped in spring is read on the offset
    before the change (02:30 becomes 03:30); one repeated in autumn is its first occurrence."""
    return datetime.combine(day, wall, zone).astimezone(UTC)


def _utc_keys(counts: Mapping[datetime, int]) -> dict[datetime, int]:
    out: dict[datetime, int] = {}
    for when, count in counts.items():
        if when.tzinfo is None:
            raise Invalid("slot_unknown", "booked slot starts must carry their time zone")
        key = when.astimezone(UTC)
        out[key] = out.get(key, 0) + count
    return out


# ---------------------------------------------------------------------------------------------
# Check-in window


class LateArrival(StrEnum):
    WALK_IN = "walk_in"
    REFUSE = "refuse"


class CheckInOutcome(StrEnum):
    APPOINTMENT = "appointment"
    """Queued as the appointment: called at its slot time."""
    WALK_IN = "walk_in"
    """Queued like someone without an appointment."""
    REFUSED = "refused"


@dataclass(frozen=True)
class CheckInRules:
    early_window: timedelta = timedelta(minutes=30)
    """How long before the slot start an arrival is accepted."""
    grace: timedelta = timedelta(minutes=10)
    """How long after the slot start an arrival still counts as on time."""
    late: LateArrival = LateArrival.WALK_IN


@dataclass(frozen=True)
class CheckInDecision:
    outcome: CheckInOutcome
    reason: str
    slot_at: datetime | None = None
    """For APPOINTMENT: the place in the queue (the slot start)."""
    earliest: datetime | None = None
    """For appointment_too_early: the first moment check-in is accepted."""

    @property
    def accepted(self) -> bool:
        return self.outcome is not CheckInOutcome.REFUSED

    def message(self, lang: str = "es") -> str:
        texts = CHECK_IN_MESSAGES[self.reason]
        return texts.get(lang) or texts["es"]


CHECK_IN_MESSAGES: dict[str, dict[str, str]] = {
    "appointment_on_time": {
        "es": "Cita registrada. Le llamaremos a la hora de su cita.",
        "en": "Appointment checked in. We will call you at your appointment time.",
    },
    "appointment_early": {
        "es": "Cita registrada. Ha llegado pronto: le llamaremos a la hora de su cita.",
        "en": "Appointment checked in. You are early: we will call you at your appointment time.",
    },
    "appointment_too_early": {
        "es": "Es demasiado pronto para su cita. Vuelva a escanear el código más tarde.",
        "en": "It is too early for your appointment. Please scan the code again later.",
    },
    "appointment_late_as_walk_in": {
        "es": "Ha pasado la hora de su cita. Le damos un número sin cita.",
        "en": "Your appointment time has passed. You get a walk-in number instead.",
    },
    "appointment_late_refused": {
        "es": "Ha pasado la hora de su cita. Pida una nueva cita o pregunte en el mostrador.",
        "en": "Your appointment time has passed. Please book again or ask at the counter.",
    },
    "appointment_other_day": {
        "es": "Su cita es otro día. Compruebe la fecha en su confirmación.",
        "en": "Your appointment is on another day. Check the date on your confirmation.",
    },
}


def code_expires_at(slot_start: datetime, tz: ZoneInfo | str) -> datetime:
    """When an appointment's QR code stops being valid: the local midnight after its slot.

    Not at the end of the grace period: on the day, a late arrival should get the reason from
    `check_in_decision` (late, walk-in or refused) rather than a bare "expired code".
    """
    if slot_start.tzinfo is None:
        raise Invalid("time_not_aware", "a slot start must carry its time zone")
    zone = _zone(tz)
    next_day = slot_start.astimezone(zone).date() + timedelta(days=1)
    return _instant(next_day, time(0, 0), zone)


def check_in_decision(
    slot_start: datetime, now: datetime, tz: ZoneInfo | str, rules: CheckInRules
) -> CheckInDecision:
    """Whether an appointment starting at `slot_start` may check in at `now`.

    Another local day: refused. Before `early_window`: refused (too early). From then until
    `grace` after the slot start: accepted as the appointment. Later: a walk-in or refused,
    as `rules.late` says.
    """
    if slot_start.tzinfo is None or now.tzinfo is None:
        raise Invalid("time_not_aware", "check-in times must carry their time zone")
    zone = _zone(tz)
    slot_utc = slot_start.astimezone(UTC)
    if slot_utc.astimezone(zone).date() != now.astimezone(zone).date():
        return CheckInDecision(CheckInOutcome.REFUSED, "appointment_other_day")
    earliest = slot_utc - rules.early_window
    if now < earliest:
        return CheckInDecision(CheckInOutcome.REFUSED, "appointment_too_early", earliest=earliest)
    if now < slot_utc:
        return CheckInDecision(CheckInOutcome.APPOINTMENT, "appointment_early", slot_at=slot_utc)
    if now <= slot_utc + rules.grace:
        return CheckInDecision(CheckInOutcome.APPOINTMENT, "appointment_on_time", slot_at=slot_utc)
    if rules.late is LateArrival.WALK_IN:
        return CheckInDecision(CheckInOutcome.WALK_IN, "appointment_late_as_walk_in")
    return CheckInDecision(CheckInOutcome.REFUSED, "appointment_late_refused")
