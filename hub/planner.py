"""The what-if planner on the hub: a plan (desks, appointment share, a real day or a synthetic
profile) in, the simulated waits out. The simulation is `office360.core.simulation`."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from office360.config import OfficeSettings
from office360.core.errors import Invalid
from office360.core.kpi import ServiceLevel, compute_kpis
from office360.core.policy import QueuePolicy
from office360.core.simulation import (
    Demand,
    DeskPlan,
    ExponentialTimes,
    arrivals_from_records,
    book,
    simulate,
    synthetic_arrivals,
)

from .reports_repo import ticket_records

MAX_ARRIVALS = 20_000


@dataclass(frozen=True)
class Profile:
    """Arrivals of one service for a synthetic day: mean arrivals per hour by hour of day."""

    service: str
    per_hour: Mapping[int, float]
    mean_service_s: float


@dataclass(frozen=True)
class Plan:
    desks: Sequence[DeskPlan]
    appointment_share: float = 0.0
    replay_day: date | None = None
    profile: Sequence[Profile] = ()
    days: int = 1
    seed: int = 9
    target_s: float = 600.0
    walk_s: float = 0.0
    slot_s: float = 600.0


def office_desks(office: OfficeSettings) -> list[DeskPlan]:
    return [DeskPlan(d.id, tuple(d.services)) for d in office.desks]


def generalist_desks(office: OfficeSettings, count: int) -> list[DeskPlan]:
    """`count` desks that each serve every service of the office."""
    services = tuple(s.id for s in office.services)
    return [DeskPlan(str(n), services) for n in range(1, count + 1)]


def run_plan(
    engine: Engine, office: OfficeSettings, plan: Plan, policy: QueuePolicy | None = None
) -> dict[str, Any]:
    known = {s.id for s in office.services}
    for desk in plan.desks:
        unknown = sorted(set(desk.services) - known)
        if unknown:
            raise Invalid("unknown_service", f"desk {desk.id}: no service {', '.join(unknown)}")
    rng = random.Random(plan.seed)
    actual = None
    if (plan.replay_day is None) == (not plan.profile):
        raise Invalid("planner_source", "give either replay_day or a synthetic profile")
    if plan.replay_day is not None:
        with engine.connect() as conn:
            records = ticket_records(
                conn, {office.id: office.timezone}, plan.replay_day, plan.replay_day, office.id
            )
        arrivals = arrivals_from_records(records)
        if not arrivals:
            raise Invalid("planner_day_empty", f"no ticket was served on {plan.replay_day}")
        _check_size(len(arrivals))
        arrivals = book(arrivals, plan.appointment_share, rng, slot_s=plan.slot_s)
        day = compute_kpis(records, service_level=ServiceLevel(plan.target_s)).group(
            "office", office.id
        )
        if day is not None:
            actual = {
                "mean_wait_s": day.waiting.mean,
                "p90_wait_s": day.waiting.p90,
                "within_target": day.within_target,
            }
    else:
        unknown = sorted({p.service for p in plan.profile} - known)
        if unknown:
            raise Invalid("unknown_service", f"office {office.id} has no {', '.join(unknown)}")
        _check_size(sum(sum(p.per_hour.values()) for p in plan.profile) * plan.days)
        demands = [
            Demand(p.service, dict(p.per_hour), ExponentialTimes(p.mean_service_s))
            for p in plan.profile
        ]
        arrivals = synthetic_arrivals(
            demands,
            rng,
            days=plan.days,
            appointment_share=plan.appointment_share,
            slot_s=plan.slot_s,
        )
    result = simulate(
        arrivals, plan.desks, policy=policy, target_s=plan.target_s, walk_s=plan.walk_s
    )
    return {
        "source": "replay" if plan.replay_day else "synthetic",
        "day": plan.replay_day.isoformat() if plan.replay_day else None,
        "arrivals": len(arrivals),
        "appointments": sum(1 for a in arrivals if a.appointment),
        "span_s": result.span_s,
        "overall": asdict(result.overall),
        "services": [asdict(s) for s in result.services],
        "desks": [asdict(d) for d in result.desks],
        "actual": actual,
    }


def _check_size(expected: float) -> None:
    if expected > MAX_ARRIVALS:
        raise Invalid(
            "simulation_too_large",
            f"about {int(expected)} arrivals; a plan simulates at most {MAX_ARRIVALS}",
        )
