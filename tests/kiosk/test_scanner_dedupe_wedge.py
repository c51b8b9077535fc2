"""The pure parts: the dedupe rule and the keyboard-wedge accumulator (clock passed in)."""

from __future__ import annotations

import pytest

from kiosk.scanner import Deduper, ScannerError, WedgeAccumulator


def test_a_code_held_up_is_reported_once() -> None:
    dedupe = Deduper(window_s=3.0)
    seen = [dedupe.accept("BK-1", t / 10) for t in range(0, 100)]  # 10 s of frames, 10 a second
    assert seen == [True] + [False] * 99


@pytest.mark.parametrize(
    ("sightings", "expected"),
    [
        ([("A", 0.0), ("A", 2.9)], [True, False]),
        ([("A", 0.0), ("A", 3.1)], [True, True]),
        ([("A", 0.0), ("B", 0.5), ("A", 1.0)], [True, True, False]),
        ([("A", 0.0), ("A", 2.0), ("A", 4.0), ("A", 7.5)], [True, False, False, True]),
    ],
)
def test_dedupe_window_table(sightings: list[tuple[str, float]], expected: list[bool]) -> None:
    dedupe = Deduper(window_s=3.0)
    assert [dedupe.accept(code, now) for code, now in sightings] == expected


def test_dedupe_forgets_old_codes_and_on_request() -> None:
    dedupe = Deduper(window_s=1.0)
    for i in range(1000):
        dedupe.accept(f"code-{i}", float(i))
    assert len(dedupe) <= 2  # memory stays flat over days
    dedupe.accept("X", 2000.0)
    dedupe.forget()
    assert dedupe.accept("X", 2000.1) is True


def test_dedupe_rejects_a_negative_window() -> None:
    with pytest.raises(ScannerError) as caught:
        Deduper(-1)
    assert caught.value.code == "setting_invalid"


def test_wedge_burst_then_enter_is_a_code() -> None:
    wedge = WedgeAccumulator()
    assert wedge.feed_text("BK-7Q2K91\r", now=100.0) == ["BK-7Q2K91"]
    assert wedge.pending == ""


def test_wedge_two_scans_in_a_row() -> None:
    wedge = WedgeAccumulator()
    assert wedge.feed_text("AAAA1\nBBBB2\n", now=5.0) == ["AAAA1", "BBBB2"]


def test_wedge_ignores_a_person_typing() -> None:
    wedge = WedgeAccumulator(max_gap_s=0.08)
    keys = ["1", "2", "3", "4", "5", "enter"]
    results = [wedge.feed(key, 10.0 + i * 0.25) for i, key in enumerate(keys)]  # 4 keys a second
    assert results == [None] * 6


def test_wedge_a_pause_drops_what_came_before() -> None:
    wedge = WedgeAccumulator(max_gap_s=0.08)
    wedge.feed("x", 0.0)  # someone touched the keyboard
    assert wedge.feed_text("CODE-42\n", now=3.0) == ["CODE-42"]


def test_wedge_a_slow_enter_after_a_burst_is_not_a_code() -> None:
    wedge = WedgeAccumulator(max_gap_s=0.08)
    wedge.feed_text("CODE-42", now=0.0)
    assert wedge.feed("enter", 1.0) is None


def test_wedge_short_bursts_and_non_character_keys() -> None:
    wedge = WedgeAccumulator(min_length=4)
    assert wedge.feed_text("ab\n", now=0.0) == []
    for i, key in enumerate(["shift", "A", "shift", "B", "C", "D", "numpadenter"]):
        code = wedge.feed(key, 1.0 + i * 0.001)
    assert code == "ABCD"


def test_wedge_bounds_its_buffer() -> None:
    wedge = WedgeAccumulator(max_length=8)
    wedge.feed_text("0123456789ABCDEF", now=0.0)
    assert len(wedge.pending) <= 8


def test_wedge_rejects_bad_settings() -> None:
    with pytest.raises(ScannerError) as caught:
        WedgeAccumulator(max_gap_s=0)
    assert caught.value.code == "setting_invalid"
