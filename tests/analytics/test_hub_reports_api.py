"""KPIs, comparison and planner over the real HTTP API, against a day made through the real API
with a clock the test moves; every figure below is worked out by hand.

The day (FakeClock starts 2026-03-02 08:30 UTC = 09:30 in Madrid; minutes from then):

    ticket  service  channel  desk  issued  called  started  ended   how        wait  walk  service
    A1      general  walk_in  1     0       4       5        15      done       240   60    600
    C1      taxes    phone    2     0       5       -        15      no-show    300   -     -
    A2      general  web      1     15      20      21       27      transfer   300   60    360
    T       taxes    web      2     27      30      31       35      done *     180   60    240
    B1      certif.  walk_in  -     36      -       -        36      cancelled  -     -     -
    (* T is A2 sent on to taxes: it keeps A2's channel and counts as transferred in.)

    office: issued 5, called 4, served 2, no-shows 1, cancelled 1, transfers 1 (rate 1/3 started)
    waits 180 240 300 300: mean 255, median 270, p90 300 (rank 2.7 of 0..3)
    service 240 360 600: mean 400, median 360, p90 552 (rank 1.8: 360 + 0.8 * 240)
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests

from tests.hubtools import ThreadHub

DAY = "2026-03-02"


def issue(hub: ThreadHub, service: str, channel: str = "walk_in") -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service, "channel": channel},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def act(hub: ThreadHub, desk: str, action: str, **body: Any) -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/desks/{desk}/{action}",
        headers=hub.headers("staff", desk),
        json=body or None,
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def make_day(hub: ThreadHub) -> dict[str, dict[str, Any]]:
    clock = hub.clock
    a1 = issue(hub, "general")
    c1 = issue(hub, "taxes", "phone")
    clock.advance(minutes=4)
    assert act(hub, "1", "next")["id"] == a1["id"]
    clock.advance(minutes=1)
    act(hub, "1", "start")
    assert act(hub, "2", "next")["id"] == c1["id"]
    clock.advance(minutes=10)
    act(hub, "1", "finish")
    act(hub, "2", "no-show")
    a2 = issue(hub, "general", "web")
    clock.advance(minutes=5)
    assert act(hub, "1", "next")["id"] == a2["id"]
    clock.advance(minutes=1)
    act(hub, "1", "start")
    clock.advance(minutes=6)
    act(hub, "1", "transfer", service="taxes")
    clock.advance(minutes=3)
    moved = act(hub, "2", "next")
    assert moved["number"] == a2["number"]
    clock.advance(minutes=1)
    act(hub, "2", "start")
    clock.advance(minutes=4)
    act(hub, "2", "finish")
    clock.advance(minutes=1)
    b1 = issue(hub, "certificates")
    r = requests.post(
        f"{hub.url}/api/v1/tickets/{b1['id']}/cancel", headers=hub.headers("admin"), timeout=5
    )
    assert r.status_code == 200, r.text
    return {"A1": a1, "C1": c1, "A2": a2, "T": moved, "B1": b1}


def kpis(hub: ThreadHub, role: str = "manager", **params: Any) -> requests.Response:
    return requests.get(
        f"{hub.url}/api/v1/reports/kpis",
        params={"from": DAY, "to": DAY, **params},
        headers=hub.headers(role),
        timeout=10,
    )


def group(body: dict[str, Any], dimension: str, key: str = "") -> dict[str, Any]:
    return next(g for g in body["groups"] if g["dimension"] == dimension and g["key"] == key)


def test_kpis_of_a_day_made_through_the_api(thread_hub: ThreadHub) -> None:
    make_day(thread_hub)
    r = kpis(thread_hub)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"], body["first_day"], body["last_day"]) == (DAY, DAY, DAY, DAY)
    office = group(body, "office")
    counts = {k: office[k] for k in ("issued", "called", "served", "no_shows", "cancelled")}
    assert counts == {"issued": 5, "called": 4, "served": 2, "no_shows": 1, "cancelled": 1}
    assert (office["transfers"], office["transferred_in"]) == (1, 1)
    assert office["transfer_rate"] == pytest.approx(1 / 3)
    assert office["no_show_rate"] == pytest.approx(1 / 4)
    assert office["waiting"] == {"count": 4, "mean": 255.0, "median": 270.0, "p90": 300.0}
    assert office["service"] == {"count": 3, "mean": 400.0, "median": 360.0, "p90": 552.0}
    assert office["call_to_arrival"]["mean"] == 60.0
    assert (office["within_target"], office["target_met"]) == (1.0, True)
    assert office["channels"] == {"walk_in": 2, "phone": 1, "web": 2}
    # desks: 1 had A1 and A2, 2 had C1 and T; B1 was never at a desk
    assert group(body, "desk", "1")["waiting"]["mean"] == 270.0
    assert group(body, "desk", "2")["waiting"]["mean"] == 240.0
    assert group(body, "desk", "")["issued"] == 1
    assert [group(body, "service", s)["issued"] for s in ("certificates", "general", "taxes")] == [
        1,
        2,
        2,
    ]
    # local hours (Madrid): four issued from 09:30 to 09:57, B1 at 10:06
    hours = {g["key"]: g["issued"] for g in body["groups"] if g["dimension"] == "hour"}
    assert hours == {"09": 4, "10": 1}
    assert group(body, "day", DAY)["issued"] == 5

    # a 4-minute target with the default 80 % goal: 180 and 240 are within, 2 of 4
    strict = kpis(thread_hub, target_minutes=4).json()
    assert (group(strict, "office")["within_target"], group(strict, "office")["target_met"]) == (
        0.5,
        False,
    )
    assert strict["service_level"] == {"target_s": 240.0, "goal": 0.8}
    # a range with nothing in it is empty, not an error
    empty = kpis(thread_hub, **{"from": "2026-01-01", "to": "2026-01-31"}).json()
    assert (empty["groups"], empty["first_day"]) == ([], None)


def test_csv_export_reads_back(thread_hub: ThreadHub) -> None:
    make_day(thread_hub)
    r = kpis(thread_hub, role="admin", format="csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert f'filename="kpis-{DAY}-{DAY}.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    office = next(row for row in rows if row["dimension"] == "office")
    assert office["issued"] == "5"
    assert float(office["wait_mean_s"]) == 255.0
    assert float(office["service_p90_s"]) == 552.0
    assert float(office["share_web"]) == 0.4
    assert office["target_met"] == "True"
    desk2 = next(row for row in rows if row["dimension"] == "desk" and row["key"] == "2")
    assert float(desk2["no_show_rate"]) == 0.5
    assert {row["dimension"] for row in rows} == {"office", "service", "desk", "hour", "day"}


def test_compare_two_periods(thread_hub: ThreadHub) -> None:
    make_day(thread_hub)
    thread_hub.clock.advance(days=1)  # 2026-03-03: one ticket, called after 60 s
    issue(thread_hub, "general")
    thread_hub.clock.advance(minutes=1)
    act(thread_hub, "1", "next")
    r = requests.get(
        f"{thread_hub.url}/api/v1/reports/compare",
        params={"a_from": DAY, "a_to": DAY, "b_from": "2026-03-03", "b_to": "2026-03-03"},
        headers=thread_hub.headers("manager"),
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["a"] == {"from": DAY, "to": DAY}
    office = next(g for g in body["groups"] if g["dimension"] == "office")
    wait = next(m for m in office["metrics"] if m["metric"] == "wait_mean_s")
    assert (wait["a"], wait["b"], wait["delta"]) == (255.0, 60.0, -195.0)
    assert wait["change"] == pytest.approx(-195 / 255, abs=1e-4)
    taxes = next(g for g in body["groups"] if g["dimension"] == "service" and g["key"] == "taxes")
    assert (taxes["in_a"], taxes["in_b"]) == (True, False)
    assert not any(g["dimension"] == "day" for g in body["groups"])


def test_planner_replays_the_day_and_a_synthetic_one(thread_hub: ThreadHub) -> None:
    make_day(thread_hub)
    url = f"{thread_hub.url}/api/v1/planner/simulate"
    manager = thread_hub.headers("manager")
    r = requests.post(url, json={"replay_day": DAY, "desk_count": 1}, headers=manager, timeout=20)
    assert r.status_code == 200, r.text
    body = r.json()
    # the three served tickets (A1, A2, T) with their own service times, one desk for all
    assert (body["source"], body["arrivals"], body["day"]) == ("replay", 3, DAY)
    assert [d["desk"] for d in body["desks"]] == ["1"]
    assert body["desks"][0]["served"] == 3
    assert body["actual"]["mean_wait_s"] == 255.0
    # A1 at 0 (600 s), A2 at 15 min (360 s), T at 27 min: one desk serves them back to back
    assert body["overall"]["mean_wait_s"] == pytest.approx(0.0)
    synthetic = {
        "desk_count": 2,
        "profile": [{"service": "general", "per_hour": {"9": 10, "10": 10}}],
        "days": 3,
    }
    r = requests.post(url, json=synthetic, headers=manager, timeout=20)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "synthetic"
    assert 20 <= r.json()["arrivals"] <= 100
    again = requests.post(url, json=synthetic, headers=manager, timeout=20).json()
    assert again == r.json()  # seeded: the same plan gives the same answer

    for bad, code in (
        ({"desk_count": 1}, "planner_source"),
        ({"replay_day": "2026-01-01"}, "planner_day_empty"),
        ({"replay_day": DAY, "desks": [{"id": "9", "services": ["nope"]}]}, "unknown_service"),
        (
            {"profile": [{"service": "general", "per_hour": {str(h): 1000 for h in range(24)}}]},
            "simulation_too_large",
        ),
        ({"replay_day": DAY, "desks": [{"id": "9", "services": ["taxes"]}]}, None),
    ):
        r = requests.post(url, json=bad, headers=manager, timeout=20)
        assert r.status_code == 422, (bad, r.text)
        if code:
            assert r.json()["error"] == code


@pytest.mark.parametrize(
    ("params", "role", "status", "code"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, "manager", 422, "report_range_invalid"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "manager", 422, "report_range_too_long"),
        ({"from": "2026-02-30"}, "manager", 422, "invalid_request"),
        ({"office": "elsewhere"}, "admin", 404, "unknown_office"),
        ({}, "staff", 403, "forbidden"),
        ({}, "kiosk", 403, "forbidden"),
        ({"format": "xml"}, "manager", 422, "invalid_request"),
    ],
)
def test_bad_report_requests(
    thread_hub: ThreadHub, params: dict[str, str], role: str, status: int, code: str
) -> None:
    headers = thread_hub.headers(role, "1" if role == "staff" else None)
    r = requests.get(
        f"{thread_hub.url}/api/v1/reports/kpis",
        params={"from": DAY, "to": DAY, **params},
        headers=headers,
        timeout=5,
    )
    assert (r.status_code, r.json()["error"]) == (status, code), r.text


def test_reports_need_a_token(thread_hub: ThreadHub) -> None:
    r = requests.get(
        f"{thread_hub.url}/api/v1/reports/kpis", params={"from": DAY, "to": DAY}, timeout=5
    )
    assert (r.status_code, r.json()["error"]) == (401, "unauthorized")


def test_planner_refuses_desks_and_desk_count_together(thread_hub: ThreadHub) -> None:
    profile = [{"service": "general", "per_hour": {"9": 10}}]
    desks = [{"id": "9", "services": ["general"]}]
    r = requests.post(
        f"{thread_hub.url}/api/v1/planner/simulate",
        json={"profile": profile, "desks": desks, "desk_count": 3},
        headers=thread_hub.headers("manager"),
        timeout=20,
    )
    assert (r.status_code, r.json()["error"]) == (422, "planner_desks"), r.text
    assert "desks" in r.json()["message"] and "desk_count" in r.json()["message"]
