"""Erlang C against closed forms and exact rational arithmetic, up to 100 desks."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from office360.core import erlang
from office360.core.errors import Invalid


def exact_erlang_c(load: Fraction, desks: int) -> Fraction:
    """The textbook formula with factorials and powers, in exact fractions."""
    tail = load**desks / math.factorial(desks) * Fraction(desks) / (desks - load)
    head = sum(load**k / math.factorial(k) for k in range(desks))
    return tail / (head + tail)


@pytest.mark.parametrize(
    ("rate", "service_rate", "desks", "p_wait", "wait"),
    [
        (0.5, 1.0, 1, 0.5, 1.0),  # M/M/1: C = rho, Wq = rho / (mu - lambda)
        (0.9, 1.0, 1, 0.9, 9.0),
        (1.0, 1.0, 2, 1 / 3, 1 / 3),  # a = 1, c = 2 worked by hand
        (2.0, 1.0, 3, 4 / 9, 4 / 9),  # a = 2, c = 3: (4/3 * 3) / (1 + 2 + 2 + 4) = 4/9
        (0.0, 1.0, 4, 0.0, 0.0),
    ],
)
def test_closed_forms(rate, service_rate, desks, p_wait, wait):
    assert erlang.probability_of_waiting(rate, service_rate, desks) == pytest.approx(p_wait)
    assert erlang.mean_wait(rate, service_rate, desks) == pytest.approx(wait)


@pytest.mark.parametrize("desks", [1, 2, 5, 20, 50, 100, 150])
@pytest.mark.parametrize("utilisation", [Fraction(1, 2), Fraction(9, 10), Fraction(99, 100)])
def test_stable_for_many_desks(desks, utilisation):
    load = utilisation * desks
    expected = float(exact_erlang_c(load, desks))
    got = erlang.probability_of_waiting(float(load) / 300, 1 / 300, desks)
    assert got == pytest.approx(expected, rel=1e-9)
    assert 0 <= got <= 1


def test_unstable_queue_has_its_limits():
    assert erlang.probability_of_waiting(3.0, 1.0, 3) == 1.0
    assert erlang.mean_wait(3.0, 1.0, 3) == math.inf
    assert erlang.share_within(4.0, 1.0, 3, 60) == 0.0


def test_share_within_target():
    # M/M/1, lambda 0.5, mu 1: P(W > t) = rho exp(-(mu - lambda) t)
    assert erlang.share_within(0.5, 1.0, 1, 2.0) == pytest.approx(1 - 0.5 * math.exp(-1.0))
    assert erlang.share_within(0.5, 1.0, 1, 0.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("per_hour", "mean_s", "target_s", "goal"),
    [(60, 300, 600, 0.8), (200, 420, 300, 0.9), (5, 900, 1200, 0.8)],
)
def test_desks_needed_is_the_fewest(per_hour, mean_s, target_s, goal):
    rate, mu = per_hour / 3600, 1 / mean_s
    desks = erlang.desks_needed(rate, mu, target_s, goal)
    assert erlang.share_within(rate, mu, desks, target_s) >= goal
    if desks > 1:
        assert erlang.share_within(rate, mu, desks - 1, target_s) < goal


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: erlang.mean_wait(-1, 1, 1), "erlang_rate_invalid"),
        (lambda: erlang.mean_wait(math.nan, 1, 1), "erlang_rate_invalid"),
        (lambda: erlang.mean_wait(1, 0, 1), "erlang_service_rate_invalid"),
        (lambda: erlang.mean_wait(1, 1, 0), "erlang_desks_invalid"),
        (lambda: erlang.mean_wait(1, 1, 2.5), "erlang_desks_invalid"),
        (lambda: erlang.share_within(1, 2, 1, -5), "erlang_target_invalid"),
        (lambda: erlang.desks_needed(1, 1, 60, 1.0), "erlang_goal_invalid"),
        (lambda: erlang.desks_needed(100, 1, 1, 0.99, max_desks=101), "erlang_too_many_desks"),
    ],
)
def test_bad_input_gets_a_coded_error(call, code):
    with pytest.raises(Invalid) as caught:
        call()
    assert caught.value.code == code
