"""Event types the hub publishes. Names are past tense; payloads never hold personal data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TICKET_ISSUED = "ticket.issued"
TICKET_CALLED = "ticket.called"
TICKET_RECALLED = "ticket.recalled"
TICKET_STARTED = "ticket.started"
TICKET_FINISHED = "ticket.finished"
TICKET_NO_SHOW = "ticket.no_show"
TICKET_TRANSFERRED = "ticket.transferred"
TICKET_CANCELLED = "ticket.cancelled"
QUEUE_CHANGED = "queue.changed"
DESK_PAUSED = "desk.paused"
DESK_RESUMED = "desk.resumed"
DISPLAY_MESSAGE = "display.message"

ALL = (
    TICKET_ISSUED,
    TICKET_CALLED,
    TICKET_RECALLED,
    TICKET_STARTED,
    TICKET_FINISHED,
    TICKET_NO_SHOW,
    TICKET_TRANSFERRED,
    TICKET_CANCELLED,
    QUEUE_CHANGED,
    DESK_PAUSED,
    DESK_RESUMED,
    DISPLAY_MESSAGE,
)


@dataclass(frozen=True)
class Event:
    type: str
    office: str
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    at: str | None = None
