"""CSV rows read back with the csv module, the JSON form, and comparing two periods."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import timedelta

import pytest

from office360.core.errors import Invalid
from office360.core.kpi import ROW_FIELDS, compare, compute_kpis

from .scenario import scenario


@pytest.fixture(scope="module")
def report():
    return compute_kpis(scenario())


def test_csv_reads_back(report, tmp_path):
    path = tmp_path / "kpi.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        report.write_csv(stream)
    with path.open(newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == ROW_FIELDS
        rows = {(r["dimension"], r["key"]): r for r in reader}
    assert len(rows) == len(report.groups)
    office = rows[("office", "")]
    assert office["office"] == "centro"
    assert int(office["issued"]) == 8
    assert float(office["wait_mean_s"]) == pytest.approx(505.7)  # 3540 / 7, to 0.1 s
    assert float(office["wait_p90_s"]) == 1068.0
    assert float(office["within_target_share"]) == pytest.approx(0.5714)
    assert office["target_met"] == "False"
    assert float(office["share_phone"]) == 0.125
    assert float(office["punctuality_mean_min"]) == pytest.approx(0.33)
    never_called = rows[("desk", "")]
    assert never_called["called"] == "0"
    assert never_called["wait_mean_s"] == ""  # undefined, not zero
    assert never_called["target_met"] == ""
    assert rows[("day", "2024-03-05")]["transferred_in"] == "1"


def test_rows_match_the_dataclasses(report):
    rows = report.to_rows()
    assert [tuple(r) for r in rows] == [ROW_FIELDS] * len(rows)
    taxes = next(r for r in rows if r["key"] == "taxes")
    group = report.group("service", "centro", "taxes")
    assert taxes["wait_median_s"] == group.waiting.median == 720
    assert taxes["transfers"] == group.transfers == 1


def test_json_round_trip(report):
    data = json.loads(report.to_json())
    assert data["service_level"] == {"target_s": 600.0, "goal": 0.8}
    assert (data["first_day"], data["last_day"]) == ("2024-03-04", "2024-03-05")
    assert len(data["groups"]) == len(report.groups)
    office = data["groups"][0]
    assert office["dimension"] == "office"
    assert office["waiting"]["median"] == 240
    assert office["channels"] == {"walk_in": 3, "appointment": 3, "phone": 1, "web": 1}
    assert office["punctuality"]["count"] == 3


def faster(records, minutes: int):
    """The same tickets, each called `minutes` sooner (but never before it was issued)."""
    out = []
    for r in records:
        if r.called_at is None:
            out.append(r)
            continue
        called = max(r.issued_at, r.called_at - timedelta(minutes=minutes))
        out.append(replace(r, called_at=called))
    return out


def test_compare_gives_b_minus_a(report):
    after = compute_kpis(faster(scenario(), 2))
    comparison = compare(report, after)
    office = comparison.group("office", "centro")
    assert office.in_a and office.in_b
    issued = office.metric("issued")
    assert (issued.a, issued.b, issued.delta, issued.change) == (8, 8, 0, 0)
    # every called ticket waits 120 s less except T8 (60 s wait): 3540 -> 3540 - 6*120 - 60
    wait = office.metric("wait_mean_s")
    assert wait.a == pytest.approx(505.7)
    assert wait.b == pytest.approx(2760 / 7, abs=0.05)
    assert wait.delta == pytest.approx(wait.b - wait.a)
    assert wait.change == pytest.approx(wait.delta / wait.a)
    met = office.metric("target_met")
    assert (met.a, met.b, met.delta) == (False, False, None)  # booleans are shown, not subtracted
    assert comparison.group("day", "centro", "2024-03-04") is None  # days are left out


def test_compare_keeps_groups_found_in_one_period(report):
    only_general = compute_kpis([r for r in scenario() if r.service == "general"])
    comparison = compare(report, only_general, dimensions=("service",))
    taxes = comparison.group("service", "centro", "taxes")
    assert (taxes.in_a, taxes.in_b) == (True, False)
    issued = taxes.metric("issued")
    assert (issued.a, issued.b, issued.delta) == (3, None, None)
    assert {g.dimension for g in comparison.groups} == {"service"}


def test_comparison_rows_and_json(report):
    comparison = compare(report, compute_kpis(faster(scenario(), 1)))
    rows = comparison.to_rows()
    assert set(rows[0]) == {"dimension", "office", "key", "metric", "a", "b", "delta", "change"}
    waits = [r for r in rows if r["metric"] == "wait_mean_s" and r["dimension"] == "office"]
    assert len(waits) == 1 and waits[0]["delta"] < 0
    data = json.loads(comparison.to_json())
    assert data["groups"][0]["metrics"][0]["metric"] == "issued"


def test_compare_rejects_unknown_dimension(report):
    with pytest.raises(Invalid) as caught:
        compare(report, report, dimensions=("week",))
    assert caught.value.code == "kpi_dimension_unknown"
