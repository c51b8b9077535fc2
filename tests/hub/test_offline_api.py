"""Kiosk offline mode, hub side, through the real HTTP API: number blocks and merging a spool.

Runs on SQLite, and on PostgreSQL with OFFICE360_TEST_BACKEND=postgres (scripts/test-postgres.sh).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import requests

from tests.appointments.apptools import booked, check_in
from tests.hubtools import ThreadHub, database_url_for, make_token


def reserve(hub: ThreadHub, token: str, size: int = 10, **body: Any) -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/devices/blocks",
        json={"size": size, **body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def block_of(answer: dict[str, Any], service: str, day: str | None = None) -> dict[str, Any]:
    found = [b for b in answer["blocks"] if b["service"] == service]
    if day:
        found = [b for b in found if b["day"] == day]
    assert len(found) == 1, answer
    return found[0]


def send(hub: ThreadHub, token: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets/offline",
        json={"items": items},
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def item(number: str, at: datetime, service: str = "general", **extra: Any) -> dict[str, Any]:
    return {
        "local_id": uuid.uuid4().hex,
        "service": service,
        "number": number,
        "issued_at": at.isoformat(),
        "lang": "es",
        **extra,
    }


def issue_online(hub: ThreadHub, service: str = "general") -> dict[str, Any]:
    r = requests.post(
        f"{hub.url}/api/v1/tickets",
        json={"service": service},
        headers=hub.headers("kiosk"),
        timeout=5,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def call_next(hub: ThreadHub, desk: str = "1") -> dict[str, Any] | None:
    headers = hub.headers("staff", desk)
    r = requests.post(f"{hub.url}/api/v1/desks/{desk}/next", json={}, headers=headers, timeout=5)
    assert r.status_code in (200, 204), r.text
    if r.status_code == 204:
        return None
    requests.post(f"{hub.url}/api/v1/desks/{desk}/start", json={}, headers=headers, timeout=5)
    return dict(r.json())


def test_blocks_never_overlap_across_kiosks_and_the_hubs_own_counter(
    thread_hub: ThreadHub,
) -> None:
    first_online = issue_online(thread_hub)["number"]
    kiosk_1 = thread_hub.token("kiosk")
    kiosk_2 = make_token(thread_hub.config, "kiosk")
    one = reserve(thread_hub, kiosk_1, 10)
    two = reserve(thread_hub, kiosk_2, 10)
    after = issue_online(thread_hub)["number"]
    a1, a2 = block_of(one, "general"), block_of(two, "general")
    assert first_online == "A001"
    # Blocks come from the range kept for them ([queue] offline_numbers_from = 800 .. 999).
    assert (a1["first"], a1["last"], a1["next"]) == (800, 809, 800)
    assert (a2["first"], a2["last"]) == (810, 819)
    assert after == "A002"  # the hub's own numbering is untouched by the blocks
    assert {b["service"] for b in one["blocks"]} == {"general", "certificates", "taxes"}
    assert block_of(one, "taxes")["first"] == 800
    assert one["days"] == ["2026-03-02"]
    # Asking again, unused blocks come back: no numbers are wasted.
    again = reserve(thread_hub, kiosk_1, 10)
    assert again["blocks"] == one["blocks"]
    assert issue_online(thread_hub)["number"] == "A003"


def set_counter(hub: ThreadHub, prefix: str, day: str, last_seq: int) -> None:
    from sqlalchemy import insert, update

    from hub import tables as t
    from hub.db import make_engine

    engine = make_engine(database_url_for(hub.config), pool_size=1)
    c = t.counters.c
    where = (c.office_id == "centro", c.prefix == prefix, c.day == day)
    with engine.begin() as conn:
        if not conn.execute(update(t.counters).where(*where).values(last_seq=last_seq)).rowcount:
            conn.execute(
                insert(t.counters).values(
                    office_id="centro", prefix=prefix, day=day, last_seq=last_seq
                )
            )
    engine.dispose()


def test_the_hubs_numbering_jumps_over_the_range_kept_for_blocks(thread_hub: ThreadHub) -> None:
    kiosk = thread_hub.token("kiosk")
    day = reserve(thread_hub, kiosk, 10)["days"][0]
    set_counter(thread_hub, "A", day, 798)
    assert issue_online(thread_hub)["number"] == "A799"
    assert issue_online(thread_hub)["number"] == "A1000"  # never one of the kiosk's A800..A809
    # The day's counter is past the range now: a new kiosk's block comes after it.
    late = block_of(reserve(thread_hub, make_token(thread_hub.config, "kiosk"), 10), "general")
    assert (late["first"], late["last"]) == (1001, 1010)
    assert issue_online(thread_hub)["number"] == "A1011"


def test_a_full_range_sends_blocks_to_the_daily_counter(thread_hub: ThreadHub) -> None:
    kiosks = [make_token(thread_hub.config, "kiosk") for _ in range(5)]
    firsts = [block_of(reserve(thread_hub, k, 50), "taxes")["first"] for k in kiosks]
    # 800..999 holds four blocks of 50; the fifth comes from the daily counter.
    assert firsts == [800, 850, 900, 950, 1]
    assert issue_online(thread_hub, "taxes")["number"] == "C051"


def test_a_block_used_past_half_is_topped_up_with_a_new_one(thread_hub: ThreadHub) -> None:
    kiosk = thread_hub.token("kiosk")
    block = block_of(reserve(thread_hub, kiosk, 4), "taxes")
    now = thread_hub.clock()
    used = [item(f"C{n:03d}", now, "taxes") for n in range(block["first"], block["first"] + 3)]
    assert send(thread_hub, kiosk, used)["stored"] == 3
    blocks = [b for b in reserve(thread_hub, kiosk, 4)["blocks"] if b["service"] == "taxes"]
    assert [(b["first"], b["last"], b["next"]) for b in blocks] == [
        (800, 803, 803),
        (804, 807, 804),
    ]


def test_spools_merge_into_the_queue_in_issue_time_order(thread_hub: ThreadHub) -> None:
    clock = thread_hub.clock
    kiosk_1 = thread_hub.token("kiosk")
    kiosk_2 = make_token(thread_hub.config, "kiosk")
    b1 = block_of(reserve(thread_hub, kiosk_1, 10), "general")["first"]
    b2 = block_of(reserve(thread_hub, kiosk_2, 10), "general")["first"]
    t0 = clock()
    online_early = issue_online(thread_hub)  # issued at t0
    # The hub is "down" for ten minutes: the kiosks issue from their blocks.
    k1 = [
        item(f"A{b1:03d}", t0 + timedelta(minutes=1)),
        item(f"A{b1 + 1:03d}", t0 + timedelta(minutes=3)),
    ]
    k2 = [item(f"A{b2:03d}", t0 + timedelta(minutes=2), priority=None, lang="en")]
    clock.advance(minutes=10)
    online_late = issue_online(thread_hub)  # issued at t0 + 10 min, after the outage
    # Kiosk 1 sends its spool newest first: the hub orders it itself.
    merged_1 = send(thread_hub, kiosk_1, list(reversed(k1)))
    merged_2 = send(thread_hub, kiosk_2, k2)
    assert merged_1["stored"] == 2 and merged_2["stored"] == 1
    assert [r["status"] for r in merged_1["results"]] == [201, 201]
    assert merged_1["results"][0]["local_id"] == k1[1]["local_id"]
    assert merged_1["results"][1]["ticket"]["issued_at"] == k1[0]["issued_at"]
    k2_id = merged_2["results"][0]["ticket"]["id"]
    k2_read = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{k2_id}", headers=thread_hub.headers(), timeout=5
    )
    assert k2_read.json()["position"] == 3  # after online_early and A{b1}
    expected = [
        online_early["number"],
        f"A{b1:03d}",
        f"A{b2:03d}",
        f"A{b1 + 1:03d}",
        online_late["number"],
    ]
    called = [call_next(thread_hub) for _ in expected]
    assert [c["number"] for c in called if c] == expected
    assert call_next(thread_hub) is None


def test_a_resent_spool_is_answered_with_the_stored_tickets(thread_hub: ThreadHub) -> None:
    kiosk = thread_hub.token("kiosk")
    first = block_of(reserve(thread_hub, kiosk, 10), "certificates")["first"]
    now = thread_hub.clock()
    items = [
        item(f"B{first + i:03d}", now - timedelta(minutes=5 - i), "certificates") for i in range(3)
    ]
    once = send(thread_hub, kiosk, items)
    twice = send(thread_hub, kiosk, items)
    assert [r["status"] for r in once["results"]] == [201, 201, 201]
    assert [r["status"] for r in twice["results"]] == [200, 200, 200]
    assert [r["ticket"]["id"] for r in twice["results"]] == [
        r["ticket"]["id"] for r in once["results"]
    ]
    queue = requests.get(f"{thread_hub.url}/api/v1/queue", headers=thread_hub.headers(), timeout=5)
    waiting = {s["service"]: s["waiting"] for s in queue.json()["services"]}
    assert waiting["certificates"] == 3
    # the same local id with another number is refused, not stored
    clash = send(thread_hub, kiosk, [{**items[0], "number": f"B{first + 5:03d}"}])
    assert clash["results"][0]["error"] == "offline_local_id_reused"


def test_numbers_outside_the_kiosks_blocks_are_refused_item_by_item(
    thread_hub: ThreadHub,
) -> None:
    kiosk_1 = thread_hub.token("kiosk")
    kiosk_2 = make_token(thread_hub.config, "kiosk")
    mine = block_of(reserve(thread_hub, kiosk_1, 5), "general")
    theirs = block_of(reserve(thread_hub, kiosk_2, 5), "general")
    online = issue_online(thread_hub)["number"]
    now = thread_hub.clock()
    good = item(f"A{mine['first']:03d}", now)
    batch = [
        good,
        item(f"A{theirs['first']:03d}", now),  # another kiosk's block
        item(f"A{mine['last'] + 1:03d}", now),  # past the end of the block
        item(online, now),  # the hub's own number
        item(f"B{mine['first']:03d}", now),  # a prefix of another service
        item(f"A{mine['first'] + 1:03d}", now, "no_such_service"),
        item(f"A{mine['first'] + 1:03d}", now + timedelta(hours=2)),  # in the future
        {"local_id": "short", "number": "A002"},  # malformed
        item(f"A{mine['first'] + 1:03d}", now, priority="vip"),
        {**good, "local_id": uuid.uuid4().hex},  # the same number twice
    ]
    answer = send(thread_hub, kiosk_1, batch)
    codes = [r.get("error") or r["status"] for r in answer["results"]]
    assert codes == [
        201,
        "offline_number_not_reserved",
        "offline_number_not_reserved",
        "offline_number_not_reserved",
        "offline_number_invalid",
        "unknown_service",
        "offline_issued_at_out_of_range",
        "offline_item_invalid",
        "unknown_priority",
        "offline_number_used",
    ]
    assert [r["status"] for r in answer["results"][1:4]] == [409, 409, 409]
    assert answer["results"][7]["status"] == 422
    assert answer["stored"] == 1


def test_only_a_kiosk_token_uses_the_offline_endpoints(thread_hub: ThreadHub) -> None:
    for path, body in (("devices/blocks", {"size": 5}), ("tickets/offline", {"items": []})):
        r = requests.post(
            f"{thread_hub.url}/api/v1/{path}",
            json=body,
            headers=thread_hub.headers("staff", "1"),
            timeout=5,
        )
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    too_big = requests.post(
        f"{thread_hub.url}/api/v1/devices/blocks",
        json={"size": 5000},
        headers=thread_hub.headers("kiosk"),
        timeout=5,
    )
    assert too_big.status_code == 422 and too_big.json()["error"] == "invalid_request"


def test_next_day_blocks_stay_unique_across_midnight_and_old_tickets_are_kept_not_queued(
    thread_hub: ThreadHub,
) -> None:
    clock = thread_hub.clock
    kiosk = thread_hub.token("kiosk")
    today = reserve(thread_hub, kiosk, 5, next_day=True)
    assert today["days"] == ["2026-03-02", "2026-03-03"]
    tomorrow = block_of(today, "general", "2026-03-03")
    monday = block_of(today, "general", "2026-03-02")
    late_monday = clock() + timedelta(hours=12)  # 21:30 in Madrid
    clock.advance(days=1)  # Tuesday: the day starts at A001, the kiosk's block is kept apart
    assert issue_online(thread_hub)["number"] == "A001"
    answer = send(
        thread_hub,
        kiosk,
        [
            item(f"A{tomorrow['first']:03d}", clock() - timedelta(minutes=1)),
            item(f"A{monday['first']:03d}", late_monday),
        ],
    )
    fresh, stale = answer["results"]
    assert fresh["status"] == 201 and fresh["ticket"]["status"] == "waiting"
    assert stale["status"] == 201 and stale["stale"] is True
    assert stale["ticket"]["status"] == "cancelled"
    called = call_next(thread_hub)
    assert called is not None and called["number"] == f"A{tomorrow['first']:03d}"


def test_an_appointment_checked_in_offline_keeps_its_offline_number(thread_hub: ThreadHub) -> None:
    appointment = booked(thread_hub, "10:00")  # 09:00 UTC; the clock is at 08:30 UTC
    kiosk = thread_hub.token("kiosk")
    first = block_of(reserve(thread_hub, kiosk, 5), "general")["first"]
    at = thread_hub.clock() + timedelta(minutes=5)
    thread_hub.clock.advance(minutes=20)
    answer = send(
        thread_hub,
        kiosk,
        [
            item(f"A{first:03d}", at, channel="appointment", appointment_code=appointment["code"]),
            item(
                f"A{first + 1:03d}", at, channel="appointment", appointment_code=appointment["code"]
            ),
        ],
    )
    checked, again = answer["results"]
    assert checked["status"] == 201 and checked["ticket"]["number"] == f"A{first:03d}"
    assert checked["ticket"]["channel"] == "appointment"
    # the same code twice offline: the second ticket stays, as a walk-in, with the reason
    assert again["status"] == 201 and again["ticket"]["channel"] == "walk_in"
    assert again["appointment_reason"] == "appointment_replayed"
    read = requests.get(
        f"{thread_hub.url}/api/v1/appointments/{appointment['id']}",
        headers=thread_hub.headers("admin"),
        timeout=5,
    )
    assert read.status_code == 200 and read.json()["status"] == "checked_in"
    # Scanning the code again once the hub is back gives the number printed offline.
    online = check_in(thread_hub, appointment["code"])
    assert online.status_code == 200 and online.json()["ticket"]["number"] == f"A{first:03d}"


def test_an_online_ticket_whose_answer_was_lost_gives_way_to_the_offline_one(
    thread_hub: ThreadHub,
) -> None:
    kiosk = thread_hub.token("kiosk")
    first = block_of(reserve(thread_hub, kiosk, 5), "general")["first"]
    key = uuid.uuid4().hex
    # The hub issues the ticket, but the kiosk never sees the answer (the network dropped it)…
    lost = requests.post(
        f"{thread_hub.url}/api/v1/tickets",
        json={"service": "general"},
        headers={"Authorization": f"Bearer {kiosk}", "Idempotency-Key": key},
        timeout=5,
    ).json()
    # … so it issues offline under the same key, and prints that number.
    answer = send(
        thread_hub, kiosk, [{**item(f"A{first:03d}", thread_hub.clock()), "local_id": key}]
    )
    assert answer["results"][0]["status"] == 201
    gone = requests.get(
        f"{thread_hub.url}/api/v1/tickets/{lost['id']}", headers=thread_hub.headers(), timeout=5
    )
    assert gone.json()["status"] == "cancelled"
    called = call_next(thread_hub)
    assert called is not None and called["number"] == f"A{first:03d}"
    assert call_next(thread_hub) is None  # one citizen, one ticket in the queue
