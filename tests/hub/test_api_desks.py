"""A day at the desks through the real HTTP API, with a clock the test moves."""

from __future__ import annotations

import requests

from tests.hubtools import ThreadHub


def issue(hub: ThreadHub, service: str = "general", **body: object) -> dict[str, object]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service, **body},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def act(hub: ThreadHub, desk: str, action: str, **kw: object) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/desks/{desk}/{action}",
        headers=hub.headers("staff", desk),
        timeout=5,
        **kw,  # type: ignore[arg-type]
    )


def ticket(hub: ThreadHub, ticket_id: object) -> dict[str, object]:
    return requests.get(
        f"{hub.url}/api/v1/tickets/{ticket_id}", headers=hub.headers(), timeout=5
    ).json()  # type: ignore[no-any-return]


def test_call_recall_start_finish(thread_hub: ThreadHub) -> None:
    a1 = issue(thread_hub)
    called = act(thread_hub, "1", "next")
    assert called.status_code == 200
    assert called.json()["number"] == a1["number"]
    assert called.json()["status"] == "called"
    assert called.json()["desk_name"] == "Mostrador 1"
    recalled = act(thread_hub, "1", "recall").json()
    assert (recalled["status"], recalled["recalls"]) == ("recalled", 1)
    assert act(thread_hub, "1", "recall").json()["recalls"] == 2
    assert act(thread_hub, "1", "start").json()["status"] == "serving"
    thread_hub.clock.advance(minutes=4)
    assert act(thread_hub, "1", "finish").json()["status"] == "done"
    assert act(thread_hub, "1", "next").status_code == 204


def test_measured_service_time_feeds_the_estimate(thread_hub: ThreadHub) -> None:
    issue(thread_hub, "general")
    act(thread_hub, "1", "next")
    act(thread_hub, "1", "start")
    thread_hub.clock.advance(minutes=2)
    act(thread_hub, "1", "finish")
    issue(thread_hub, "general")
    third = issue(thread_hub, "general")
    # one ahead, general is served by desks 1 and 2, mean service time now 120 s
    assert third["estimated_wait_s"] == 120


def test_no_show(thread_hub: ThreadHub) -> None:
    a1 = issue(thread_hub)
    act(thread_hub, "1", "next")
    assert act(thread_hub, "1", "no-show").json()["status"] == "no_show"
    assert ticket(thread_hub, a1["id"])["status"] == "no_show"
    assert act(thread_hub, "1", "next").status_code == 204


def test_next_while_serving_finishes_the_current_ticket(thread_hub: ThreadHub) -> None:
    a1, a2 = issue(thread_hub), issue(thread_hub)
    act(thread_hub, "1", "next")
    act(thread_hub, "1", "start")
    assert act(thread_hub, "1", "next").json()["number"] == a2["number"]
    assert ticket(thread_hub, a1["id"])["status"] == "done"


def test_desk_calls_only_its_services_oldest_first(thread_hub: ThreadHub) -> None:
    c1 = issue(thread_hub, "taxes")
    thread_hub.clock.advance(seconds=10)
    b1 = issue(thread_hub, "certificates")
    thread_hub.clock.advance(seconds=10)
    a1 = issue(thread_hub, "general")
    # desk 1 serves general and certificates: taxes is not its business
    assert act(thread_hub, "1", "next").json()["number"] == b1["number"]
    assert act(thread_hub, "2", "next").json()["number"] == c1["number"]
    assert act(thread_hub, "3", "next").status_code == 204
    act(thread_hub, "1", "no-show")
    assert act(thread_hub, "1", "next").json()["number"] == a1["number"]


def test_next_from_one_service(thread_hub: ThreadHub) -> None:
    issue(thread_hub, "general")
    b1 = issue(thread_hub, "certificates")
    r = act(thread_hub, "1", "next", params={"service": "certificates"})
    assert r.json()["number"] == b1["number"]


def test_transfer_keeps_the_place_by_original_issue_time(thread_hub: ThreadHub) -> None:
    a1 = issue(thread_hub, "general")
    thread_hub.clock.advance(minutes=1)
    c1 = issue(thread_hub, "taxes")
    act(thread_hub, "1", "next")
    act(thread_hub, "1", "start")
    thread_hub.clock.advance(minutes=3)
    moved = act(thread_hub, "1", "transfer", json={"service": "taxes"})
    assert moved.status_code == 200
    new = moved.json()
    assert new["number"] == a1["number"]  # the citizen keeps the number on their ticket
    assert new["service"] == "taxes"
    assert new["status"] == "waiting"
    assert new["position"] == 1  # ahead of C001, issued after A001
    assert ticket(thread_hub, a1["id"])["status"] == "transferred"
    called = act(thread_hub, "3", "next").json()
    assert (called["id"], called["number"]) == (new["id"], a1["number"])
    assert act(thread_hub, "2", "next").json()["number"] == c1["number"]


def test_pause_and_resume(thread_hub: ThreadHub) -> None:
    issue(thread_hub)
    paused = act(thread_hub, "1", "pause")
    assert paused.json()["state"] == "paused"
    r = act(thread_hub, "1", "next")
    assert (r.status_code, r.json()["error"]) == (409, "desk_paused")
    queue = requests.get(
        f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers("display"), timeout=5
    ).json()
    assert {d["id"]: d["state"] for d in queue["desks"]} == {
        "1": "paused",
        "2": "open",
        "3": "open",
    }
    assert act(thread_hub, "1", "resume").json()["state"] == "open"
    assert act(thread_hub, "1", "next").status_code == 200


def test_appointment_style_priority_and_anti_starvation(thread_hub: ThreadHub) -> None:
    plain = issue(thread_hub, "general")
    thread_hub.clock.advance(minutes=1)
    for _ in range(3):
        issue(thread_hub, "general", priority="elderly")
        thread_hub.clock.advance(seconds=5)
    # priority tickets are called first, passing the plain one over
    assert act(thread_hub, "1", "next").json()["priority"] == "elderly"
    act(thread_hub, "1", "no-show")
    thread_hub.clock.advance(minutes=16)
    # passed over more than 15 minutes ago: now it goes first, before the remaining priorities
    assert act(thread_hub, "1", "next").json()["number"] == plain["number"]


def test_queue_view(thread_hub: ThreadHub) -> None:
    issue(thread_hub, "general")
    thread_hub.clock.advance(minutes=2)
    issue(thread_hub, "general")
    act(thread_hub, "2", "next")
    thread_hub.clock.advance(minutes=1)
    q = requests.get(
        f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers("display"), timeout=5
    ).json()
    general = next(s for s in q["services"] if s["service"] == "general")
    assert (general["waiting"], general["longest_wait_s"]) == (1, 60)
    desk2 = next(d for d in q["desks"] if d["id"] == "2")
    assert desk2["current"]["number"] == "A001"


def test_repeated_next_with_the_same_key_calls_one_person(thread_hub: ThreadHub) -> None:
    issue(thread_hub)
    issue(thread_hub)
    headers = thread_hub.headers("staff", "1", **{"Idempotency-Key": "click-1"})
    first = requests.post(f"{thread_hub.url}/api/v1/desks/1/next", headers=headers, timeout=5)
    retry = requests.post(f"{thread_hub.url}/api/v1/desks/1/next", headers=headers, timeout=5)
    assert first.status_code == retry.status_code == 200
    assert first.json()["number"] == retry.json()["number"] == "A001"
    waiting = requests.get(
        f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers(), timeout=5
    ).json()
    assert next(s for s in waiting["services"] if s["service"] == "general")["waiting"] == 1
