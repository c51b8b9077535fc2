"""What-if planner: a discrete-event simulation of one office's queue.

Replay a real day (`arrivals_from_records`) or draw a synthetic one (`synthetic_arrivals`), then
`simulate` it with a given set of desks. Who a free desk calls is decided by the project's queue
policy (`policy.choose_next`), exactly as the hub does, so appointments, priorities and the
overtaking limit behave as they would in the office.

Times are seconds after the start of the first day. A wait runs from arrival (or from the slot,
for an appointment checked in early) to the call, as in `kpi`. The simulation runs until every
arrival has been served; citizens do not give up and desks do not pause.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from .errors import Invalid
from .kpi import TicketRecord, percentile
from .model import QueuedTicket
from .policy import QueuePolicy, choose_next

EPOCH = datetime(2000, 1, 3)  # the policy works on datetimes; seconds are offsets from this


@dataclass(frozen=True)
class Arrival:
    at_s: float
    service: str
    service_s: float
    slot_s: float | None = None
    priority: str | None = None

    @property
    def appointment(self) -> bool:
        return self.slot_s is not None


@dataclass(frozen=True)
class DeskPlan:
    id: str
    services: tuple[str, ...]


class ServiceTimes(Protocol):
    def draw(self, rng: random.Random) -> float: ...


@dataclass(frozen=True)
class ExponentialTimes:
    mean_s: float

    def __post_init__(self) -> None:
        if not self.mean_s > 0:
            raise Invalid("simulation_service_time_invalid", "mean service time must be > 0")

    def draw(self, rng: random.Random) -> float:
        return rng.expovariate(1 / self.mean_s)


@dataclass(frozen=True)
class EmpiricalTimes:
    """Service times drawn from ones observed (e.g. a month of `kpi` service times)."""

    samples: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.samples or min(self.samples) < 0:
            raise Invalid("simulation_service_time_invalid", "empirical service times must be >= 0")

    def draw(self, rng: random.Random) -> float:
        return rng.choice(self.samples)


@dataclass(frozen=True)
class Demand:
    """Arrivals of one service: mean arrivals per hour, by hour of day (0-23)."""

    service: str
    per_hour: Mapping[int, float]
    times: ServiceTimes


@dataclass(frozen=True)
class ServiceOutcome:
    service: str
    arrivals: int
    mean_wait_s: float | None
    p90_wait_s: float | None
    max_wait_s: float | None
    within_target: float | None
    max_queue: int


@dataclass(frozen=True)
class DeskOutcome:
    desk: str
    served: int
    busy_s: float
    utilisation: float


@dataclass(frozen=True)
class SimulationResult:
    overall: ServiceOutcome
    services: tuple[ServiceOutcome, ...]
    desks: tuple[DeskOutcome, ...]
    span_s: float

    def service(self, service: str) -> ServiceOutcome:
        return next(s for s in self.services if s.service == service)

    def desk(self, desk: str) -> DeskOutcome:
        return next(d for d in self.desks if d.desk == desk)


# ---- arrivals ---------------------------------------------------------------------------------


def synthetic_arrivals(
    demands: Sequence[Demand],
    rng: random.Random,
    *,
    days: int = 1,
    appointment_share: float = 0.0,
    slot_s: float = 600.0,
    arrive_before_s: float = 300.0,
) -> list[Arrival]:
    """Poisson arrivals by hour profile; `appointment_share` of them booked (see `book`)."""
    if days < 1:
        raise Invalid("simulation_days_invalid", "simulate at least one day")
    arrivals = []
    for demand in demands:
        for hour, per_hour in demand.per_hour.items():
            if not 0 <= hour <= 23 or per_hour < 0:
                raise Invalid(
                    "simulation_profile_invalid",
                    f"{demand.service}: hour {hour} must be 0-23 with a rate >= 0",
                )
            if per_hour == 0:
                continue
            for day in range(days):
                start = day * 86400 + hour * 3600
                t = start + rng.expovariate(per_hour / 3600)
                while t < start + 3600:
                    arrivals.append(Arrival(t, demand.service, demand.times.draw(rng)))
                    t += rng.expovariate(per_hour / 3600)
    arrivals.sort(key=lambda a: a.at_s)
    return book(arrivals, appointment_share, rng, slot_s=slot_s, arrive_before_s=arrive_before_s)


def book(
    arrivals: Sequence[Arrival],
    share: float,
    rng: random.Random,
    *,
    slot_s: float = 600.0,
    arrive_before_s: float = 300.0,
) -> list[Arrival]:
    """Turn `share` of the walk-ins into appointments.

    A booked citizen gets the slot that starts at or before the time they would have walked in,
    and checks in `arrive_before_s` ahead of it.
    """
    if not 0 <= share <= 1:
        raise Invalid("simulation_share_invalid", "the appointment share must be in [0, 1]")
    if not slot_s > 0 or arrive_before_s < 0:
        raise Invalid("simulation_slot_invalid", "slots must be > 0 s, arriving >= 0 s early")
    if share == 0:
        return list(arrivals)
    out = []
    for a in arrivals:
        if a.slot_s is None and rng.random() < share:
            slot = math.floor(a.at_s / slot_s) * slot_s
            a = replace(a, at_s=max(0.0, slot - arrive_before_s), slot_s=slot)
        out.append(a)
    out.sort(key=lambda a: a.at_s)
    return out


def arrivals_from_records(records: Iterable[TicketRecord]) -> list[Arrival]:
    """A real day to replay: every ticket that was served, with its own service time.

    Times are counted from midnight of the earliest ticket. Tickets never started (cancelled,
    no-show) are left out, since they took no service time.
    """
    served = [
        (r, (r.finished_at - r.started_at).total_seconds())
        for r in records
        if r.started_at is not None and r.finished_at is not None
    ]
    if not served:
        return []
    first = min(r.issued_at for r, _ in served)
    midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
    arrivals = [
        Arrival(
            at_s=(r.issued_at - midnight).total_seconds(),
            service=r.service,
            service_s=max(0.0, service_s),
            slot_s=None if r.slot_at is None else (r.slot_at - midnight).total_seconds(),
        )
        for r, service_s in served
    ]
    arrivals.sort(key=lambda a: a.at_s)
    return arrivals


# ---- the simulation ---------------------------------------------------------------------------


def simulate(
    arrivals: Sequence[Arrival],
    desks: Sequence[DeskPlan],
    *,
    policy: QueuePolicy | None = None,
    target_s: float = 600.0,
    walk_s: float = 0.0,
    warmup_s: float = 0.0,
) -> SimulationResult:
    """Serve `arrivals` with `desks` under the queue policy.

    `walk_s` is the time from call to the start of service. Arrivals before `warmup_s` are served
    but left out of the figures, and desk time before it is not counted (for long steady runs).
    """
    _validate(arrivals, desks, target_s, walk_s)
    run = _Run(arrivals, desks, policy or QueuePolicy(), walk_s, warmup_s)
    run.serve_all()
    return run.result(target_s)


class _Run:
    """The state of one simulation. Events: arrivals in time order, and desks becoming free."""

    def __init__(
        self,
        arrivals: Sequence[Arrival],
        desks: Sequence[DeskPlan],
        policy: QueuePolicy,
        walk_s: float,
        warmup_s: float,
    ) -> None:
        self.arrivals = arrivals
        self.desks = desks
        self.policy = policy
        self.walk_s = walk_s
        self.warmup_s = warmup_s
        self.services = sorted(
            {a.service for a in arrivals} | {s for d in desks for s in d.services}
        )
        self.waiting: dict[str, dict[int, QueuedTicket]] = {s: {} for s in self.services}
        self.desks_of: dict[str, list[int]] = {s: [] for s in self.services}
        for n, d in enumerate(desks):
            for service in d.services:
                self.desks_of[service].append(n)
        self.frees: list[tuple[float, int, int]] = []  # heap of (time, sequence, desk)
        self.seq = 0
        self.idle = [True] * len(desks)
        self.idle_since = [0.0] * len(desks)
        self.busy: list[list[tuple[float, float]]] = [[] for _ in desks]
        self.served = [0] * len(desks)
        self.waits: dict[str, list[float]] = {s: [] for s in self.services}
        self.max_queue = dict.fromkeys(self.services, 0)
        self.max_total_queue = 0
        self.total_waiting = 0
        self.last = 0.0

    def serve_all(self) -> None:
        arrivals, frees = self.arrivals, self.frees
        order = sorted(range(len(arrivals)), key=lambda i: arrivals[i].at_s)
        i, n = 0, len(order)
        while i < n or frees:
            # at the same instant a desk frees up before the next arrival is queued
            if frees and (i == n or frees[0][0] <= arrivals[order[i]].at_s):
                now, _, desk = heapq.heappop(frees)
                self.last = now
                self.call(desk, now)
            else:
                self.arrive(order[i])
                i += 1

    def arrive(self, index: int) -> None:
        a = self.arrivals[index]
        if a.at_s > self.last:
            self.last = a.at_s
        queue = self.waiting[a.service]
        queue[index] = QueuedTicket(
            id=index,
            service_id=a.service,
            issued_at=EPOCH + timedelta(seconds=a.at_s),
            priority=a.priority,
            slot_at=None if a.slot_s is None else EPOCH + timedelta(seconds=a.slot_s),
        )
        self.total_waiting += 1
        # only one ticket came, so at most one desk can call: the one idle longest
        free = [n for n in self.desks_of[a.service] if self.idle[n]]
        if free:
            self.call(min(free, key=self.idle_since.__getitem__), a.at_s)
        if a.at_s >= self.warmup_s:
            if len(queue) > self.max_queue[a.service]:
                self.max_queue[a.service] = len(queue)
            if self.total_waiting > self.max_total_queue:
                self.max_total_queue = self.total_waiting

    def call(self, desk: int, now: float) -> None:
        candidates = [t for s in self.desks[desk].services for t in self.waiting[s].values()]
        if not candidates:
            self.idle[desk] = True
            self.idle_since[desk] = now
            return
        if len(candidates) == 1:  # what choose_next would answer, without building datetimes
            ticket = candidates[0]
        else:
            now_dt = EPOCH + timedelta(seconds=now)
            decision = choose_next(candidates, now_dt, self.policy)
            assert decision is not None
            ticket = decision.ticket
            for other in decision.newly_overtaken:
                queue = self.waiting[self.arrivals[other].service]
                queue[other] = replace(queue[other], overtaken_at=now_dt)
        del self.waiting[ticket.service_id][ticket.id]
        self.total_waiting -= 1
        a = self.arrivals[ticket.id]
        if a.at_s >= self.warmup_s:
            clock = a.at_s if a.slot_s is None or a.slot_s < a.at_s else a.slot_s
            self.waits[a.service].append(now - clock if now > clock else 0.0)
            self.served[desk] += 1
        start = now + self.walk_s
        end = start + a.service_s
        self.busy[desk].append((start, end))
        self.idle[desk] = False
        self.seq += 1
        heapq.heappush(self.frees, (end, self.seq, desk))

    def result(self, target_s: float) -> SimulationResult:
        first = min((a.at_s for a in self.arrivals), default=0.0)
        begin = max(first, self.warmup_s)
        span = max(0.0, self.last - begin)
        counted = dict.fromkeys(self.services, 0)
        for a in self.arrivals:
            if a.at_s >= self.warmup_s:
                counted[a.service] += 1
        outcomes = tuple(
            _outcome(s, counted[s], self.waits[s], target_s, self.max_queue[s])
            for s in self.services
        )
        every_wait = [w for s in self.services for w in self.waits[s]]
        overall = _outcome("", sum(counted.values()), every_wait, target_s, self.max_total_queue)
        desks = tuple(
            _desk_outcome(d.id, self.served[n], self.busy[n], begin, self.last, span)
            for n, d in enumerate(self.desks)
        )
        return SimulationResult(overall, outcomes, desks, span)


def _validate(
    arrivals: Sequence[Arrival], desks: Sequence[DeskPlan], target_s: float, walk_s: float
) -> None:
    desk_ids = [d.id for d in desks]
    if not desks:
        raise Invalid("simulation_no_desks", "plan at least one desk")
    if len(set(desk_ids)) != len(desk_ids):
        raise Invalid("simulation_desk_duplicate", "two desks share an id")
    if any(not d.services for d in desks):
        raise Invalid("simulation_desk_idle", "every desk must serve at least one service")
    if not target_s > 0 or walk_s < 0:
        raise Invalid("simulation_time_invalid", "target must be > 0 s and walk time >= 0 s")
    covered = {s for d in desks for s in d.services}
    missing = sorted({a.service for a in arrivals} - covered)
    if missing:
        raise Invalid(
            "simulation_service_unserved",
            f"no desk serves {', '.join(missing)}",
            services=missing,
        )
    for a in arrivals:
        if not (math.isfinite(a.at_s) and a.at_s >= 0 and a.service_s >= 0):
            raise Invalid(
                "simulation_arrival_invalid",
                f"arrival times and service times must be >= 0 (got {a!r})",
            )


def _outcome(
    service: str, arrivals: int, waits: list[float], target_s: float, max_queue: int
) -> ServiceOutcome:
    if not waits:
        return ServiceOutcome(service, arrivals, None, None, None, None, max_queue)
    waits.sort()
    within = sum(1 for w in waits if w <= target_s) / len(waits)
    return ServiceOutcome(
        service,
        arrivals,
        sum(waits) / len(waits),
        percentile(waits, 0.9),
        waits[-1],
        within,
        max_queue,
    )


def _desk_outcome(
    desk: str,
    served: int,
    intervals: list[tuple[float, float]],
    begin: float,
    end: float,
    span: float,
) -> DeskOutcome:
    busy_s = sum(max(0.0, min(e, end) - max(s, begin)) for s, e in intervals)
    return DeskOutcome(desk, served, busy_s, busy_s / span if span > 0 else 0.0)
