"""PostgreSQL stopped and started again while kiosks issue tickets: the hub answers 503 with
Retry-After while the database is away, never a 500, serves again by itself (no hub restart) once
it is back, and every ticket that got 201 is in the database exactly once, with a unique number.
A display subscribed to the hub's events all along sees every one of those tickets issued, in id
order (the hub's LISTEN connection reconnects and catches up)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.faults.load import TicketLoad
from tests.faults.pgserver import OwnedPostgres, missing_binaries
from tests.hub.sse import SSEReader
from tests.hubtools import LiveHub, free_port, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


@pytest.fixture
def owned_postgres() -> Iterator[OwnedPostgres]:
    reason = missing_binaries()
    if reason:
        pytest.skip(reason)
    server = OwnedPostgres.create()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def hub_on_owned_postgres(tmp_path: Path, owned_postgres: OwnedPostgres) -> Iterator[LiveHub]:
    url = owned_postgres.new_database(f"t_{uuid.uuid4().hex[:12]}")
    port = free_port()
    hub = LiveHub(write_config(tmp_path, port, database_url=url), port)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def stored_tickets(database_url: str) -> dict[int, str]:
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        rows = conn.execute("SELECT id, number FROM tickets").fetchall()
    return {int(row[0]): str(row[1]) for row in rows}


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_postgres_restart_under_load_loses_nothing(
    hub_on_owned_postgres: LiveHub, owned_postgres: OwnedPostgres, mode: str
) -> None:
    hub = hub_on_owned_postgres
    display = SSEReader(f"{hub.url}/api/v1/events", hub.headers("display"))
    load = TicketLoad(hub.url, hub.headers("kiosk")).start()
    try:
        load.wait_for(50)
        owned_postgres.stop(mode)  # fast: as `pg_ctl restart`; immediate: as a crash
        down_at = time.monotonic()
        time.sleep(1.5)
        owned_postgres.start()
        back_at = time.monotonic()
        served = load.first_201_after(back_at)
        while served is None and time.monotonic() - back_at < 10:
            time.sleep(0.05)
            served = load.first_201_after(back_at)
        load.wait_for(load.count() + 50)
    finally:
        load.stop()

    statuses = load.statuses()
    assert served is not None and served - back_at < 5, "hub stuck after PostgreSQL came back"
    refused = [a for a in load.answers if a.status is not None and a.status != 201]
    assert refused, "the hub never noticed the database was away"
    for answer in refused:
        assert answer.status == 503, (answer.status, answer.body)
        assert answer.retry_after is not None and int(answer.retry_after) >= 1
        assert answer.body is not None and answer.body["error"] == "service_unavailable"
    assert not load.unresolved

    stored = stored_tickets(hub.config.read_text().split('database_url = "')[1].split('"')[0])
    accepted = {int(t["id"]): str(t["number"]) for t in load.accepted.values()}
    assert accepted.items() <= stored.items(), "a ticket that got 201 is not in the database"
    # Every request was retried until it got its 201: nothing stored that nobody was told of.
    assert len(stored) == len(accepted), (len(stored), len(accepted))
    assert len(set(stored.values())) == len(stored), "a number was given twice"

    issued: set[int] = set()
    event_ids: list[int] = []
    try:
        while not set(accepted) <= issued:
            event = display.next(timeout=10)
            event_ids.append(int(event["id"]))
            if event["type"] == "ticket.issued":
                issued.add(int(event["ticket"]["id"]))
    finally:
        display.close()
    assert event_ids == sorted(set(event_ids)), "events repeated or out of order"
    print(
        f"{mode}: down {back_at - down_at:.1f}s, answers {statuses}, "
        f"first 201 {served - back_at:.2f}s after PostgreSQL was back"
    )
