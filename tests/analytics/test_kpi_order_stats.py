"""Percentiles read across sorted cells equal those of the merged, sorted values."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from office360.core.kpi import (
    TicketRecord,
    compute_kpis,
    kth_of_runs,
    percentile,
    quantile_of_runs,
)

from .scenario import at


@pytest.mark.parametrize(
    "runs",
    [
        [[1.0], [2.0], [3.0]],
        [[5.0, 5.0, 5.0], [5.0]],  # all equal
        [[0.0, 0.0, 1.0], [0.0, 2.0]],  # repeats across runs
        [[-600.0, -10.0], [180.0], [480.0, 481.0]],  # negative values (punctuality)
        [[1e-6, 2e-6], [1.5e-6]],  # a microsecond apart
        [[0.1, 0.2, 0.30000000000000004], [0.3]],  # adjacent floats
    ],
)
def test_kth_of_small_runs(runs):
    merged = sorted(v for r in runs for v in r)
    assert [kth_of_runs(runs, k) for k in range(len(merged))] == merged


def test_random_runs_match_a_full_sort():
    rng = random.Random(11)
    for _ in range(200):
        runs = [
            sorted(round(rng.expovariate(1 / 300), rng.choice((0, 1, 6))) for _ in range(size))
            for size in (rng.randint(1, 40) for _ in range(rng.randint(1, 12)))
        ]
        merged = sorted(v for r in runs for v in r)
        k = rng.randrange(len(merged))
        assert kth_of_runs(runs, k) == merged[k]
        for q in (0.0, 0.5, 0.9, 1.0):
            assert quantile_of_runs(runs, q) == pytest.approx(percentile(merged, q), abs=1e-9)


def test_report_matches_a_brute_force_count():
    rng = random.Random(4)
    records = []
    for n in range(3000):
        issued = at("08:00") + timedelta(days=n % 5, seconds=rng.uniform(0, 7 * 3600))
        called = issued + timedelta(seconds=round(rng.expovariate(1 / 400)))
        records.append(
            TicketRecord(
                "centro",
                rng.choice(("a", "b", "c")),
                rng.choice(("1", "2", "3", "4")),
                "walk_in",
                issued,
                called,
                status="no_show",
            )
        )
    report = compute_kpis(records)
    for group in report.groups:
        if group.dimension == "office":
            members = records
        elif group.dimension == "service":
            members = [r for r in records if r.service == group.key]
        elif group.dimension == "desk":
            members = [r for r in records if r.desk == group.key]
        elif group.dimension == "hour":
            members = [r for r in records if r.issued_at.hour == int(group.key)]
        else:
            members = [r for r in records if r.issued_at.date().isoformat() == group.key]
        waits = sorted((r.called_at - r.issued_at).total_seconds() for r in members)
        assert group.waiting.count == len(waits) == group.issued
        assert group.waiting.median == pytest.approx(percentile(waits, 0.5))
        assert group.waiting.p90 == pytest.approx(percentile(waits, 0.9))
        assert group.waiting.mean == pytest.approx(sum(waits) / len(waits))
        assert group.within_target == pytest.approx(sum(w <= 600 for w in waits) / len(waits))
