"""hub/pg_tickets.py and hub/pg_desks.py act on PostgreSQL exactly as the generic path does.

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
from hub.pg_desks import DeskRequest
from hub.services import HubService, Outcome
from hub.ticket_requests import TicketRequest
from office360.config import load_settings
from office360.core.errors import DomainError
from tests.hub.grouptools import (
    ADMIN_DESK,
    DISPLAY,
    OFFLINE_RANGE_CASES,
    OTHER_KIOSK,
    answer_of,
    generic_issue,
    set_counter,
    stored_rows,
    ticket_request,
)
from tests.hubtools import ROOT, FakeClock, new_postgres_database, write_config


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


def _compare(hubs: tuple[HubService, HubService], groups: list[list[TicketRequest]]) -> list[Any]:
    generic, pipelined = hubs
    expected = [answer_of(generic_issue(generic, r)) for group in groups for r in group]
    assert pipelined.pg_tickets is not None
    got = [answer_of(x) for group in groups for x in pipelined.pg_tickets.write_many(group)]
    assert got == expected
    assert stored_rows(pipelined) == stored_rows(generic)
    return got


def test_groups_answer_and_store_what_one_at_a_time_would(
    hubs: tuple[HubService, HubService],
) -> None:
    groups = [
        [ticket_request()],
        [
            ticket_request(key="k1"),
            ticket_request("taxes"),
            ticket_request(priority="elderly"),
            ticket_request(),
        ],
        # the same key twice in a group: the second is answered with the first's ticket
        [
            ticket_request(key="k2"),
            ticket_request(key="k2"),
            ticket_request(key="k1", principal=OTHER_KIOSK),
        ],
        [
            ticket_request(key="k1"),
            ticket_request(key="k2", request_hash="other"),
            ticket_request(lang="xx"),
        ],
        [ticket_request("certificates", priority="pregnancy"), ticket_request("certificates")] * 3,
        # not plain: the generic path answers, in the group's order
        [
            ticket_request("nope"),
            ticket_request(priority="vip"),
            ticket_request(principal=DISPLAY),
            ticket_request(),
        ],
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


@pytest.mark.parametrize(("last", "numbers"), OFFLINE_RANGE_CASES)
def test_numbering_jumps_over_the_offline_range_inside_a_group(
    hubs: tuple[HubService, HubService], last: int, numbers: list[str]
) -> None:
    for svc in hubs:
        set_counter(svc, last)
    got = _compare(hubs, [[ticket_request() for _ in range(4)], [ticket_request()]])
    assert [a[1]["number"] for a in got] == numbers


def test_event_ids_follow_the_order_of_the_tickets(hubs: tuple[HubService, HubService]) -> None:
    _, pipelined = hubs
    assert pipelined.pg_tickets is not None
    results = pipelined.pg_tickets.write_many([ticket_request(key=f"k{n}") for n in range(10)])
    ids = [e["id"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert ids == sorted(ids) and len(set(ids)) == 20
    kinds = [e["type"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert kinds == ["ticket.issued", "queue.changed"] * 10
    waiting = [r.events[1]["services"][0]["waiting"] for r in results if isinstance(r, Outcome)]
    assert waiting == list(range(1, 11))


def _desk_generic(
    svc: HubService, principal: Principal, key: str | None, digest: str, desk: str, action: str
) -> Outcome | Exception:
    try:
        return svc.run_write(
            principal.scope,
            key,
            digest,
            lambda conn, events: svc.desk_action(conn, events, principal, None, desk, action, {}),
        )
    except DomainError as exc:
        return exc


def _desk_pipelined(
    svc: HubService, principal: Principal, key: str | None, digest: str, desk: str, action: str
) -> Outcome | Exception:
    if action in ("pause", "resume"):  # not on hub/pg_desks.py's path
        return _desk_generic(svc, principal, key, digest, desk, action)
    try:
        return svc.pg_desks.act(principal, key, digest, None, desk, action)
    except DomainError as exc:
        return exc


def test_desk_actions_answer_and_store_what_the_generic_path_does(
    hubs: tuple[HubService, HubService],
) -> None:
    clerk = Principal(10, "clerk", "staff", "centro", "1")
    _compare(hubs, [[ticket_request() for _ in range(5)], [ticket_request("certificates")]])
    steps = [
        (ADMIN_DESK, None, "start"),  # nobody called yet
        (ADMIN_DESK, None, "next"),
        (ADMIN_DESK, None, "recall"),
        (ADMIN_DESK, None, "recall"),
        (ADMIN_DESK, "s1", "start"),
        (ADMIN_DESK, "s1", "start"),  # the same key: the stored answer
        (ADMIN_DESK, "s1", "finish"),  # the same key for another request
        (ADMIN_DESK, None, "recall"),  # serving cannot be recalled
        (ADMIN_DESK, None, "finish"),
        (ADMIN_DESK, None, "finish"),  # nothing in hand
        (ADMIN_DESK, None, "next"),
        (clerk, None, "no-show"),  # a clerk of another desk
        (ADMIN_DESK, "n1", "no-show"),
        (ADMIN_DESK, None, "next"),
        (ADMIN_DESK, None, "start"),
        (ADMIN_DESK, "x1", "next"),  # while serving: finishes it, calls the next
        (ADMIN_DESK, "x1", "next"),  # the stored answer
        (ADMIN_DESK, None, "next"),  # the one called is not served yet
        (ADMIN_DESK, None, "pause"),
        (ADMIN_DESK, None, "no-show"),
        (ADMIN_DESK, None, "next"),  # paused
        (ADMIN_DESK, None, "resume"),
        (ADMIN_DESK, None, "next"),
        (ADMIN_DESK, None, "no-show"),
        (ADMIN_DESK, None, "next"),  # nobody left: 204
    ]
    generic, pipelined = hubs
    got = []
    for principal, key, action in steps:
        digest = f"{action}-{key}"
        if key == "s1" and action == "finish":
            digest = "other"
        expected = answer_of(_desk_generic(generic, principal, key, digest, "2", action))
        answer = answer_of(_desk_pipelined(pipelined, principal, key, digest, "2", action))
        assert answer == expected, action
        got.append(answer)
        generic.clock.advance(seconds=30)  # type: ignore[attr-defined]
    assert stored_rows(pipelined) == stored_rows(generic)
    assert got[0] == ("error", "desk_idle") and got[9] == ("error", "desk_idle")
    assert got[2][1]["status"] == "recalled" and got[3][1]["recalls"] == 2
    assert got[5][3] is True and got[6] == ("error", "idempotency_key_reused")
    assert got[7] == ("error", "ticket_not_called")
    assert got[8][1]["status"] == "done" and got[11] == ("error", "forbidden")
    assert got[12][1]["status"] == "no_show"
    assert got[15][1]["status"] == "called" and got[16][3] is True
    assert [e["type"] for e in got[15][2]] == ["ticket.finished", "ticket.called", "queue.changed"]
    assert got[17] == ("error", "desk_busy") and got[20] == ("error", "desk_paused")
    assert got[22][1]["number"] == "A005" and got[24][0:2] == (204, None)
    kinds = [e["type"] for a in got if a[0] == 200 for e in a[2]]
    assert "ticket.finished" in kinds and "ticket.no_show" in kinds


def test_next_marks_the_tickets_a_priority_one_overtakes_as_the_generic_path_does(
    hubs: tuple[HubService, HubService],
) -> None:
    _compare(
        hubs, [[ticket_request(), ticket_request("taxes"), ticket_request(priority="elderly")]]
    )
    generic, pipelined = hubs
    for action in ("next", "no-show", "next", "start", "next"):
        expected = answer_of(_desk_generic(generic, ADMIN_DESK, None, "h", "2", action))
        assert answer_of(_desk_pipelined(pipelined, ADMIN_DESK, None, "h", "2", action)) == expected
        generic.clock.advance(minutes=20)  # type: ignore[attr-defined]
    stored = stored_rows(pipelined)
    assert stored == stored_rows(generic)
    with pipelined.engine.connect() as conn:
        overtaken = conn.execute(
            text("SELECT count(*) FROM tickets WHERE overtaken_at IS NOT NULL")
        )
        assert overtaken.scalar_one() == 2


def test_desk_actions_written_with_tickets_in_one_group_act_as_if_first(
    hubs: tuple[HubService, HubService],
) -> None:
    """A group's desk actions go before its tickets; a second "next", or a second action of
    the same desk, waits for the next transaction; one the pipelined path cannot take (nothing
    in hand) is answered by the generic path once its transaction has committed."""
    generic, pipelined = hubs
    _compare(hubs, [[ticket_request(), ticket_request("taxes"), ticket_request("certificates")]])
    generic.clock.advance(seconds=30)  # type: ignore[attr-defined]
    t1, t2 = ticket_request(key="t1"), ticket_request("taxes", key="t2")
    group: list[TicketRequest | DeskRequest] = [
        t1,
        DeskRequest(ADMIN_DESK, "a1", "h-a1", None, "1", "next"),
        DeskRequest(ADMIN_DESK, None, "h-c", None, "3", "start"),  # nothing in hand
        t2,
        DeskRequest(ADMIN_DESK, "b1", "h-b1", None, "2", "next"),  # a second next: waits
        DeskRequest(ADMIN_DESK, "a2", "h-a2", None, "1", "start"),  # desk 1 again: waits
    ]
    in_order = [group[1], group[2], t1, t2, group[4], group[5]]
    expected = {}
    for item in in_order:
        if isinstance(item, DeskRequest):
            result = _desk_generic(
                generic, item.principal, item.idem_key, item.request_hash, item.desk_id, item.action
            )
        else:
            result = generic_issue(generic, item)
        expected[id(item)] = answer_of(result)
    assert pipelined.pg_tickets is not None
    got = [answer_of(r) for r in pipelined.pg_tickets.write_many(group)]
    assert got == [expected[id(item)] for item in group]
    assert got[1][1]["number"] == "A001" and got[4][1]["number"] == "C001"
    assert got[2] == ("error", "desk_idle")
    assert got[5][1]["status"] == "serving"
    assert stored_rows(pipelined) == stored_rows(generic)
    ids = [e["id"] for r in got if r[0] != "error" for e in r[2]]
    assert len(ids) == len(set(ids))


def test_a_desk_group_with_no_ticket_needs_no_ticket_to_read_back(
    hubs: tuple[HubService, HubService],
) -> None:
    generic, pipelined = hubs
    _compare(hubs, [[ticket_request(), ticket_request("taxes")]])
    for desk, action in [("1", "next"), ("2", "next"), ("1", "start"), ("1", "finish")]:
        expected = answer_of(_desk_generic(generic, ADMIN_DESK, None, "h", desk, action))
        assert pipelined.pg_tickets is not None
        request = DeskRequest(ADMIN_DESK, None, "h", None, desk, action)
        assert answer_of(pipelined.pg_tickets.write_many([request])[0]) == expected
    assert stored_rows(pipelined) == stored_rows(generic)
