from datetime import UTC, datetime, timedelta

import pytest

from office360.core.model import QueuedTicket
from office360.core.policy import QueuePolicy, choose_next, position

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = QueuePolicy(max_overtake=timedelta(minutes=15))


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def t(
    id: int,
    issued_min_ago: float,
    *,
    priority: str | None = None,
    slot_in_min: float | None = None,
    overtaken_min_ago: float | None = None,
    service: str = "general",
) -> QueuedTicket:
    return QueuedTicket(
        id=id,
        service_id=service,
        issued_at=ago(issued_min_ago),
        priority=priority,
        slot_at=NOW + timedelta(minutes=slot_in_min) if slot_in_min is not None else None,
        overtaken_at=ago(overtaken_min_ago) if overtaken_min_ago is not None else None,
    )


CASES = [
    ("empty queue", [], None),
    ("oldest first", [t(1, 5), t(2, 10), t(3, 1)], 2),
    ("ties broken by id", [t(5, 3), t(4, 3)], 4),
    ("across services", [t(1, 5, service="taxes"), t(2, 4, service="general")], 1),
    ("priority before older plain", [t(1, 10), t(2, 1, priority="pregnancy")], 2),
    (
        "oldest priority among priorities",
        [t(1, 3, priority="elderly"), t(2, 5, priority="pregnancy")],
        2,
    ),
    ("due appointment before priority", [t(1, 30, priority="elderly"), t(2, 2, slot_in_min=-1)], 2),
    ("earliest due slot first", [t(1, 30, slot_in_min=-1), t(2, 40, slot_in_min=-5)], 2),
    ("future appointment waits for its slot", [t(1, 20, slot_in_min=10), t(2, 1)], 2),
    ("future appointment called when nobody else waits", [t(1, 20, slot_in_min=10)], 1),
    (
        "starved plain ticket beats priority",
        [t(1, 30, overtaken_min_ago=16), t(2, 1, priority="elderly")],
        1,
    ),
    (
        "overtaken but not yet starved: priority still first",
        [t(1, 30, overtaken_min_ago=14), t(2, 1, priority="elderly")],
        2,
    ),
    (
        "starved ticket beats a due appointment",
        [t(1, 30, overtaken_min_ago=20), t(2, 1, slot_in_min=-1)],
        1,
    ),
    (
        "two starved: oldest fair place first",
        [t(1, 20, overtaken_min_ago=16), t(2, 40, overtaken_min_ago=16)],
        2,
    ),
]


@pytest.mark.parametrize(("name", "waiting", "expected"), CASES, ids=[c[0] for c in CASES])
def test_choose_next(name: str, waiting: list[QueuedTicket], expected: int | None) -> None:
    decision = choose_next(waiting, NOW, POLICY)
    assert (decision.ticket.id if decision else None) == expected


OVERTAKE_CASES = [
    ("plain fifo overtakes nobody", [t(1, 10), t(2, 5)], ()),
    (
        "priority overtakes older plain tickets",
        [t(1, 10), t(2, 8), t(3, 1, priority="elderly")],
        (1, 2),
    ),
    (
        "already overtaken are not stamped again",
        [t(1, 10, overtaken_min_ago=2), t(3, 1, priority="elderly")],
        (),
    ),
    ("younger tickets are not overtaken", [t(1, 1), t(3, 5, priority="elderly")], ()),
    (
        "future appointment is not overtaken",
        [t(1, 30, slot_in_min=5), t(2, 1, priority="elderly")],
        (),
    ),
]


@pytest.mark.parametrize(
    ("name", "waiting", "expected"), OVERTAKE_CASES, ids=[c[0] for c in OVERTAKE_CASES]
)
def test_overtaken_tickets_are_reported(
    name: str, waiting: list[QueuedTicket], expected: tuple[int, ...]
) -> None:
    decision = choose_next(waiting, NOW, POLICY)
    assert decision is not None
    assert decision.newly_overtaken == expected


def test_no_ticket_waits_longer_than_the_limit_after_being_passed_over() -> None:
    """A steady stream of priority tickets cannot hold a plain ticket back beyond the limit."""
    now = NOW
    plain = QueuedTicket(id=1, service_id="general", issued_at=now)
    waiting = [plain]
    next_id = 2
    overtaken: dict[int, datetime] = {}
    for _minute in range(60):
        waiting.append(
            QueuedTicket(id=next_id, service_id="general", issued_at=now, priority="elderly")
        )
        next_id += 1
        current = [
            QueuedTicket(
                q.id, q.service_id, q.issued_at, q.priority, q.slot_at, overtaken.get(q.id)
            )
            for q in waiting
        ]
        decision = choose_next(current, now, POLICY)
        assert decision is not None
        for tid in decision.newly_overtaken:
            overtaken.setdefault(tid, now)
        waiting = [q for q in waiting if q.id != decision.ticket.id]
        if decision.ticket.id == 1:
            break
        now += timedelta(minutes=1)
    else:
        pytest.fail("the plain ticket was never called")
    assert now - overtaken[1] <= timedelta(minutes=15)


def test_position_counts_who_goes_first() -> None:
    waiting = [t(1, 10), t(2, 5), t(3, 1, priority="elderly"), t(4, 0)]
    assert [position(q, waiting, NOW, POLICY) for q in waiting] == [2, 3, 1, 4]
