"""Who a desk calls next.

Order, among the waiting tickets of the services the desk serves:
1. starved tickets: overtaken more than `max_overtake` ago, oldest fair place first;
2. appointments whose slot has come, earliest slot first;
3. priority tickets, oldest fair place first;
4. everyone else, oldest fair place first;
5. only when nobody above is eligible: appointments checked in before their slot.

A ticket is overtaken when a ticket with a later fair place is called before it; the policy
returns those so the caller can store the first time each one was passed over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .model import QueuedTicket


@dataclass(frozen=True)
class QueuePolicy:
    max_overtake: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class NextDecision:
    ticket: QueuedTicket
    newly_overtaken: tuple[int, ...]


def rank(ticket: QueuedTicket, now: datetime, policy: QueuePolicy) -> tuple[int, datetime, int]:
    """Sort key: lower is called sooner."""
    if ticket.overtaken_at is not None and now - ticket.overtaken_at >= policy.max_overtake:
        tier = 0
    elif ticket.slot_at is not None:
        tier = 1 if ticket.slot_at <= now else 4
    elif ticket.priority:
        tier = 2
    else:
        tier = 3
    return (tier, ticket.fair_at, ticket.id)


def choose_next(
    waiting: Sequence[QueuedTicket], now: datetime, policy: QueuePolicy
) -> NextDecision | None:
    if not waiting:
        return None
    chosen = min(waiting, key=lambda t: rank(t, now, policy))
    return NextDecision(chosen, tuple(overtaken_by(chosen, waiting)))


def overtaken_by(chosen: QueuedTicket, waiting: Iterable[QueuedTicket]) -> list[int]:
    return [
        t.id
        for t in waiting
        if t.id != chosen.id
        and t.overtaken_at is None
        and (t.fair_at, t.id) < (chosen.fair_at, chosen.id)
        and (t.slot_at is None or t.slot_at <= chosen.fair_at)
    ]


def position(
    ticket: QueuedTicket, waiting: Sequence[QueuedTicket], now: datetime, policy: QueuePolicy
) -> int:
    """1 for the next to be called among `waiting` (which includes `ticket`)."""
    key = rank(ticket, now, policy)
    return 1 + sum(1 for t in waiting if t.id != ticket.id and rank(t, now, policy) < key)
