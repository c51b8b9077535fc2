from datetime import UTC, date, datetime

import pytest

from office360.core.errors import Invalid
from office360.core.numbering import format_number, local_day, spoken_number


@pytest.mark.parametrize(
    ("prefix", "seq", "expected"),
    [
        ("A", 1, "A001"),
        ("A", 17, "A017"),
        ("B", 999, "B999"),
        ("C", 1000, "C1000"),
        ("AB", 5, "AB005"),
    ],
)
def test_format_number(prefix: str, seq: int, expected: str) -> None:
    assert format_number(prefix, seq) == expected


def test_sequence_must_be_positive() -> None:
    with pytest.raises(Invalid):
        format_number("A", 0)


@pytest.mark.parametrize(
    ("utc", "zone", "day"),
    [
        # 22:59 UTC is 23:59 in Madrid (winter): still the same day there
        (datetime(2026, 1, 10, 22, 59, tzinfo=UTC), "Europe/Madrid", date(2026, 1, 10)),
        # 23:00 UTC is midnight in Madrid: the numbering day has changed
        (datetime(2026, 1, 10, 23, 0, tzinfo=UTC), "Europe/Madrid", date(2026, 1, 11)),
        # summer time: midnight in Madrid is 22:00 UTC
        (datetime(2026, 7, 10, 22, 0, tzinfo=UTC), "Europe/Madrid", date(2026, 7, 11)),
        (datetime(2026, 7, 10, 22, 0, tzinfo=UTC), "Atlantic/Canary", date(2026, 7, 10)),
        (datetime(2026, 7, 10, 23, 0, tzinfo=UTC), "Atlantic/Canary", date(2026, 7, 11)),
    ],
)
def test_local_day_follows_the_office_midnight(utc: datetime, zone: str, day: date) -> None:
    assert local_day(utc, zone) == day


def test_naive_clock_is_refused() -> None:
    with pytest.raises(Invalid):
        local_day(datetime(2026, 1, 1), "Europe/Madrid")


@pytest.mark.parametrize(("number", "spoken"), [("A017", ("A", 17)), ("AB100", ("AB", 100))])
def test_spoken_number(number: str, spoken: tuple[str, int]) -> None:
    assert spoken_number(number) == spoken
