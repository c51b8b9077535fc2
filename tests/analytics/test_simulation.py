"""The what-if planner on days small enough to follow by hand, and its input checks."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from office360.core.errors import Invalid
from office360.core.policy import QueuePolicy
from office360.core.simulation import (
    Arrival,
    Demand,
    DeskPlan,
    EmpiricalTimes,
    ExponentialTimes,
    arrivals_from_records,
    book,
    simulate,
    synthetic_arrivals,
)

from .scenario import DAY1, scenario

ONE_DESK = [DeskPlan("1", ("a",))]


def test_one_desk_by_hand():
    # served 0-100, 100-150, 150-180: waits 0, 90, 130
    arrivals = [Arrival(0, "a", 100), Arrival(10, "a", 50), Arrival(20, "a", 30)]
    result = simulate(arrivals, ONE_DESK, target_s=100)
    a = result.service("a")
    assert a.arrivals == 3
    assert a.mean_wait_s == pytest.approx(220 / 3)
    assert a.p90_wait_s == pytest.approx(90 + 0.8 * 40)
    assert a.max_wait_s == 130
    assert a.within_target == pytest.approx(2 / 3)
    assert a.max_queue == 2  # at t=20 two wait while the first is served
    assert result.overall.mean_wait_s == pytest.approx(220 / 3)
    desk = result.desk("1")
    assert (desk.served, desk.busy_s, desk.utilisation) == (3, 180, 1.0)
    assert result.span_s == 180


def test_walk_time_delays_the_desk():
    arrivals = [Arrival(0, "a", 100), Arrival(10, "a", 50)]
    result = simulate(arrivals, ONE_DESK, walk_s=20)
    # first: called 0, served 20-120; second: called 120, wait 110, served 140-190
    assert result.service("a").max_wait_s == 110
    assert result.desk("1").busy_s == 150
    assert result.span_s == 190


def test_appointment_whose_slot_has_come_goes_first():
    arrivals = [
        Arrival(0, "a", 100),
        Arrival(10, "a", 20),  # walk-in
        Arrival(20, "a", 30, slot_s=50),  # appointment due at 50
    ]
    result = simulate(arrivals, ONE_DESK)
    # at 100 the policy calls the appointment (wait 100 - 50), then the walk-in at 130
    assert result.service("a").mean_wait_s == pytest.approx((0 + 50 + 120) / 3)
    assert result.service("a").max_wait_s == 120


def test_early_appointment_is_called_only_when_nobody_else_waits():
    arrivals = [
        Arrival(0, "a", 100),
        Arrival(10, "a", 10, slot_s=500),  # checked in long before its slot
        Arrival(20, "a", 10),
    ]
    result = simulate(arrivals, ONE_DESK)
    # walk-in at 100 (wait 80), then the early appointment at 110: before its slot, wait 0
    assert result.service("a").max_wait_s == 80
    assert result.service("a").mean_wait_s == pytest.approx(80 / 3)


@pytest.mark.parametrize(
    ("max_overtake", "n_wait"),
    [(timedelta(minutes=15), 110), (timedelta(0), 100)],
)
def test_overtaking_limit_of_the_policy(max_overtake, n_wait):
    desk = [DeskPlan("1", ("a", "b"))]
    arrivals = [
        Arrival(0, "a", 100),
        Arrival(10, "b", 10),  # an ordinary ticket...
        Arrival(20, "a", 10, priority="elderly"),  # ...overtaken at 100 by this one
        Arrival(30, "a", 10, priority="elderly"),
    ]
    result = simulate(arrivals, desk, policy=QueuePolicy(max_overtake=max_overtake))
    # with 15 min both priority tickets pass; with no tolerance the passed-over ticket goes next
    assert result.service("b").mean_wait_s == n_wait


def test_desks_only_serve_their_services():
    desks = [DeskPlan("1", ("a",)), DeskPlan("2", ("a", "b"))]
    arrivals = [Arrival(0, "b", 100), Arrival(1, "a", 100), Arrival(2, "b", 10)]
    result = simulate(arrivals, desks)
    assert result.service("b").max_wait_s == 98  # desk 1 was free but does not serve b
    assert result.service("a").max_wait_s == 0
    assert (result.desk("1").served, result.desk("2").served) == (1, 2)
    assert result.service("b").max_queue == 1


def test_the_desk_idle_longest_calls():
    desks = [DeskPlan("1", ("a",)), DeskPlan("2", ("a",))]
    result = simulate([Arrival(0, "a", 10), Arrival(100, "a", 10)], desks)
    assert (result.desk("1").served, result.desk("2").served) == (1, 1)
    assert result.desk("1").utilisation == pytest.approx(10 / 110)


def test_warmup_is_left_out():
    arrivals = [Arrival(0, "a", 100), Arrival(10, "a", 50), Arrival(200, "a", 10)]
    result = simulate(arrivals, ONE_DESK, warmup_s=150)
    a = result.service("a")
    assert (a.arrivals, a.mean_wait_s) == (1, 0)
    assert result.desk("1").busy_s == 10  # 100-150 and 200-210, counted from 150
    assert result.span_s == 60


def test_replay_a_real_day():
    day = [r for r in scenario() if r.issued_at.date().isoformat() == DAY1]
    arrivals = arrivals_from_records(day)
    # served tickets only: T1 T2 T3 T5 T7 (the no-show and the cancelled one took no desk time)
    assert [a.at_s for a in arrivals] == [
        9 * 3600,
        9 * 3600 + 120,
        9 * 3600 + 1200,
        10 * 3600 + 180,
        10 * 3600 + 480,
    ]
    assert [a.service_s for a in arrivals] == [600, 300, 480, 1200, 300]
    assert arrivals[2].slot_s == 9.5 * 3600 and arrivals[2].appointment
    assert not arrivals[0].appointment
    one = simulate(arrivals, [DeskPlan("1", ("general", "taxes"))])
    two = simulate(arrivals, [DeskPlan("1", ("general",)), DeskPlan("2", ("general", "taxes"))])
    # one desk: T2 waits for T1 until 09:10 (480 s); a second desk takes general off it, but
    # T7 (taxes, 10:08) still waits for T5 at the only taxes desk until 10:23
    assert one.service("general").max_wait_s == 480
    assert two.service("general").max_wait_s == 0
    assert one.service("taxes").max_wait_s == two.service("taxes").max_wait_s == 900
    assert arrivals_from_records([]) == []


def test_synthetic_day_follows_the_hour_profile():
    rng = random.Random(42)
    demand = Demand("a", {9: 60}, ExponentialTimes(300))
    arrivals = synthetic_arrivals([demand], rng, days=10)
    assert all(9 * 3600 <= a.at_s % 86400 < 10 * 3600 for a in arrivals)
    assert abs(len(arrivals) - 600) < 4 * 600**0.5  # Poisson: within four standard deviations
    mean_service = sum(a.service_s for a in arrivals) / len(arrivals)
    assert mean_service == pytest.approx(300, rel=0.15)
    again = synthetic_arrivals([demand], random.Random(42), days=10)
    assert again == arrivals  # seeded, so repeatable


def test_synthetic_day_with_appointments_and_empirical_times():
    rng = random.Random(7)
    demand = Demand("a", {10: 30, 11: 30}, EmpiricalTimes((120.0, 240.0)))
    arrivals = synthetic_arrivals(
        [demand], rng, appointment_share=1.0, slot_s=900, arrive_before_s=60
    )
    assert arrivals
    assert {a.service_s for a in arrivals} <= {120.0, 240.0}
    for a in arrivals:
        assert a.slot_s is not None and a.slot_s % 900 == 0
        assert a.at_s == a.slot_s - 60


def test_book_changes_only_the_share_asked():
    walk_ins = [Arrival(t * 60.0, "a", 100) for t in range(1000)]
    booked = book(walk_ins, 0.3, random.Random(3))
    share = sum(a.appointment for a in booked) / len(booked)
    assert 0.25 < share < 0.35
    assert book(walk_ins, 0.0, random.Random(3)) == walk_ins
    assert [a.at_s for a in booked] == sorted(a.at_s for a in booked)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: simulate([], []), "simulation_no_desks"),
        (lambda: simulate([], [DeskPlan("1", ("a",))] * 2), "simulation_desk_duplicate"),
        (lambda: simulate([], [DeskPlan("1", ())]), "simulation_desk_idle"),
        (lambda: simulate([Arrival(0, "b", 1)], ONE_DESK), "simulation_service_unserved"),
        (lambda: simulate([Arrival(0, "a", -1)], ONE_DESK), "simulation_arrival_invalid"),
        (lambda: simulate([Arrival(-5, "a", 1)], ONE_DESK), "simulation_arrival_invalid"),
        (lambda: simulate([], ONE_DESK, target_s=0), "simulation_time_invalid"),
        (lambda: book([], 1.5, random.Random(1)), "simulation_share_invalid"),
        (lambda: book([], 0.5, random.Random(1), slot_s=0), "simulation_slot_invalid"),
        (lambda: ExponentialTimes(0), "simulation_service_time_invalid"),
        (lambda: EmpiricalTimes(()), "simulation_service_time_invalid"),
        (
            lambda: synthetic_arrivals(
                [Demand("a", {24: 5}, ExponentialTimes(60))], random.Random(1)
            ),
            "simulation_profile_invalid",
        ),
        (lambda: synthetic_arrivals([], random.Random(1), days=0), "simulation_days_invalid"),
    ],
)
def test_bad_input_gets_a_coded_error(call, code):
    with pytest.raises(Invalid) as caught:
        call()
    assert caught.value.code == code


def test_empty_day():
    result = simulate([], ONE_DESK)
    assert result.overall.arrivals == 0
    assert result.overall.mean_wait_s is None
    assert result.desk("1").utilisation == 0.0


def test_one_desk_matches_the_lindley_recursion():
    # with one desk first come first served, each wait is W(n) = max(0, W(n-1) + S(n-1) - gap)
    demand = Demand("a", dict.fromkeys(range(24), 10.0), ExponentialTimes(300))
    arrivals = synthetic_arrivals([demand], random.Random(5), days=20)
    wait, expected = 0.0, []
    for before, a in zip([None, *arrivals], arrivals, strict=False):
        if before is not None:
            wait = max(0.0, wait + before.service_s - (a.at_s - before.at_s))
        expected.append(wait)
    result = simulate(arrivals, ONE_DESK)
    assert result.overall.mean_wait_s == pytest.approx(sum(expected) / len(expected), rel=1e-9)
    assert result.overall.max_wait_s == pytest.approx(max(expected), rel=1e-9)
