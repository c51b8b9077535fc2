"""KPIs of the hand-worked scenario in scenario.py: each expected figure is computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from office360.core.errors import Invalid
from office360.core.kpi import (
    ServiceLevel,
    TicketRecord,
    compute_kpis,
    percentile,
)

from .scenario import at, scenario


@pytest.fixture(scope="module")
def report():
    return compute_kpis(scenario(), service_level=ServiceLevel(600, 0.8), punctuality_grace_s=300)


def value(group, field: str):
    """A field of a GroupKpi, reaching into its distributions with dots."""
    for part in field.split("."):
        group = group.channel_share(part[6:]) if part.startswith("share_") else getattr(group, part)
    return group


CASES = [
    # dimension, key, field, expected
    ("office", "", "issued", 8),
    ("office", "", "called", 7),
    ("office", "", "served", 5),
    ("office", "", "no_shows", 1),
    ("office", "", "cancelled", 1),
    ("office", "", "transfers", 1),
    ("office", "", "transferred_in", 1),
    ("office", "", "recalls", 1),
    # waits sorted: 60 120 120 240 780 900 1320
    ("office", "", "waiting.count", 7),
    ("office", "", "waiting.mean", 3540 / 7),
    ("office", "", "waiting.median", 240),
    ("office", "", "waiting.p90", 900 + 0.4 * (1320 - 900)),
    ("office", "", "within_target", 4 / 7),
    ("office", "", "target_met", False),
    # service times sorted: 300 300 480 600 600 1200
    ("office", "", "service.count", 6),
    ("office", "", "service.mean", 580),
    ("office", "", "service.median", 540),
    ("office", "", "service.p90", 900),
    # call to arrival: 30 60 60 60 60 60
    ("office", "", "call_to_arrival.mean", 55),
    ("office", "", "call_to_arrival.median", 60),
    ("office", "", "call_to_arrival.p90", 60),
    ("office", "", "no_show_rate", 1 / 7),
    ("office", "", "transfer_rate", 1 / 6),
    ("office", "", "share_walk_in", 3 / 8),
    ("office", "", "share_appointment", 3 / 8),
    ("office", "", "share_phone", 1 / 8),
    ("office", "", "share_web", 1 / 8),
    # check-in minus slot: -600 (early), +180 (on time), +480 (late)
    ("office", "", "punctuality.count", 3),
    ("office", "", "punctuality.early_share", 1 / 3),
    ("office", "", "punctuality.on_time_share", 1 / 3),
    ("office", "", "punctuality.late_share", 1 / 3),
    ("office", "", "punctuality.mean_minutes", 20 / 60),
    # general: T1 T2 T3 T4 T8, waits 60 120 240 780 900
    ("service", "general", "issued", 5),
    ("service", "general", "waiting.mean", 420),
    ("service", "general", "waiting.median", 240),
    ("service", "general", "waiting.p90", 780 + 0.6 * 120),
    ("service", "general", "within_target", 3 / 5),
    ("service", "general", "service.median", 540),
    ("service", "general", "no_show_rate", 1 / 5),
    ("service", "general", "punctuality.early_share", 1.0),
    ("service", "general", "punctuality.mean_minutes", -10),
    ("service", "general", "share_walk_in", 3 / 5),
    # taxes: T5 T6 T7, waits 120 1320, service 1200 300
    ("service", "taxes", "issued", 3),
    ("service", "taxes", "called", 2),
    ("service", "taxes", "cancelled", 1),
    ("service", "taxes", "waiting.median", 720),
    ("service", "taxes", "waiting.p90", 120 + 0.9 * 1200),
    ("service", "taxes", "service.p90", 300 + 0.9 * 900),
    ("service", "taxes", "transfer_rate", 1 / 2),
    ("service", "taxes", "punctuality.late_share", 1 / 2),
    ("service", "taxes", "punctuality.mean_minutes", 5.5),
    # desk 1: T1 T2 T5 T8, waits 60 120 240 780
    ("desk", "1", "issued", 4),
    ("desk", "1", "waiting.mean", 300),
    ("desk", "1", "waiting.median", 180),
    ("desk", "1", "waiting.p90", 240 + 0.7 * 540),
    ("desk", "1", "within_target", 0.75),
    ("desk", "1", "target_met", False),
    ("desk", "1", "call_to_arrival.mean", 52.5),
    # desk 2: T3 T4 T7, waits 120 900 1320
    ("desk", "2", "waiting.mean", 780),
    ("desk", "2", "waiting.p90", 900 + 0.8 * 420),
    ("desk", "2", "no_show_rate", 1 / 3),
    # never called: no desk, nothing to average
    ("desk", "", "issued", 1),
    ("desk", "", "called", 0),
    ("desk", "", "waiting.mean", None),
    ("desk", "", "within_target", None),
    ("desk", "", "target_met", None),
    ("desk", "", "no_show_rate", None),
    ("desk", "", "share_web", 1.0),
    ("hour", "08", "issued", 1),
    ("hour", "08", "no_show_rate", 1.0),
    ("hour", "09", "issued", 4),
    ("hour", "09", "waiting.mean", 300),
    ("hour", "10", "issued", 3),
    ("day", "2024-03-04", "issued", 7),
    ("day", "2024-03-04", "waiting.mean", 580),
    ("day", "2024-03-04", "waiting.median", 510),
    ("day", "2024-03-05", "issued", 1),
    ("day", "2024-03-05", "waiting.mean", 60),
    ("day", "2024-03-05", "transferred_in", 1),
]


@pytest.mark.parametrize(("dimension", "key", "field", "expected"), CASES)
def test_kpi_by_hand(report, dimension, key, field, expected):
    group = report.group(dimension, "centro", key)
    assert group is not None, f"no {dimension} group {key!r}"
    got = value(group, field)
    if expected is None or isinstance(expected, bool):
        assert got is expected
    else:
        assert got == pytest.approx(expected)


def test_groups_are_complete_and_ordered(report):
    keys = [(g.dimension, g.key) for g in report.groups]
    assert keys == [
        ("office", ""),
        ("service", "general"),
        ("service", "taxes"),
        ("desk", ""),
        ("desk", "1"),
        ("desk", "2"),
        ("hour", "08"),
        ("hour", "09"),
        ("hour", "10"),
        ("day", "2024-03-04"),
        ("day", "2024-03-05"),
    ]
    assert (report.first_day, report.last_day) == (date(2024, 3, 4), date(2024, 3, 5))
    # every dimension partitions the same tickets
    for dimension in ("service", "desk", "hour", "day"):
        assert sum(g.issued for g in report.select(dimension)) == 8


@pytest.mark.parametrize(
    ("level", "within", "met"),
    [
        (ServiceLevel(600, 0.5), 4 / 7, True),  # 4/7 >= 50 %
        (ServiceLevel(120, 0.8), 3 / 7, False),  # the target itself counts as within
        (ServiceLevel(1320, 1.0), 1.0, True),
        (ServiceLevel(59, 0.1), 0.0, False),
    ],
)
def test_service_level_is_configurable(level, within, met):
    office = compute_kpis(scenario(), service_level=level).group("office", "centro")
    assert office.within_target == pytest.approx(within)
    assert office.target_met is met


@pytest.mark.parametrize(
    ("grace_s", "early", "on_time", "late"),
    [(0, 1 / 3, 0, 2 / 3), (180, 1 / 3, 1 / 3, 1 / 3), (600, 0, 1, 0)],
)
def test_punctuality_grace(grace_s, early, on_time, late):
    p = compute_kpis(scenario(), punctuality_grace_s=grace_s).group("office", "centro").punctuality
    assert (p.early_share, p.on_time_share, p.late_share) == pytest.approx((early, on_time, late))


@pytest.mark.parametrize(
    ("issued", "called", "slot", "expected_wait"),
    [
        ("09:00", "09:10", None, 600),  # walk-in: issue to first call
        ("09:00", "09:10", "09:05", 300),  # checked in before the slot: the clock starts at it
        ("09:07", "09:10", "09:05", 180),  # checked in after the slot: from the check-in
        ("09:00", "09:03", "09:05", 0),  # called before its slot: no queueing at all
        ("09:10", "09:09", None, 0),  # clock skew never gives a negative wait
    ],
)
def test_waiting_time_definition(issued, called, slot, expected_wait):
    record = TicketRecord(
        "centro",
        "general",
        "1",
        "appointment" if slot else "walk_in",
        at(issued),
        at(called),
        status="no_show",
        slot_at=at(slot) if slot else None,
    )
    office = compute_kpis([record]).group("office", "centro")
    assert office.waiting.mean == expected_wait


def test_offices_are_kept_apart():
    other = TicketRecord("norte", "general", "1", "walk_in", at("09:00"), at("09:30"))
    report = compute_kpis([*scenario(), other])
    assert report.group("office", "centro").issued == 8
    assert report.group("office", "norte").waiting.mean == 1800
    assert report.group("service", "norte", "general").issued == 1
    assert len(report.select("office")) == 2


def test_no_records_give_an_empty_report():
    report = compute_kpis([])
    assert report.groups == ()
    assert report.first_day is None
    assert report.to_rows() == []


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0], 0.5, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 0.9, 3.7),
        ([1.0, 2.0, 3.0, 4.0], 1.0, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 0.0, 1.0),
    ],
)
def test_percentile(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda: TicketRecord("c", "s", None, "fax", at("09:00")), "kpi_channel_unknown"),
        (
            lambda: TicketRecord("c", "s", None, "web", at("09:00"), status="lost"),
            "kpi_status_unknown",
        ),
        (lambda: TicketRecord("c", "s", None, "web", None), "kpi_issued_at_missing"),  # type: ignore[arg-type]
        (
            lambda: TicketRecord("c", "s", None, "web", at("09:00"), recalls=-1),
            "kpi_recalls_negative",
        ),
        (
            lambda: TicketRecord("c", "s", "1", "web", at("09:00"), "09:05"),  # type: ignore[arg-type]
            "kpi_time_invalid",
        ),
        (
            lambda: compute_kpis(
                [TicketRecord("c", "s", "1", "web", at("09:00"), at("09:05").astimezone())]
            ),
            "kpi_time_mixed",
        ),
        (lambda: ServiceLevel(0, 0.8), "service_level_invalid"),
        (lambda: ServiceLevel(600, 1.5), "service_level_invalid"),
        (lambda: compute_kpis([], punctuality_grace_s=-1), "punctuality_grace_invalid"),
    ],
)
def test_bad_input_gets_a_coded_error(make, code):
    with pytest.raises(Invalid) as caught:
        make()
    assert caught.value.code == code
