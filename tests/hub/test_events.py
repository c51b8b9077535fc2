"""Server-Sent Events: what subscribers see, in order, and what a reconnecting one catches up on."""

from __future__ import annotations

import queue

import pytest
import requests

import hub.api.events
from tests.hub.sse import SSEReader
from tests.hubtools import ThreadHub


def issue(hub: ThreadHub, service: str = "general") -> dict[str, object]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    return r.json()  # type: ignore[no-any-return]


def act(hub: ThreadHub, desk: str, action: str) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/desks/{desk}/{action}", headers=hub.headers(), timeout=5
    )


def subscribe(hub: ThreadHub, **headers: str) -> SSEReader:
    return SSEReader(f"{hub.url}/api/v1/events", {**hub.headers("display"), **headers})


def test_subscriber_sees_issue_and_call_with_desk_and_no_personal_data(
    thread_hub: ThreadHub,
) -> None:
    reader = subscribe(thread_hub)
    try:
        ticket = issue(thread_hub)
        issued = reader.next()
        assert issued["type"] == "ticket.issued"
        assert issued["ticket"]["number"] == ticket["number"]
        changed = reader.next()
        assert changed["type"] == "queue.changed"
        assert changed["services"][0]["waiting"] == 1
        act(thread_hub, "3", "pause")
        act(thread_hub, "1", "next")
        called = reader.next_of("ticket.called")
        assert called["office"] == "centro"
        assert called["ticket"] == {
            "id": ticket["id"],
            "number": "A001",
            "service": "general",
            "desk": "1",
            "desk_name": "Mostrador 1",
            "status": "called",
            "priority": None,
            "recalls": 0,
        }
        act(thread_hub, "1", "recall")
        assert reader.next_of("ticket.recalled")["ticket"]["recalls"] == 1
        act(thread_hub, "1", "start")
        assert reader.next_of("ticket.started")["ticket"]["status"] == "serving"
        act(thread_hub, "1", "finish")
        assert reader.next_of("ticket.finished")["ticket"]["status"] == "done"
    finally:
        reader.close()


def test_event_ids_increase(thread_hub: ThreadHub) -> None:
    reader = subscribe(thread_hub)
    try:
        for _ in range(5):
            issue(thread_hub)
        ids = [reader.next()["id"] for _ in range(10)]
        assert ids == sorted(ids) and len(set(ids)) == 10
    finally:
        reader.close()


def test_reconnect_with_last_event_id_receives_what_was_missed(thread_hub: ThreadHub) -> None:
    reader = subscribe(thread_hub)
    issue(thread_hub)
    first = reader.next()
    reader.close()
    # while nobody listens: more tickets and a call
    issue(thread_hub, "taxes")
    act(thread_hub, "2", "next")
    resumed = subscribe(thread_hub, **{"Last-Event-ID": str(first["id"])})
    try:
        kinds = [resumed.next()["type"] for _ in range(5)]
        assert kinds == [
            "queue.changed",
            "ticket.issued",
            "queue.changed",
            "ticket.called",
            "queue.changed",
        ]
        issue(thread_hub)
        assert resumed.next()["type"] == "ticket.issued"  # and then live
    finally:
        resumed.close()


def test_without_last_event_id_only_new_events_arrive(thread_hub: ThreadHub) -> None:
    issue(thread_hub)
    reader = subscribe(thread_hub)
    try:
        with pytest.raises(queue.Empty):
            reader.next(timeout=0.5)
        issue(thread_hub)
        assert reader.next()["ticket"]["number"] == "A002"
    finally:
        reader.close()


def test_failed_action_publishes_nothing(thread_hub: ThreadHub) -> None:
    reader = subscribe(thread_hub)
    try:
        assert act(thread_hub, "1", "finish").status_code == 409
        assert (
            requests.post(
                f"{thread_hub.url}/api/v1/tickets",
                json={"service": "nope"},
                headers=thread_hub.headers(),
                timeout=5,
            ).status_code
            == 404
        )
        with pytest.raises(queue.Empty):
            reader.next(timeout=0.5)
    finally:
        reader.close()


def test_heartbeat_keeps_idle_connections_alive(
    thread_hub: ThreadHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub.api.events, "HEARTBEAT_S", 0.2)
    reader = subscribe(thread_hub)
    try:
        assert reader.comments.get(timeout=3) == ": ping"
    finally:
        reader.close()


def test_events_need_a_token(thread_hub: ThreadHub) -> None:
    r = requests.get(f"{thread_hub.url}/api/v1/events", timeout=5)
    assert r.status_code == 401


def test_display_message_reaches_displays(thread_hub: ThreadHub) -> None:
    reader = subscribe(thread_hub)
    try:
        r = requests.post(
            f"{thread_hub.url}/api/v1/display/message",
            json={"message": "Hoy cerramos a las 14:00 · Closing at 14:00 today"},
            headers=thread_hub.headers("manager"),
            timeout=5,
        )
        assert r.status_code == 200
        event = reader.next_of("display.message")
        assert event["message"] == "Hoy cerramos a las 14:00 · Closing at 14:00 today"
        refused = requests.post(
            f"{thread_hub.url}/api/v1/display/message",
            json={"message": "x"},
            headers=thread_hub.headers("display"),
            timeout=5,
        )
        assert refused.status_code == 403
    finally:
        reader.close()


def test_the_stream_opens_with_the_current_event_id(thread_hub: ThreadHub) -> None:
    import http.client

    issue(thread_hub)
    issue(thread_hub)
    conn = http.client.HTTPConnection("127.0.0.1", thread_hub.port, timeout=5)
    conn.request("GET", "/api/v1/events", headers=thread_hub.headers("display"))
    first = conn.getresponse().readline().decode().strip()
    conn.close()
    assert first == "id: 4"  # two tickets: issued + queue.changed each
