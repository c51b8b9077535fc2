"""Appointment slots: opening hours, closed days, capacity and clock changes in Europe/Madrid."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from office360.core.errors import DomainError
from office360.core.model import Desk
from office360.core.slots import (
    ServiceSchedule,
    capacity_from_desks,
    find_slot,
    parse_weekly_hours,
    slots_for_day,
)

MADRID = ZoneInfo("Europe/Madrid")
TUESDAY = date(2026, 3, 10)
SPRING_FORWARD = date(2026, 3, 29)  # Sunday: 02:00 CET becomes 03:00 CEST
FALL_BACK = date(2026, 10, 25)  # Sunday: 03:00 CEST becomes 02:00 CET
HOLIDAY = date(2026, 3, 19)  # a Thursday


def schedule(
    hours: dict[str, str],
    slot_minutes: int = 30,
    capacity: int = 2,
    closed: frozenset[date] = frozenset(),
) -> ServiceSchedule:
    return ServiceSchedule(
        "certificates", parse_weekly_hours(hours), slot_minutes, capacity, closed
    )  # type: ignore[arg-type]


OFFICE = schedule(
    {
        "mon": "09:00-14:00",
        "tue": "09:00-14:00",
        "wed": "09:00-14:00",
        "thu": "09:00-11:00, 16:00-17:00",
        "fri": "09:00-13:00",
    },
    closed=frozenset({HOLIDAY}),
)
NIGHT = schedule({"sun": "00:00-06:00"}, slot_minutes=60)


def local(day: date, hh: int, mm: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm, fold=fold), MADRID)


def wall(slots) -> list[str]:
    return [s.start.astimezone(MADRID).strftime("%H:%M%z") for s in slots]


@pytest.mark.parametrize(
    ("sched", "day", "expected_count", "first", "last_end"),
    [
        (OFFICE, TUESDAY, 10, "09:00+0100", "14:00+0100"),
        (OFFICE, date(2026, 3, 12), 6, "09:00+0100", "17:00+0100"),  # split hours
        (OFFICE, date(2026, 3, 13), 8, "09:00+0100", "13:00+0100"),
        (OFFICE, date(2026, 3, 14), 0, None, None),  # Saturday: no hours
        (OFFICE, HOLIDAY, 0, None, None),  # a closed day
        (OFFICE, date(2026, 3, 30), 10, "09:00+0200", "14:00+0200"),  # after the change
        (schedule({"tue": "09:00-10:00"}, 25), TUESDAY, 2, "09:00+0100", "09:50+0100"),
        (schedule({"tue": "09:00-24:00"}, 60), TUESDAY, 15, "09:00+0100", "00:00+0100"),
    ],
)
def test_slots_of_a_day(sched, day, expected_count, first, last_end):
    slots = slots_for_day(sched, day, "Europe/Madrid", {})
    assert len(slots) == expected_count
    if slots:
        assert wall(slots)[0] == first
        assert slots[-1].end.astimezone(MADRID).strftime("%H:%M%z") == last_end
        assert all(s.end - s.start == timedelta(minutes=sched.slot_minutes) for s in slots)
        assert all(s.start.tzinfo is UTC for s in slots)


def test_thursday_split_hours_leave_the_lunch_break_free():
    slots = slots_for_day(OFFICE, date(2026, 3, 12), MADRID)
    assert wall(slots) == [
        "09:00+0100",
        "09:30+0100",
        "10:00+0100",
        "10:30+0100",
        "16:00+0100",
        "16:30+0100",
    ]


def test_spring_forward_day_has_one_hour_less():
    slots = slots_for_day(NIGHT, SPRING_FORWARD, MADRID)
    assert wall(slots) == ["00:00+0100", "01:00+0100", "03:00+0200", "04:00+0200", "05:00+0200"]
    assert slots[0].start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert slots[-1].end == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


def test_fall_back_day_has_one_hour_more_and_the_repeated_hour_twice():
    slots = slots_for_day(NIGHT, FALL_BACK, MADRID)
    assert wall(slots) == [
        "00:00+0200",
        "01:00+0200",
        "02:00+0200",
        "02:00+0100",
        "03:00+0100",
        "04:00+0100",
        "05:00+0100",
    ]
    assert len({s.start for s in slots}) == 7


def test_daytime_hours_on_clock_change_days_keep_their_wall_times():
    sunday = schedule({"sun": "09:00-11:00"})
    assert wall(slots_for_day(sunday, SPRING_FORWARD, MADRID))[0] == "09:00+0200"
    assert wall(slots_for_day(sunday, FALL_BACK, MADRID))[0] == "09:00+0100"
    assert slots_for_day(sunday, SPRING_FORWARD, MADRID)[0].start.hour == 7  # UTC
    assert slots_for_day(sunday, FALL_BACK, MADRID)[0].start.hour == 8


def test_opening_at_a_skipped_wall_time_opens_at_the_same_instant_on_the_new_clock():
    sched = schedule({"sun": "02:30-04:00"})
    assert wall(slots_for_day(sched, SPRING_FORWARD, MADRID)) == ["03:30+0200"]


def test_booked_counts_set_free_places_whatever_zone_the_keys_are_in():
    booked = {
        local(TUESDAY, 9, 0): 2,  # full
        datetime(2026, 3, 10, 8, 30, tzinfo=UTC): 1,  # 09:30 local
        local(TUESDAY, 10, 0): 5,  # overbooked by an import: never negative
        local(TUESDAY, 10, 45): 1,  # not a slot start: ignored
    }
    slots = {
        s.start.astimezone(MADRID).strftime("%H:%M"): s
        for s in slots_for_day(OFFICE, TUESDAY, MADRID, booked)
    }
    assert (slots["09:00"].free, slots["09:00"].booked) == (0, 2)
    assert slots["09:30"].free == 1
    assert slots["10:00"].free == 0
    assert slots["10:30"].free == 2
    assert all(s.capacity == 2 for s in slots.values())


def test_booked_counts_tell_the_two_repeated_autumn_hours_apart():
    second_two_oclock = local(FALL_BACK, 2, 0, fold=1)
    slots = slots_for_day(NIGHT, FALL_BACK, MADRID, {second_two_oclock: 2})
    assert [s.free for s in slots] == [2, 2, 2, 0, 2, 2, 2]


def test_naive_booked_keys_are_refused():
    with pytest.raises(DomainError) as info:
        slots_for_day(OFFICE, TUESDAY, MADRID, {datetime(2026, 3, 10, 9, 0): 1})
    assert info.value.code == "slot_unknown"


DESKS = (
    Desk("1", "Mesa 1", ("general", "certificates")),
    Desk("2", "Mesa 2", ("general",)),
    Desk("3", "Mesa 3", ("taxes",)),
)


@pytest.mark.parametrize(
    ("service", "override", "expected"),
    [
        ("general", None, 2),
        ("certificates", None, 1),
        ("taxes", None, 1),
        ("unknown", None, 0),
        ("general", 5, 5),
        ("general", 0, 0),
    ],
)
def test_capacity_defaults_to_the_desks_serving_the_service(service, override, expected):
    assert capacity_from_desks(service, DESKS, override) == expected


def test_negative_capacity_is_refused():
    with pytest.raises(DomainError) as info:
        capacity_from_desks("general", DESKS, -1)
    assert info.value.code == "schedule_invalid"


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": "9-14"},
        {"mon": "09:00-25:00"},
        {"mon": "14:00-09:00"},
        {"mon": "09:00-09:00"},
        {"mon": "09:00-12:00, 11:00-13:00"},
        {"lunes": "09:00-14:00"},
        {"mon": "09:60-10:00"},
    ],
)
def test_bad_opening_hours_get_a_coded_error(hours):
    with pytest.raises(DomainError) as info:
        schedule(hours)
    assert info.value.code == "schedule_invalid"


@pytest.mark.parametrize(("slot_minutes", "capacity"), [(0, 1), (24 * 60 + 1, 1), (30, -1)])
def test_bad_slot_length_or_capacity_get_a_coded_error(slot_minutes, capacity):
    with pytest.raises(DomainError) as info:
        schedule({"mon": "09:00-14:00"}, slot_minutes, capacity)
    assert info.value.code == "schedule_invalid"


def test_unknown_time_zone_gets_a_coded_error():
    with pytest.raises(DomainError) as info:
        slots_for_day(OFFICE, TUESDAY, "Europe")
    assert info.value.code == "schedule_invalid"


def test_weekday_names_and_lists_are_accepted():
    week = parse_weekly_hours({"Monday": ["09:00-10:00", "12:00-13:00"], "SUN": "10:00-11:00"})
    assert week[0] == ((time(9), time(10)), (time(12), time(13)))
    assert week[6] == ((time(10), time(11)),)
    assert week[1:6] == ((),) * 5


NOW = local(TUESDAY, 8, 0)


@pytest.mark.parametrize(
    ("start", "booked", "now", "code"),
    [
        (local(TUESDAY, 9, 10), {}, NOW, "slot_unknown"),
        (local(HOLIDAY, 9, 0), {}, NOW, "slot_unknown"),
        (local(TUESDAY, 9, 0), {local(TUESDAY, 9, 0): 2}, NOW, "slot_full"),
        (local(TUESDAY, 9, 0), {}, local(TUESDAY, 9, 0), "slot_in_past"),
        (datetime(2026, 3, 10, 9, 0), {}, NOW, "slot_unknown"),
    ],
)
def test_find_slot_refusals(start, booked, now, code):
    with pytest.raises(DomainError) as info:
        find_slot(OFFICE, start, MADRID, booked, now)
    assert info.value.code == code


def test_find_slot_returns_the_slot_with_its_free_places():
    slot = find_slot(OFFICE, local(TUESDAY, 9, 30), MADRID, {local(TUESDAY, 9, 30): 1}, NOW)
    assert slot.start == datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    assert slot.free == 1
