"""The call board as a pure function of the hub's events. No Kivy here.

`apply_event(state, event, ...)` returns the next state and, for a call or a recall young
enough to be spoken, the announcement to make. Events the board cannot use are ignored, so a
malformed or unknown event never breaks the screen. Tickets are keyed by number: a transferred
ticket keeps its number and is listed once, at the desk that called it last.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

CALL_EVENTS = frozenset({"ticket.called", "ticket.recalled"})
QUEUE_CHANGED = "queue.changed"
MESSAGE_SET = "display.message"
"""{"type": "display.message", "message": "..."} (POST /api/v1/display/message) sets the line."""
CALLED_STATUSES = frozenset({"called", "recalled", "serving"})


@dataclass(frozen=True)
class Call:
    number: str
    desk: str
    desk_name: str
    service: str = ""
    recalls: int = 0
    ticket_id: int | None = None
    at: str = ""


@dataclass(frozen=True)
class Waiting:
    service: str
    waiting: int
    estimated_wait_s: int | None = None
    longest_wait_s: int | None = None


@dataclass(frozen=True)
class Announcement:
    number: str
    desk: str
    desk_name: str
    recall: bool = False
    event_id: int | None = None


@dataclass(frozen=True)
class BoardState:
    office: str = ""
    current: Call | None = None
    previous: tuple[Call, ...] = ()
    """Earlier calls, newest first; never the current one."""
    waiting: tuple[Waiting, ...] = ()
    message: str = ""
    connection: str = "connecting"
    last_event_id: int | None = None
    calls: int = 0
    """How many calls and recalls the board has shown; the screen blinks when it changes."""


def apply_event(
    state: BoardState,
    event: Mapping[str, Any],
    *,
    last_calls: int = 5,
    now: datetime | None = None,
    announce_max_age_s: float = 60.0,
) -> tuple[BoardState, Announcement | None]:
    if not isinstance(event, Mapping):
        return state, None
    event_id = event.get("id")
    if not isinstance(event_id, int) or isinstance(event_id, bool):
        event_id = None
    if event_id is not None and state.last_event_id is not None and event_id <= state.last_event_id:
        return state, None  # replayed twice: already on the board
    office = event.get("office")
    if state.office and isinstance(office, str) and office != state.office:
        return state, None
    if event_id is not None:
        state = replace(state, last_event_id=event_id)
    kind = event.get("type")
    if kind in CALL_EVENTS:
        call = _call(event.get("ticket"), at=event.get("at"))
        if call is None:
            return state, None
        state = _with_call(state, call, last_calls)
        if not _young(event.get("at"), now, announce_max_age_s):
            return state, None
        recall = kind == "ticket.recalled"
        return state, Announcement(call.number, call.desk, call.desk_name, recall, event_id)
    if kind == QUEUE_CHANGED:
        return _with_waiting(state, event.get("services")), None
    if kind == MESSAGE_SET and isinstance(event.get("message"), str):
        return replace(state, message=event["message"].strip()[:500]), None
    return state, None


def apply_snapshot(
    state: BoardState, queue: Mapping[str, Any], *, last_calls: int = 5
) -> BoardState:
    """Seed an empty board from GET /api/v1/queue: who each desk has called, and the counts."""
    if not isinstance(queue, Mapping):
        return state
    state = _with_waiting(state, queue.get("services"))
    if state.current is not None:
        return state  # the event stream already knows better
    desks = queue.get("desks")
    calls: list[Call] = []
    for desk in desks if isinstance(desks, list) else []:
        ticket = desk.get("current") if isinstance(desk, Mapping) else None
        if isinstance(ticket, Mapping) and ticket.get("status") in CALLED_STATUSES:
            call = _call(ticket, at=ticket.get("called_at"))
            if call is not None:
                calls.append(call)
    for call in sorted(calls, key=lambda c: c.at):
        state = _with_call(state, call, last_calls, count=False)
    return state


def new_history(state: BoardState, last_event_id: int) -> BoardState:
    """The hub's ids started over below the board's (its database restored or reset): forget
    the calls and counts of the old history and follow the hub from `last_event_id`. A fresh
    /queue snapshot (apply_snapshot) then says who is called now."""
    return replace(state, current=None, previous=(), waiting=(), last_event_id=last_event_id)


def with_connection(state: BoardState, connection: str) -> BoardState:
    return state if state.connection == connection else replace(state, connection=connection)


def with_message(state: BoardState, message: str) -> BoardState:
    return replace(state, message=message.strip()[:500])


def _call(ticket: Any, *, at: Any) -> Call | None:
    if not isinstance(ticket, Mapping):
        return None
    number, desk = ticket.get("number"), ticket.get("desk")
    if not isinstance(number, str) or not number or desk in (None, ""):
        return None
    desk_name = ticket.get("desk_name")
    recalls = ticket.get("recalls")
    ticket_id = ticket.get("id")
    return Call(
        number=number[:8],
        desk=str(desk)[:40],
        desk_name=str(desk_name)[:40] if desk_name else str(desk)[:40],
        service=str(ticket.get("service") or ""),
        recalls=recalls if isinstance(recalls, int) else 0,
        ticket_id=ticket_id if isinstance(ticket_id, int) else None,
        at=at if isinstance(at, str) else "",
    )


def _with_call(state: BoardState, call: Call, last_calls: int, count: bool = True) -> BoardState:
    earlier = [state.current, *state.previous] if state.current else list(state.previous)
    previous = tuple(c for c in earlier if c.number != call.number)[: max(0, last_calls)]
    return replace(state, current=call, previous=previous, calls=state.calls + (1 if count else 0))


def _with_waiting(state: BoardState, services: Any) -> BoardState:
    """queue.changed names only the services that changed: merge, keep the others."""
    if not isinstance(services, list):
        return state
    merged = {w.service: w for w in state.waiting}
    for item in services:
        if not isinstance(item, Mapping) or not isinstance(item.get("service"), str):
            continue
        waiting = item.get("waiting")
        if not isinstance(waiting, int) or waiting < 0:
            continue
        merged[item["service"]] = Waiting(
            item["service"],
            waiting,
            _seconds(item.get("estimated_wait_s")),
            _seconds(item.get("longest_wait_s")),
        )
    return replace(state, waiting=tuple(merged.values()))


def _seconds(value: Any) -> int | None:
    return (
        int(value)
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        else None
    )


def _young(at: Any, now: datetime | None, max_age_s: float) -> bool:
    if now is None or not isinstance(at, str):
        return True
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        return True
    if when.tzinfo is None or now.tzinfo is None:
        return True
    return (now - when).total_seconds() <= max_age_s


def describe(board: BoardState) -> dict[str, Any]:
    """The board as plain JSON-ready data, for logs and test probes."""
    return {
        "current": board.current.number if board.current else None,
        "desk": board.current.desk if board.current else None,
        "previous": [c.number for c in board.previous],
        "waiting": {w.service: w.waiting for w in board.waiting},
        "connection": board.connection,
        "message": board.message,
        "last_event_id": board.last_event_id,
        "calls": board.calls,
    }
