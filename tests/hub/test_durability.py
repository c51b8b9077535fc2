"""A ticket that got 201 survives kill -9 of the hub, and numbers stay unique."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from tests.hubtools import LiveHub


def test_accepted_tickets_survive_kill_9(live_hub: LiveHub) -> None:
    accepted: list[dict[str, object]] = []
    lock = threading.Lock()
    stop = threading.Event()
    headers = live_hub.headers("kiosk")

    def client(service: str) -> None:
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(
                    f"{live_hub.url}/api/v1/tickets",
                    json={"service": service},
                    headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                    timeout=2,
                )
            except requests.RequestException:
                return  # the hub is gone
            if r.status_code == 201:
                with lock:
                    accepted.append(r.json())

    threads = [
        threading.Thread(target=client, args=(s,))
        for s in ("general", "general", "taxes", "certificates")
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(accepted) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    live_hub.kill()  # SIGKILL while the clients are still issuing
    stop.set()
    for t in threads:
        t.join(5)
    assert len(accepted) >= 200

    live_hub.start()
    admin = live_hub.headers("admin")
    for ticket in accepted:
        r = requests.get(f"{live_hub.url}/api/v1/tickets/{ticket['id']}", headers=admin, timeout=5)
        assert r.status_code == 200, f"ticket {ticket['number']} was lost"
        assert r.json()["number"] == ticket["number"]
    numbers = [str(t["number"]) for t in accepted]
    assert len(set(numbers)) == len(numbers)

    # numbering goes on after the restart without reusing any number of the day
    after = requests.post(
        f"{live_hub.url}/api/v1/tickets", json={"service": "general"}, headers=admin, timeout=5
    )
    assert after.status_code == 201
    used = {n for n in numbers if n.startswith("A")}
    assert after.json()["number"] not in used
    assert int(after.json()["number"][1:]) > max(int(n[1:]) for n in used)


def test_restart_keeps_desk_state_and_queue(live_hub: LiveHub) -> None:
    admin = live_hub.headers("admin")
    for _ in range(3):
        requests.post(
            f"{live_hub.url}/api/v1/tickets", json={"service": "general"}, headers=admin, timeout=5
        )
    called = requests.post(f"{live_hub.url}/api/v1/desks/1/next", headers=admin, timeout=5).json()
    requests.post(f"{live_hub.url}/api/v1/desks/2/pause", headers=admin, timeout=5)
    live_hub.restart()
    queue = requests.get(f"{live_hub.url}/api/v1/queue", headers=admin, timeout=5).json()
    desks = {d["id"]: d for d in queue["desks"]}
    assert desks["1"]["current"]["number"] == called["number"]
    assert desks["2"]["state"] == "paused"
    assert next(s for s in queue["services"] if s["service"] == "general")["waiting"] == 2
