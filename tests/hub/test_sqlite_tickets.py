"""hub/sqlite_tickets.py acts on SQLite exactly as the generic path does.

The same requests go, on two fresh SQLite files with the same clock and secret, through the generic
path one at a time and through HubService.run_batch in groups; every answer and every stored row
(tickets, events, counters, idempotency, waiting counts) must be the same, ids included.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from sqlite3 import IntegrityError
from typing import Any

import pytest
from sqlalchemy import text

from hub.auth import Principal
from hub.db import make_engine, migrate
from hub.services import GROUP_FROM, HubService, Outcome
from hub.ticket_requests import TicketRequest
from office360.config import load_settings
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
from tests.hubtools import FakeClock, write_config


def _hub(folder: Path, clock: FakeClock) -> HubService:
    folder.mkdir()
    sqlite = f"sqlite:///{folder / 'data' / 'office360.db'}"  # whatever the suite's backend
    settings = load_settings(write_config(folder, 8360, database_url=sqlite))
    url = settings.hub.sqlalchemy_url()
    migrate(url)
    service = HubService(make_engine(url, pool_size=1, autocheckpoint=False), settings, clock)
    service.prepare()
    service.secret = b"same secret on both"
    return service


@pytest.fixture
def hubs(tmp_path: Path) -> Iterator[tuple[HubService, HubService]]:
    clock = FakeClock()
    generic, grouped = _hub(tmp_path / "generic", clock), _hub(tmp_path / "grouped", clock)
    yield generic, grouped
    for svc in (generic, grouped):
        svc.close()
        svc.engine.dispose()


@pytest.fixture
def group_sizes(hubs: tuple[HubService, HubService], monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each call of the grouped path got."""
    grouped = hubs[1].sqlite_tickets
    real = grouped.write_group
    sizes: list[int] = []

    def counted(conn: Any, requests: list[TicketRequest]) -> Any:
        sizes.append(len(requests))
        return real(conn, requests)

    monkeypatch.setattr(grouped, "write_group", counted)
    return sizes


def _batch(svc: HubService, group: list[TicketRequest]) -> list[Outcome | Exception]:
    return svc.run_batch([(svc.sqlite_tickets.issue, (r,)) for r in group])


def _compare(hubs: tuple[HubService, HubService], groups: list[list[TicketRequest]]) -> list[Any]:
    generic, grouped = hubs
    expected = [answer_of(generic_issue(generic, r)) for group in groups for r in group]
    got = [answer_of(x) for group in groups for x in _batch(grouped, group)]
    assert got == expected
    assert stored_rows(grouped) == stored_rows(generic)
    return got


def test_groups_answer_and_store_what_one_at_a_time_would(
    hubs: tuple[HubService, HubService], group_sizes: list[int]
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
            ticket_request("taxes"),
        ],
        [
            ticket_request(key="k1"),
            ticket_request(key="k2", request_hash="other"),
            ticket_request(lang="xx"),
            ticket_request(),
            ticket_request(),
        ],
        [ticket_request("certificates", priority="pregnancy"), ticket_request("certificates")] * 3,
        # not plain: the generic path answers
        [
            ticket_request("nope"),
            ticket_request(priority="vip"),
            ticket_request(principal=DISPLAY),
            ticket_request(),
            ticket_request(),
            ticket_request(),
        ],
    ]
    got = _compare(hubs, groups)
    assert group_sizes == [4, 4, 5, 6, 3]  # the lone ticket went one by one
    assert [a[1]["number"] for a in got[:5]] == ["A001", "A002", "C001", "A003", "A004"]
    assert got[5][1]["number"] == "A005"
    replay = got[6]
    assert replay[3] is True and replay[1] == got[5][1] and replay[2] == []
    assert got[9][1] == got[1][1] and got[10] == ("error", "idempotency_key_reused")
    # a priority ticket goes before the plain ones: its position counts only special tickets
    assert got[2][1]["position"] == 1 and got[3][1]["position"] == 1
    assert got[-6:-3] == [
        ("error", "unknown_service"),
        ("error", "unknown_priority"),
        ("error", "forbidden"),
    ]


