"""Issuing and reading tickets through the real HTTP API."""

from __future__ import annotations

import requests

from tests.hubtools import ThreadHub, tampered


def issue(
    hub: ThreadHub, service: str = "general", role: str = "kiosk", **body: object
) -> requests.Response:
    return requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service, **body},
        headers=hub.headers(role),
        timeout=5,
    )


def test_issue_returns_the_ticket_with_an_unguessable_status_link(thread_hub: ThreadHub) -> None:
    r = issue(thread_hub, lang="en")
    assert r.status_code == 201
    ticket = r.json()
    assert ticket["number"] == "A001"
    assert ticket["status"] == "waiting"
    assert ticket["service"] == "general"
    assert ticket["office"] == "centro"
    assert ticket["lang"] == "en"
    assert ticket["position"] == 1
    assert ticket["estimated_wait_s"] == 0
    assert ticket["service_names"]["en"] == "General information"
    link = ticket["status_url"]
    assert link.startswith(f"{thread_hub.url}/status/{ticket['id']}?t=")
    token = link.split("?t=")[1]
    assert len(token) >= 20

    public = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{ticket['id']}", params={"t": token}, timeout=5
    )
    assert public.status_code == 200
    assert public.json()["number"] == "A001"

    forged = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{ticket['id']}", params={"t": tampered(token)}, timeout=5
    )
    assert forged.status_code == 404
    assert forged.json()["error"] == "unknown_ticket"
    anonymous = requests.get(f"{thread_hub.url}/api/v1/tickets/{ticket['id']}", timeout=5)
    assert anonymous.status_code == 404


def test_numbers_count_per_prefix(thread_hub: ThreadHub) -> None:
    numbers = [
        issue(thread_hub, s).json()["number"] for s in ("general", "general", "taxes", "general")
    ]
    assert numbers == ["A001", "A002", "C001", "A003"]


def test_position_and_estimate_grow_with_the_queue(thread_hub: ThreadHub) -> None:
    tickets = [issue(thread_hub, "taxes").json() for _ in range(4)]
    assert [t["position"] for t in tickets] == [1, 2, 3, 4]
    # taxes is served by desks 2 and 3 (both open); default service time 300 s
    assert [t["estimated_wait_s"] for t in tickets] == [0, 300, 300, 600]


def test_priority_ticket_goes_ahead_of_plain_ones(thread_hub: ThreadHub) -> None:
    issue(thread_hub)
    issue(thread_hub)
    urgent = issue(thread_hub, priority="reduced_mobility").json()
    assert urgent["priority"] == "reduced_mobility"
    assert urgent["position"] == 1


def test_numbering_restarts_at_the_office_midnight(thread_hub: ThreadHub) -> None:
    thread_hub.clock.now = thread_hub.clock.now.replace(hour=22, minute=50)  # 23:50 in Madrid
    assert issue(thread_hub).json()["number"] == "A001"
    assert issue(thread_hub).json()["number"] == "A002"
    thread_hub.clock.advance(minutes=15)  # 00:05 in Madrid, next day
    assert issue(thread_hub).json()["number"] == "A001"


def test_citizen_can_cancel_with_the_status_link(thread_hub: ThreadHub) -> None:
    ticket = issue(thread_hub).json()
    token = ticket["status_url"].split("?t=")[1]
    r = requests.post(
        f"{thread_hub.url}/api/v1/tickets/{ticket['id']}/cancel", params={"t": token}, timeout=5
    )
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    again = requests.post(
        f"{thread_hub.url}/api/v1/tickets/{ticket['id']}/cancel", params={"t": token}, timeout=5
    )
    assert again.status_code == 409
    assert again.json()["error"] == "ticket_not_waiting"
    queue = requests.get(
        f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers("display"), timeout=5
    )
    assert queue.json()["services"][0]["waiting"] == 0


def test_idempotency_key_returns_the_first_answer(thread_hub: ThreadHub) -> None:
    headers = thread_hub.headers("kiosk", **{"Idempotency-Key": "kiosk-1-req-42"})
    first = requests.post(
        f"{thread_hub.url}/api/v1/tickets", json={"service": "general"}, headers=headers, timeout=5
    )
    second = requests.post(
        f"{thread_hub.url}/api/v1/tickets", json={"service": "general"}, headers=headers, timeout=5
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert issue(thread_hub).json()["number"] == "A002"  # only one ticket was issued before
    other = requests.post(
        f"{thread_hub.url}/api/v1/tickets", json={"service": "taxes"}, headers=headers, timeout=5
    )
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"


def test_idempotency_keys_are_per_token(thread_hub: ThreadHub) -> None:
    key = {"Idempotency-Key": "same"}
    a = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=thread_hub.headers("kiosk", **key),
        timeout=5,
    )
    b = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers=thread_hub.headers("admin", **key),
        timeout=5,
    )
    assert a.json()["number"] != b.json()["number"]


def test_services_are_public_and_translated(thread_hub: ThreadHub) -> None:
    services = requests.get(f"{thread_hub.url}/api/v1/services", timeout=5).json()
    assert [s["id"] for s in services] == ["general", "certificates", "taxes"]
    assert services[0]["names"] == {"es": "Información general", "en": "General information"}
    assert services[2]["desks"] == ["2", "3"]


def test_health(thread_hub: ThreadHub) -> None:
    r = requests.get(f"{thread_hub.url}/healthz", timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_device_health_reports_are_kept_per_device(thread_hub: ThreadHub) -> None:
    for printer in ("ok", "paper_low"):
        r = requests.post(
            f"{thread_hub.url}/api/v1/devices/health",
            json={"device": "kiosk-door", "version": "0.1.0", "printer": printer, "camera": "ok"},
            headers=thread_hub.headers("kiosk"),
            timeout=5,
        )
        assert r.status_code == 200
    devices = requests.get(
        f"{thread_hub.url}/api/v1/devices", headers=thread_hub.headers("admin"), timeout=5
    )
    assert [(d["device"], d["report"]["printer"]) for d in devices.json()] == [
        ("kiosk-door", "paper_low")
    ]
    refused = requests.get(
        f"{thread_hub.url}/api/v1/devices", headers=thread_hub.headers("kiosk"), timeout=5
    )
    assert refused.status_code == 403


def test_non_ascii_status_token_is_just_wrong(thread_hub: ThreadHub) -> None:
    ticket = issue(thread_hub).json()
    r = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{ticket['id']}", params={"t": "ñandú"}, timeout=5
    )
    assert (r.status_code, r.json()["error"]) == (404, "unknown_ticket")
