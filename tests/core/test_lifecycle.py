import pytest

from office360.core.errors import Conflict
from office360.core.lifecycle import transition
from office360.core.model import TicketStatus as S

ALLOWED = [
    (S.WAITING, "call", S.CALLED),
    (S.CALLED, "recall", S.RECALLED),
    (S.RECALLED, "recall", S.RECALLED),
    (S.CALLED, "start", S.SERVING),
    (S.RECALLED, "start", S.SERVING),
    (S.SERVING, "finish", S.DONE),
    (S.CALLED, "no_show", S.NO_SHOW),
    (S.RECALLED, "no_show", S.NO_SHOW),
    (S.SERVING, "transfer", S.TRANSFERRED),
    (S.WAITING, "cancel", S.CANCELLED),
]

REFUSED = [
    (S.WAITING, "finish", "ticket_not_serving"),
    (S.WAITING, "start", "ticket_not_called"),
    (S.WAITING, "recall", "ticket_not_called"),
    (S.SERVING, "no_show", "ticket_not_called"),
    (S.SERVING, "recall", "ticket_not_called"),
    (S.CALLED, "cancel", "ticket_not_waiting"),
    (S.DONE, "call", "ticket_not_waiting"),
    (S.DONE, "finish", "ticket_not_serving"),
    (S.CANCELLED, "call", "ticket_not_waiting"),
    (S.NO_SHOW, "start", "ticket_not_called"),
    (S.TRANSFERRED, "finish", "ticket_not_serving"),
    (S.CALLED, "transfer", "ticket_not_serving"),
]


@pytest.mark.parametrize(("source", "action", "target"), ALLOWED)
def test_allowed_transitions(source: S, action: str, target: S) -> None:
    assert transition(source, action) is target


@pytest.mark.parametrize(("source", "action", "code"), REFUSED)
def test_illegal_transitions_raise_coded_conflict(source: S, action: str, code: str) -> None:
    with pytest.raises(Conflict) as info:
        transition(source, action)
    assert info.value.code == code
    assert source.value in info.value.message
