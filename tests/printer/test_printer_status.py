"""DLE EOT replies mapped to one status, and the fake printer's replies mapped back."""

from __future__ import annotations

import pytest

from printer.status import PrinterStatus, query, replies_for


def asker(replies: dict[int, int]):  # type: ignore[no-untyped-def]
    asked: list[int] = []

    def ask(n: int) -> int:
        asked.append(n)
        return replies[n]

    return ask, asked


@pytest.mark.parametrize(
    ("replies", "expected", "asked"),
    [
        ({1: 0x12, 4: 0x12}, PrinterStatus.ok, [1, 4]),
        ({1: 0x12, 4: 0x1E}, PrinterStatus.paper_low, [1, 4]),
        ({1: 0x12, 4: 0x7E}, PrinterStatus.paper_out, [1, 4]),
        ({1: 0x1A, 2: 0x16}, PrinterStatus.cover_open, [1, 2]),
        ({1: 0x1A, 2: 0x32}, PrinterStatus.paper_out, [1, 2]),
        ({1: 0x1A, 2: 0x52}, PrinterStatus.error, [1, 2]),
        ({1: 0x1A, 2: 0x12, 4: 0x12}, PrinterStatus.offline, [1, 2, 4]),
        ({1: 0x1A, 2: 0x12, 4: 0x72}, PrinterStatus.paper_out, [1, 2, 4]),
        ({1: 0xFF}, PrinterStatus.error, [1]),
        ({1: 0x12, 4: 0x00}, PrinterStatus.error, [1, 4]),
    ],
)
def test_replies_map_to_status(replies: dict[int, int], expected: str, asked: list[int]) -> None:
    ask, seen = asker(replies)
    assert query(ask) == expected
    assert seen == asked


@pytest.mark.parametrize("status", [s for s in PrinterStatus if s is not PrinterStatus.unknown])
def test_fake_replies_round_trip(status: PrinterStatus) -> None:
    ask, _ = asker(replies_for(status))
    assert query(ask) == status


def test_which_states_may_print() -> None:
    assert {s for s in PrinterStatus if s.can_print} == {"ok", "paper_low", "unknown"}
