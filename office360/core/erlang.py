"""Erlang C for an M/M/c queue: Poisson arrivals, exponential service, c desks, one queue.

`rate` is arrivals per second, `service_rate` services per second at one desk (1 / mean service
time), `desks` is c. The offered load is a = rate / service_rate; the queue is stable only when
a < c. Unstable loads give their limits (everyone waits, the mean wait is infinite) rather than
an error: a planner asking "what about one desk fewer?" should get an answer.

The probability of waiting is computed from the Erlang B recursion
B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1)), then C = c B / (c - a (1 - B)), which stays between 0
and 1 at every step: no factorials, no powers, so it is stable for hundreds of desks.
"""

from __future__ import annotations

import math

from .errors import Invalid


def _check(rate: float, service_rate: float, desks: int) -> None:
    if not (math.isfinite(rate) and rate >= 0):
        raise Invalid("erlang_rate_invalid", f"arrival rate must be >= 0, got {rate!r}")
    if not (math.isfinite(service_rate) and service_rate > 0):
        raise Invalid(
            "erlang_service_rate_invalid", f"service rate must be > 0, got {service_rate!r}"
        )
    if isinstance(desks, bool) or not isinstance(desks, int) or desks < 1:
        raise Invalid("erlang_desks_invalid", f"desks must be a whole number >= 1, got {desks!r}")


def erlang_b(load: float, desks: int) -> float:
    """Blocking probability of M/M/c/c with offered load `load` (erlangs)."""
    b = 1.0
    for k in range(1, desks + 1):
        b = load * b / (k + load * b)
    return b


def probability_of_waiting(rate: float, service_rate: float, desks: int) -> float:
    """Erlang C: the chance an arrival finds every desk busy (1.0 when the queue is unstable)."""
    _check(rate, service_rate, desks)
    load = rate / service_rate
    if load >= desks:
        return 1.0
    if load == 0:
        return 0.0
    b = erlang_b(load, desks)
    return desks * b / (desks - load * (1 - b))


def mean_wait(rate: float, service_rate: float, desks: int) -> float:
    """Mean time in queue, seconds: C / (c mu - lambda); infinite when unstable."""
    c_prob = probability_of_waiting(rate, service_rate, desks)
    spare = desks * service_rate - rate
    if spare <= 0:
        return math.inf
    return c_prob / spare


def share_within(rate: float, service_rate: float, desks: int, target_s: float) -> float:
    """Share of arrivals called within `target_s`: 1 - C exp(-(c mu - lambda) t)."""
    if not target_s >= 0:
        raise Invalid("erlang_target_invalid", f"target must be >= 0 seconds, got {target_s!r}")
    c_prob = probability_of_waiting(rate, service_rate, desks)
    spare = desks * service_rate - rate
    if spare <= 0:
        return 0.0
    return 1.0 - c_prob * math.exp(-spare * target_s)


def desks_needed(
    rate: float, service_rate: float, target_s: float, goal: float, max_desks: int = 1000
) -> int:
    """The fewest desks that call `goal` of the arrivals within `target_s`."""
    if not 0 < goal < 1:
        raise Invalid("erlang_goal_invalid", f"goal must be between 0 and 1, got {goal!r}")
    _check(rate, service_rate, 1)
    desks = max(1, math.floor(rate / service_rate) + 1)
    while desks <= max_desks:
        if share_within(rate, service_rate, desks, target_s) >= goal:
            return desks
        desks += 1
    raise Invalid("erlang_too_many_desks", f"more than {max_desks} desks would be needed")
