"""Several hub processes on one PostgreSQL database serve the same offices."""

from __future__ import annotations

import os
import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.hub.sse import SSEReader
from tests.hubtools import LiveHub, free_port, new_postgres_database, write_config

TICKETS = int(os.environ.get("OFFICE360_REPLICA_TICKETS", "10000"))


@pytest.fixture
def database_url(postgres_server: str) -> str:
    return new_postgres_database()


@pytest.fixture
def replicas(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveHub, LiveHub]]:
    url = database_url
    hubs = []
    for name in ("a", "b"):
        port = free_port()
        folder = tmp_path / name
        folder.mkdir()
        hubs.append(LiveHub(write_config(folder, port, database_url=url), port))
    for hub in hubs:
        hub.start()
    try:
        yield hubs[0], hubs[1]
    finally:
        for hub in hubs:
            hub.stop()


def test_an_event_committed_on_one_replica_reaches_subscribers_of_the_other(
    replicas: tuple[LiveHub, LiveHub],
) -> None:
    a, b = replicas
    on_b = SSEReader(f"{b.url}/api/v1/events", b.headers("display"))
    on_a = SSEReader(f"{a.url}/api/v1/events", a.headers("display"))
    try:
        ticket = requests.post(
            f"{a.url}/api/v1/tickets", json={"service": "general"}, headers=a.headers(), timeout=5
        ).json()
        called = requests.post(
            f"{b.url}/api/v1/desks/1/next", headers=b.headers(), timeout=5
        ).json()
        assert called["number"] == ticket["number"]
        for reader in (on_a, on_b):
            kinds = [reader.next(timeout=5)["type"] for _ in range(4)]
            assert kinds == ["ticket.issued", "queue.changed", "ticket.called", "queue.changed"]
    finally:
        on_a.close()
        on_b.close()


def test_last_event_id_resumes_on_any_replica(replicas: tuple[LiveHub, LiveHub]) -> None:
    a, b = replicas
    reader = SSEReader(f"{a.url}/api/v1/events", a.headers("display"))
    requests.post(
        f"{a.url}/api/v1/tickets", json={"service": "general"}, headers=a.headers(), timeout=5
    )
    first = reader.next(timeout=5)
    reader.close()
    for _ in range(3):
        requests.post(
            f"{b.url}/api/v1/tickets", json={"service": "taxes"}, headers=b.headers(), timeout=5
        )
    resumed = SSEReader(
        f"{b.url}/api/v1/events", {**b.headers("display"), "Last-Event-ID": str(first["id"])}
    )
    try:
        ids = [resumed.next(timeout=5)["id"] for _ in range(7)]
        assert ids == sorted(ids) and ids[0] == first["id"] + 1 and len(set(ids)) == 7
    finally:
        resumed.close()


def test_numbers_stay_unique_across_replicas(replicas: tuple[LiveHub, LiveHub]) -> None:
    a, b = replicas
    accepted: list[dict[str, object]] = []
    lock = threading.Lock()
    per_client = TICKETS // 32

    headers_of = {id(hub): hub.headers("kiosk") for hub in (a, b)}  # made before the threads
    failures: list[str] = []

    def client(hub: LiveHub, index: int) -> None:
        session = requests.Session()
        headers = headers_of[id(hub)]
        for _ in range(per_client):
            r = session.post(
                f"{hub.url}/api/v1/tickets",
                json={"service": ("general", "taxes", "certificates")[index % 3]},
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            with lock:
                if r.status_code == 201:
                    accepted.append(r.json())
                else:
                    failures.append(f"{r.status_code} {r.text}")

    threads = [threading.Thread(target=client, args=(hub, i)) for hub in (a, b) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert len(accepted) == per_client * 32
    numbers = [t["number"] for t in accepted]
    assert len(set(numbers)) == len(numbers), "a number was given twice"
    queue = requests.get(f"{b.url}/api/v1/queue", headers=b.headers(), timeout=10).json()
    assert sum(s["waiting"] for s in queue["services"]) == len(accepted)  # every 201 is stored


def _event_ids_after(database_url: str, after: int) -> list[int]:
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT id FROM events WHERE id > %s ORDER BY id", (after,))
        return [int(r[0]) for r in rows]


def test_while_both_replicas_write_each_subscriber_gets_every_event_once_in_order(
    replicas: tuple[LiveHub, LiveHub], database_url: str
) -> None:
    """A replica publishes its own events without reading them back when no other replica's come
    in between (hub/replication.py): tickets and desk actions on both replicas at once must still
    reach every subscriber once each, in id order, with nothing missing."""
    a, b = replicas
    before = max(_event_ids_after(database_url, 0), default=0)
    readers = [SSEReader(f"{hub.url}/api/v1/events", hub.headers("display")) for hub in (a, b)]
    headers_of = {id(hub): hub.headers() for hub in (a, b)}
    failures: list[str] = []

    def issue(hub: LiveHub, index: int) -> None:
        session = requests.Session()
        for _ in range(40):
            r = session.post(
                f"{hub.url}/api/v1/tickets",
                json={"service": ("general", "taxes", "certificates")[index % 3]},
                headers={**headers_of[id(hub)], "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            if r.status_code != 201:
                failures.append(f"{r.status_code} {r.text}")

    def serve(hub: LiveHub, desk: str) -> None:
        session = requests.Session()
        for _ in range(15):
            r = session.post(
                f"{hub.url}/api/v1/desks/{desk}/next", headers=headers_of[id(hub)], timeout=30
            )
            if r.status_code == 200:
                session.post(
                    f"{hub.url}/api/v1/desks/{desk}/start", headers=headers_of[id(hub)], timeout=30
                )

    threads = [threading.Thread(target=issue, args=(hub, i)) for hub in (a, b) for i in range(3)]
    threads += [
        threading.Thread(target=serve, args=(a, "1")),
        threading.Thread(target=serve, args=(b, "2")),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, failures[:3]
        stored = _event_ids_after(database_url, before)
        assert len(stored) >= 2 * 240
        for reader in readers:
            got = [reader.next(timeout=10)["id"] for _ in range(len(stored))]
            assert got == stored
            with pytest.raises(queue.Empty):
                reader.next(timeout=0.5)  # and nothing twice
    finally:
        for reader in readers:
            reader.close()
