"""Ticket lifecycle: which action moves a ticket from which status to which."""

from __future__ import annotations

from .errors import Conflict
from .model import TicketStatus as S

# action -> (allowed source statuses, target status)
TRANSITIONS: dict[str, tuple[frozenset[S], S]] = {
    "call": (frozenset({S.WAITING}), S.CALLED),
    "recall": (frozenset({S.CALLED, S.RECALLED}), S.RECALLED),
    "start": (frozenset({S.CALLED, S.RECALLED}), S.SERVING),
    "finish": (frozenset({S.SERVING}), S.DONE),
    "no_show": (frozenset({S.CALLED, S.RECALLED}), S.NO_SHOW),
    "transfer": (frozenset({S.SERVING}), S.TRANSFERRED),
    "cancel": (frozenset({S.WAITING}), S.CANCELLED),
}


def transition(status: S | str, action: str) -> S:
    """The status after `action`, or a Conflict with a code naming what was expected."""
    sources, target = TRANSITIONS[action]
    current = S(status)
    if current not in sources:
        expected = "|".join(sorted(s.value for s in sources))
        raise Conflict(
            f"ticket_not_{_state_word(sources)}",
            f"cannot {action.replace('_', ' ')} a ticket that is {current.value}"
            f" (it must be {expected})",
            status=current.value,
            action=action,
        )
    return target


def _state_word(sources: frozenset[S]) -> str:
    if sources == {S.WAITING}:
        return "waiting"
    if sources == {S.SERVING}:
        return "serving"
    return "called"
