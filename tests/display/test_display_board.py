"""The board as a pure function of events: tables of cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from display.board import (
    Announcement,
    BoardState,
    Waiting,
    apply_event,
    apply_snapshot,
    with_connection,
    with_message,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AT = "2026-03-02T08:59:50+00:00"


def called(
    event_id: int, number: str, desk: str = "3", kind: str = "ticket.called", **extra: Any
) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "office": "centro",
        "at": extra.pop("at", AT),
        "ticket": {
            "id": event_id * 10,
            "number": number,
            "service": "general",
            "desk": desk,
            "desk_name": f"Mostrador {desk}",
            "status": "called",
            "priority": None,
            "recalls": extra.pop("recalls", 0),
        },
    }


def queue_changed(event_id: int, *services: tuple[str, int, int | None]) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "queue.changed",
        "office": "centro",
        "at": AT,
        "services": [
            {"service": s, "waiting": w, "longest_wait_s": 30, "estimated_wait_s": e}
            for s, w, e in services
        ],
    }


def run(events: list[Any], last_calls: int = 3) -> tuple[BoardState, list[Announcement]]:
    state = BoardState(office="centro")
    spoken: list[Announcement] = []
    for event in events:
        state, announcement = apply_event(state, event, last_calls=last_calls, now=NOW)
        if announcement:
            spoken.append(announcement)
    return state, spoken


def numbers(state: BoardState) -> tuple[str | None, list[str]]:
    return (state.current.number if state.current else None), [c.number for c in state.previous]


BOARD_CASES = [
    ("empty", [], (None, [])),
    ("one call", [called(1, "A001")], ("A001", [])),
    (
        "newest first",
        [called(1, "A001"), called(2, "A002"), called(3, "B001")],
        ("B001", ["A002", "A001"]),
    ),
    (
        "only last_calls kept",
        [called(i, f"A00{i}") for i in range(1, 7)],
        ("A006", ["A005", "A004", "A003"]),
    ),
    (
        "recall moves to the top, listed once",
        [
            called(1, "A001"),
            called(2, "A002"),
            called(3, "A001", kind="ticket.recalled", recalls=1),
        ],
        ("A001", ["A002"]),
    ),
    (
        "transferred ticket called elsewhere keeps one row",
        [called(1, "A001", desk="1"), called(2, "A002"), called(3, "A001", desk="2")],
        ("A001", ["A002"]),
    ),
    (
        "replayed event ignored",
        [called(1, "A001"), called(2, "A002"), called(2, "A002")],
        ("A002", ["A001"]),
    ),
    ("older id ignored", [called(5, "A005"), called(4, "A004")], ("A005", [])),
    ("other office ignored", [{**called(1, "A001"), "office": "norte"}], (None, [])),
    (
        "unknown type ignored",
        [{"id": 1, "type": "ticket.exploded", "office": "centro"}],
        (None, []),
    ),
    ("garbage ignored", ["nonsense", None, 42, {"type": "ticket.called"}], (None, [])),
    (
        "call without ticket ignored",
        [{"id": 1, "type": "ticket.called", "office": "centro"}],
        (None, []),
    ),
    (
        "call without desk ignored",
        [{"id": 1, "type": "ticket.called", "office": "centro", "ticket": {"number": "A001"}}],
        (None, []),
    ),
    (
        "finished ticket stays on the board",
        [
            called(1, "A001"),
            {"id": 2, "type": "ticket.finished", "office": "centro", "ticket": {"number": "A001"}},
        ],
        ("A001", []),
    ),
]


@pytest.mark.parametrize(
    ("name", "events", "expected"), BOARD_CASES, ids=[c[0] for c in BOARD_CASES]
)
def test_board_table(name: str, events: list[Any], expected: tuple[str | None, list[str]]) -> None:
    assert numbers(run(events)[0]) == expected


ANNOUNCE_CASES = [
    ("a call is spoken", [called(1, "A001")], [("A001", "3", False)]),
    (
        "a recall is spoken again",
        [called(1, "A001"), called(2, "A001", kind="ticket.recalled")],
        [("A001", "3", False), ("A001", "3", True)],
    ),
    (
        "in order",
        [called(1, "A001"), called(2, "B001", desk="1")],
        [("A001", "3", False), ("B001", "1", False)],
    ),
    (
        "an old call caught up is shown, not spoken",
        [called(1, "A001", at="2026-03-02T08:40:00+00:00")],
        [],
    ),
    ("queue changes are silent", [queue_changed(1, ("general", 3, 600))], []),
    (
        "a replay is not spoken twice",
        [called(1, "A001"), called(1, "A001")],
        [("A001", "3", False)],
    ),
    ("unparseable time: spoken", [called(1, "A001", at="yesterday")], [("A001", "3", False)]),
]


@pytest.mark.parametrize(
    ("name", "events", "expected"), ANNOUNCE_CASES, ids=[c[0] for c in ANNOUNCE_CASES]
)
def test_announcement_table(
    name: str, events: list[Any], expected: list[tuple[str, str, bool]]
) -> None:
    spoken = run(events)[1]
    assert [(a.number, a.desk, a.recall) for a in spoken] == expected


def test_announcement_carries_desk_name_and_event_id() -> None:
    _, spoken = run([called(7, "C012", desk="2")])
    assert spoken == [Announcement("C012", "2", "Mostrador 2", False, 7)]


def test_calls_counter_moves_on_every_call_and_recall_only() -> None:
    state, _ = run(
        [
            called(1, "A001"),
            queue_changed(2, ("general", 1, None)),
            called(3, "A001", kind="ticket.recalled"),
        ]
    )
    assert state.calls == 2 and state.last_event_id == 3


def test_queue_changes_merge_per_service() -> None:
    state, _ = run(
        [
            queue_changed(1, ("general", 3, 600), ("taxes", 1, 120)),
            queue_changed(2, ("general", 2, 420)),
            {
                "id": 3,
                "type": "queue.changed",
                "office": "centro",
                "services": [{"service": "taxes", "waiting": -1}, "x"],
            },
        ]
    )
    assert state.waiting == (Waiting("general", 2, 420, 30), Waiting("taxes", 1, 120, 30))


def test_message_event_and_setter() -> None:
    state, _ = run(
        [
            {
                "id": 1,
                "type": "display.message",
                "office": "centro",
                "message": "  Cerrado el lunes  ",
            }
        ]
    )
    assert state.message == "Cerrado el lunes"
    assert with_message(state, "x" * 900).message == "x" * 500


def test_connection_state_keeps_the_board() -> None:
    state, _ = run([called(1, "A001")])
    lost = with_connection(state, "reconnecting")
    assert lost.connection == "reconnecting" and numbers(lost) == ("A001", [])
    assert with_connection(lost, "reconnecting") is lost


def ticket(number: str, desk: str, status: str, called_at: str | None) -> dict[str, Any]:
    return {
        "id": 1,
        "number": number,
        "service": "general",
        "desk": desk,
        "desk_name": f"Mostrador {desk}",
        "status": status,
        "recalls": 0,
        "called_at": called_at,
    }


def test_snapshot_seeds_an_empty_board_by_call_time() -> None:
    queue = {
        "office": "centro",
        "services": [
            {"service": "general", "waiting": 4, "longest_wait_s": 100, "estimated_wait_s": 900}
        ],
        "desks": [
            {
                "id": "1",
                "state": "open",
                "current": ticket("A003", "1", "serving", "2026-03-02T08:58:00+00:00"),
            },
            {
                "id": "2",
                "state": "open",
                "current": ticket("A004", "2", "called", "2026-03-02T08:59:00+00:00"),
            },
            {"id": "3", "state": "paused", "current": None},
            {
                "id": "4",
                "state": "open",
                "current": ticket("A001", "4", "done", "2026-03-02T08:50:00+00:00"),
            },
        ],
    }
    state = apply_snapshot(BoardState(office="centro"), queue)
    assert numbers(state) == ("A004", ["A003"])
    assert state.waiting == (Waiting("general", 4, 900, 100),)
    assert state.calls == 0  # a snapshot does not blink or speak


def test_snapshot_does_not_override_live_calls() -> None:
    state, _ = run([called(1, "B001")])
    queue = {"services": [], "desks": [{"id": "2", "current": ticket("A004", "2", "called", AT)}]}
    assert numbers(apply_snapshot(state, queue)) == ("B001", [])
    assert apply_snapshot(state, "not a dict") is state  # type: ignore[arg-type]


def test_last_calls_zero_keeps_only_the_current() -> None:
    state, _ = run([called(1, "A001"), called(2, "A002")], last_calls=0)
    assert numbers(state) == ("A002", [])
