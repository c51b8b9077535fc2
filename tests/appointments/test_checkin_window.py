"""When an appointment may check in: early window, grace period, late arrivals, other days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from office360.core.errors import DomainError
from office360.core.slots import (
    CHECK_IN_MESSAGES,
    CheckInOutcome,
    CheckInRules,
    LateArrival,
    check_in_decision,
    code_expires_at,
)

MADRID = ZoneInfo("Europe/Madrid")
DAY = date(2026, 3, 10)
SLOT = datetime.combine(DAY, time(10, 0), MADRID)
WALK_IN = CheckInRules(timedelta(minutes=30), timedelta(minutes=10), LateArrival.WALK_IN)
REFUSE = CheckInRules(timedelta(minutes=30), timedelta(minutes=10), LateArrival.REFUSE)


def at(hh: int, mm: int, ss: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm, ss), MADRID)


@pytest.mark.parametrize(
    ("now", "rules", "outcome", "reason"),
    [
        (at(9, 29, 59), WALK_IN, CheckInOutcome.REFUSED, "appointment_too_early"),
        (at(7, 0), WALK_IN, CheckInOutcome.REFUSED, "appointment_too_early"),
        (at(9, 30), WALK_IN, CheckInOutcome.APPOINTMENT, "appointment_early"),
        (at(9, 59, 59), WALK_IN, CheckInOutcome.APPOINTMENT, "appointment_early"),
        (at(10, 0), WALK_IN, CheckInOutcome.APPOINTMENT, "appointment_on_time"),
        (at(10, 10), WALK_IN, CheckInOutcome.APPOINTMENT, "appointment_on_time"),
        (at(10, 10, 1), WALK_IN, CheckInOutcome.WALK_IN, "appointment_late_as_walk_in"),
        (at(18, 0), WALK_IN, CheckInOutcome.WALK_IN, "appointment_late_as_walk_in"),
        (at(10, 10), REFUSE, CheckInOutcome.APPOINTMENT, "appointment_on_time"),
        (at(10, 10, 1), REFUSE, CheckInOutcome.REFUSED, "appointment_late_refused"),
        (
            at(9, 50, day=date(2026, 3, 11)),
            WALK_IN,
            CheckInOutcome.REFUSED,
            "appointment_other_day",
        ),
        (at(10, 0, day=date(2026, 3, 9)), WALK_IN, CheckInOutcome.REFUSED, "appointment_other_day"),
        (at(10, 0, day=date(2026, 3, 9)), REFUSE, CheckInOutcome.REFUSED, "appointment_other_day"),
    ],
)
def test_check_in_decisions(now, rules, outcome, reason):
    decision = check_in_decision(SLOT, now, MADRID, rules)
    assert (decision.outcome, decision.reason) == (outcome, reason)
    assert decision.accepted == (outcome is not CheckInOutcome.REFUSED)
    if outcome is CheckInOutcome.APPOINTMENT:
        assert decision.slot_at == SLOT
    else:
        assert decision.slot_at is None


def test_too_early_says_from_when():
    decision = check_in_decision(SLOT, at(9, 0), MADRID, WALK_IN)
    assert decision.earliest == at(9, 30)


def test_days_are_local_days_not_utc_days():
    # 00:30 in Madrid is 23:30 UTC the day before; arriving at 00:20 is the same local day
    slot = at(0, 30)
    assert check_in_decision(slot, at(0, 20), MADRID, WALK_IN).reason == "appointment_early"
    # and a slot just after midnight is another day for someone there just before it
    assert (
        check_in_decision(slot, at(23, 50, day=date(2026, 3, 9)), MADRID, WALK_IN).reason
        == "appointment_other_day"
    )


def test_zero_windows_accept_only_the_exact_slot_start():
    strict = CheckInRules(timedelta(0), timedelta(0), LateArrival.REFUSE)
    assert check_in_decision(SLOT, at(9, 59, 59), MADRID, strict).reason == "appointment_too_early"
    assert check_in_decision(SLOT, at(10, 0), MADRID, strict).reason == "appointment_on_time"
    assert check_in_decision(SLOT, at(10, 0, 1), MADRID, strict).reason == (
        "appointment_late_refused"
    )


def test_on_a_clock_change_day_the_window_is_real_time():
    day = date(2026, 3, 29)  # 02:00 CET becomes 03:00 CEST
    slot = at(3, 15, day=day)
    # 01:50 CET is 25 real minutes before 03:15 CEST
    assert check_in_decision(slot, at(1, 50, day=day), MADRID, WALK_IN).reason == (
        "appointment_early"
    )
    assert check_in_decision(slot, at(1, 40, day=day), MADRID, WALK_IN).reason == (
        "appointment_too_early"
    )


def test_every_reason_has_spanish_and_english_text():
    reasons = {
        "appointment_on_time",
        "appointment_early",
        "appointment_too_early",
        "appointment_late_as_walk_in",
        "appointment_late_refused",
        "appointment_other_day",
    }
    assert set(CHECK_IN_MESSAGES) == reasons
    for now in (at(9, 0), at(9, 45), at(10, 5), at(11, 0), at(9, 0, day=date(2026, 3, 11))):
        for rules in (WALK_IN, REFUSE):
            decision = check_in_decision(SLOT, now, MADRID, rules)
            assert decision.message("es") != decision.message("en")
            assert decision.message("fr") == decision.message("es")


def test_naive_times_are_refused_with_a_code():
    with pytest.raises(DomainError) as info:
        check_in_decision(SLOT.replace(tzinfo=None), at(10, 0), MADRID, WALK_IN)
    assert info.value.code == "time_not_aware"


@pytest.mark.parametrize(
    ("slot", "expected_utc"),
    [
        (at(10, 0), datetime(2026, 3, 10, 23, 0, tzinfo=UTC)),  # CET: midnight is 23:00 UTC
        (at(0, 30), datetime(2026, 3, 10, 23, 0, tzinfo=UTC)),  # 23:30 UTC the day before
        (at(10, 0, day=date(2026, 3, 28)), datetime(2026, 3, 28, 23, 0, tzinfo=UTC)),
        (at(10, 0, day=date(2026, 3, 29)), datetime(2026, 3, 29, 22, 0, tzinfo=UTC)),  # CEST
        (at(10, 0, day=date(2026, 10, 25)), datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),
    ],
)
def test_codes_expire_at_the_local_midnight_after_the_slot(slot, expected_utc):
    assert code_expires_at(slot, MADRID) == expected_utc
    assert code_expires_at(slot.astimezone(UTC), "Europe/Madrid") == expected_utc


def test_a_late_arrival_on_the_day_still_has_a_valid_code():
    expires = code_expires_at(SLOT, MADRID)
    assert at(23, 59) < expires
    assert check_in_decision(SLOT, at(23, 59), MADRID, REFUSE).reason == "appointment_late_refused"
