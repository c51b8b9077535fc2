import pytest

from office360.core.estimate import estimated_wait, mean_service_time


@pytest.mark.parametrize(
    ("recent", "default", "expected"),
    [([], 300, 300), ([120, 180], 300, 150), ([0, 100], 300, 100), ([-5], 240, 240)],
)
def test_mean_service_time(recent: list[float], default: float, expected: float) -> None:
    assert mean_service_time(recent, default) == expected


@pytest.mark.parametrize(
    ("ahead", "desks", "mean", "expected"),
    [
        (0, 2, 300, 0),
        (1, 1, 300, 300),
        (3, 1, 300, 900),
        (3, 2, 300, 600),  # two desks: the third person ahead is served in the second round
        (4, 2, 300, 600),
        (5, 0, 300, None),  # no open desk: no honest estimate
    ],
)
def test_estimated_wait(ahead: int, desks: int, mean: float, expected: int | None) -> None:
    assert estimated_wait(ahead, desks, mean) == expected
