"""hub/pg_tickets.py issues tickets on PostgreSQL exactly as the generic path does.

The same requests go, on two fresh databases with the same clock and secret, through the generic
path one at a time and through the pipelined path in groups; every answer and every stored row
(tickets, events, counters, idempotency) must be the same, ids included.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from hub.auth import Principal
from hub.db import make_engine, migrate
from hub.pg_tickets import TicketRequest
from hub.services import HubService, Outcome
from office360.config import load_settings
from office360.core.errors import DomainError
from tests.hubtools import ROOT, FakeClock, new_postgres_database, write_config

KIOSK = Principal(7, "kiosk", "kiosk", "centro", None)
OTHER_KIOSK = Principal(8, "kiosk 2", "kiosk", "centro", None)
ADMIN = Principal(9, "admin", "admin", None, None)


@pytest.fixture(scope="module")
def postgres() -> Iterator[None]:
    """The server scripts/test.sh started (OFFICE360_TEST_PG), else one of our own."""
    if os.environ.get("OFFICE360_TEST_PG"):
        yield
        return
    script = str(ROOT / "scripts" / "test-postgres.sh")
    started = subprocess.run(["bash", script, "start"], capture_output=True, text=True).stdout
    env = dict(
        line.removeprefix("export ").replace("'", "").split("=", 1)
        for line in started.splitlines()
        if line.startswith("export ")
    )
    assert "OFFICE360_TEST_PG" in env, f"could not start PostgreSQL: {started}"
    os.environ["OFFICE360_TEST_PG"] = env["OFFICE360_TEST_PG"]
    try:
        yield
    finally:
        del os.environ["OFFICE360_TEST_PG"]
        subprocess.run(["bash", script, "stop", env["OFFICE360_TEST_PG_DIR"]], check=False)


def _hub(folder: Path, clock: FakeClock) -> HubService:
    url = new_postgres_database()
    folder.mkdir()
    settings = load_settings(write_config(folder, 8360, database_url=url))
    migrate(url)
    service = HubService(make_engine(url, pool_size=2), settings, clock)
    service.prepare()
    service.secret = b"same secret on both"
    return service


@pytest.fixture
def hubs(postgres: None, tmp_path: Path) -> Iterator[tuple[HubService, HubService]]:
    clock = FakeClock()
    generic, pipelined = _hub(tmp_path / "generic", clock), _hub(tmp_path / "pipelined", clock)
    assert generic.pg_tickets is not None and pipelined.pg_tickets is not None
    yield generic, pipelined
    generic.close()
    pipelined.close()
    generic.engine.dispose()
    pipelined.engine.dispose()


def _request(
    service: str = "general",
    key: str | None = None,
    priority: str | None = None,
    principal: Principal = KIOSK,
    request_hash: str = "h",
    lang: str | None = "es",
) -> TicketRequest:
    fields = {"service": service, "channel": "walk_in", "priority": priority, "lang": lang}
    return TicketRequest(principal, key, request_hash, fields | {"office": None})


def _generic(svc: HubService, r: TicketRequest) -> Outcome | Exception:
    f = r.fields
    try:
        return svc.run_write(
            r.principal.scope,
            r.idem_key,
            r.request_hash,
            lambda conn, events: svc.issue_ticket(
                conn,
                events,
                r.principal,
                f["office"],
                f["service"],
                f["priority"],
                f["lang"],
                f["channel"],
            ),
        )
    except DomainError as exc:
        return exc


def _answer(result: Outcome | Exception) -> Any:
    if isinstance(result, DomainError):
        return ("error", result.code)
    assert isinstance(result, Outcome)
    return (result.status, result.body, result.events, result.replayed)


def _stored(svc: HubService) -> dict[str, list[Any]]:
    queries = {
        "tickets": "SELECT * FROM tickets ORDER BY id",
        "events": "SELECT id, office_id, type, at, payload FROM events ORDER BY id",
        "counters": "SELECT * FROM counters ORDER BY office_id, prefix, day",
        "idempotency": "SELECT * FROM idempotency ORDER BY scope, key",
        "waiting": "SELECT * FROM waiting_counts ORDER BY office_id, service_id",
    }
    with svc.engine.connect() as conn:
        return {name: [tuple(r) for r in conn.execute(text(q))] for name, q in queries.items()}


def _compare(hubs: tuple[HubService, HubService], groups: list[list[TicketRequest]]) -> list[Any]:
    generic, pipelined = hubs
    expected = [_answer(_generic(generic, r)) for group in groups for r in group]
    assert pipelined.pg_tickets is not None
    got = [_answer(x) for group in groups for x in pipelined.pg_tickets.issue_many(group)]
    assert got == expected
    assert _stored(pipelined) == _stored(generic)
    return got


def test_groups_answer_and_store_what_one_at_a_time_would(
    hubs: tuple[HubService, HubService],
) -> None:
    groups = [
        [_request()],
        [_request(key="k1"), _request("taxes"), _request(priority="elderly"), _request()],
        # the same key twice in a group: the second is answered with the first's ticket
        [_request(key="k2"), _request(key="k2"), _request(key="k1", principal=OTHER_KIOSK)],
        [_request(key="k1"), _request(key="k2", request_hash="other"), _request(lang="xx")],
        [_request("certificates", priority="pregnancy"), _request("certificates")] * 3,
        # not plain: the generic path answers, in the group's order
        [_request("nope"), _request(priority="vip"), _request(principal=ADMIN), _request()],
    ]
    got = _compare(hubs, groups)
    assert [a[1]["number"] for a in got[:5]] == ["A001", "A002", "C001", "A003", "A004"]
    assert got[5][1]["number"] == "A005" and got[7][1]["number"] == "A006"
    replay = got[6]
    assert replay[3] is True and replay[1] == got[5][1] and replay[2] == []
    assert got[8][1] == got[1][1] and got[9] == ("error", "idempotency_key_reused")
    # a priority ticket goes before the plain ones: its position counts only special tickets
    assert got[2][1]["position"] == 1 and got[3][1]["position"] == 1
    assert got[-4:-1] == [
        ("error", "unknown_service"),
        ("error", "unknown_priority"),
        ("error", "forbidden"),
    ]


def test_numbering_jumps_over_the_offline_range_inside_a_group(
    hubs: tuple[HubService, HubService],
) -> None:
    for svc in hubs:  # the day's counter just below [queue] offline_numbers_from = 800
        with svc.transaction() as conn:
            day = svc.clock().date().isoformat()
            conn.execute(text("INSERT INTO counters VALUES ('centro', 'A', :d, 797)"), {"d": day})
    got = _compare(hubs, [[_request() for _ in range(4)], [_request()]])
    assert [a[1]["number"] for a in got] == ["A798", "A799", "A1000", "A1001", "A1002"]


def test_event_ids_follow_the_order_of_the_tickets(hubs: tuple[HubService, HubService]) -> None:
    _, pipelined = hubs
    assert pipelined.pg_tickets is not None
    results = pipelined.pg_tickets.issue_many([_request(key=f"k{n}") for n in range(10)])
    ids = [e["id"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert ids == sorted(ids) and len(set(ids)) == 20
    kinds = [e["type"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert kinds == ["ticket.issued", "queue.changed"] * 10
    waiting = [r.events[1]["services"][0]["waiting"] for r in results if isinstance(r, Outcome)]
    assert waiting == list(range(1, 11))