@pytest.mark.parametrize(("last", "numbers"), OFFLINE_RANGE_CASES)
def test_numbering_jumps_over_the_offline_range_inside_a_group(
    hubs: tuple[HubService, HubService], group_sizes: list[int], last: int, numbers: list[str]
) -> None:
    for svc in hubs:
        set_counter(svc, last)
    got = _compare(hubs, [[ticket_request() for _ in range(5)]])
    assert [a[1]["number"] for a in got] == numbers
    assert group_sizes == [5]


def test_event_ids_follow_the_order_of_the_tickets(hubs: tuple[HubService, HubService]) -> None:
    _, grouped = hubs
    results = _batch(grouped, [ticket_request(key=f"k{n}") for n in range(10)])
    ids = [e["id"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert ids == sorted(ids) and len(set(ids)) == 20
    kinds = [e["type"] for r in results if isinstance(r, Outcome) for e in r.events]
    assert kinds == ["ticket.issued", "queue.changed"] * 10
    waiting = [r.events[1]["services"][0]["waiting"] for r in results if isinstance(r, Outcome)]
    assert waiting == list(range(1, 11))


def test_a_group_that_fails_stores_none_of_its_tickets_and_spares_the_other_writes(
    hubs: tuple[HubService, HubService],
) -> None:
    _, grouped = hubs
    _batch(grouped, [ticket_request()])  # A001
    with grouped.transaction() as conn:  # a number the counter does not know of yet
        conn.execute(
            text(
                "INSERT INTO tickets (office_id, service_id, day, number, status, lang, channel,"
                " issued_at, fair_at, recalls) SELECT office_id, service_id, day, 'A003', status,"
                " lang, channel, issued_at, fair_at, 0 FROM tickets"
            )
        )
    pause = (
        grouped.run_write,
        (
            ADMIN_DESK.scope,
            None,
            "h",
            lambda conn, events: grouped.desk_action(
                conn, events, ADMIN_DESK, None, "1", "pause", {}
            ),
        ),
    )
    tickets = [(grouped.sqlite_tickets.issue, (ticket_request(key=f"f{n}"),)) for n in range(3)]
    results = grouped.run_batch([pause, *tickets])
    assert isinstance(results[0], Outcome) and results[0].status == 200
    assert all(isinstance(r, Exception) for r in results[1:])
    with grouped.engine.connect() as conn:
        numbers = conn.execute(text("SELECT number FROM tickets ORDER BY id")).scalars().all()
        keys = conn.execute(text("SELECT count(*) FROM idempotency")).scalar_one()
        state = conn.execute(text("SELECT state FROM desks WHERE id = '1'")).scalar_one()
    assert numbers == ["A001", "A003"] and keys == 0 and state == "paused"
    # alone in its transaction, a failing group fails it (HubState._flush answers each with that)
    with pytest.raises(IntegrityError):
        grouped.run_batch(tickets)
    with grouped.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tickets")).scalar_one() == 2


def test_fewer_plain_tickets_than_a_group_go_one_by_one(
    hubs: tuple[HubService, HubService], group_sizes: list[int]
) -> None:
    _compare(hubs, [[ticket_request()] * (GROUP_FROM - 1), [ticket_request(priority="vip")] * 5])
    assert group_sizes == []


def test_a_principal_of_another_office_is_refused_as_the_generic_path_refuses(
    hubs: tuple[HubService, HubService], group_sizes: list[int]
) -> None:
    elsewhere = Principal(12, "kiosk far", "kiosk", "elsewhere", None)
    _compare(hubs, [[ticket_request(principal=elsewhere), *[ticket_request()] * 3]])
    assert group_sizes == [3]


def test_the_hot_statements_are_compiled_before_the_first_request(tmp_path: Path) -> None:
    from hub.fastsql import Fast

    for fast in Fast.made:  # as in a fresh process
        fast._compiled.clear()
    svc = _hub(tmp_path / "fresh", FakeClock())
    assert len(Fast.made) >= 10
    assert all("sqlite" in fast._compiled for fast in Fast.made)
    svc.close()
    svc.engine.dispose()
