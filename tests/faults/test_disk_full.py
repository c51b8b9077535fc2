"""The hub's disk full while kiosks issue tickets.

The hub must answer a coded error (503 `storage_full`, Retry-After: kiosks retry later or issue
offline, as when the hub is unreachable), never a 500; reads go on working; the database stays
whole (`PRAGMA integrity_check` = ok) with every ticket that got 201; once there is space again
the hub writes again by itself, without a restart.

The fault is real, made by the operating system, in two ways (tests/faults/fullhub.py): a full
filesystem (a small tmpfs in a private mount namespace, filled with a ballast file: ENOSPC,
SQLite's SQLITE_FULL), which is what a Raspberry Pi's SD card does; and a file-size limit
(RLIMIT_FSIZE set on the running hub: EFBIG on every write, SQLite's SQLITE_IOERR_WRITE), which
needs no namespaces and shows the hub treats a failing disk the same way.
PRAGMA max_page_count was not used: it stops SQLite itself, not the disk, so it would not show how
the hub's other writes (the log, the WAL, checkpoints) behave.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import requests

from tests.faults.fullhub import FullableHub, user_namespaces_missing
from tests.faults.load import TicketLoad

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["filesystem", "file_size_limit"])
def fullable_hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullableHub]:
    if request.param == "filesystem":
        reason = user_namespaces_missing()
        if reason:
            pytest.skip(reason)
    hub = FullableHub(tmp_path, request.param)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


def wait_until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


DESK_1_SERVICES = {"general", "certificates"}  # tests/hubtools.py


def oldest_for_desk_1(load: TicketLoad) -> str:
    """The number desk 1 must call first: the oldest accepted ticket of the services it serves
    (general is A, certificates B; either may have been issued first)."""
    mine = [t for t in list(load.accepted.values()) if t["service"] in DESK_1_SERVICES]
    return str(min(mine, key=lambda t: (datetime.fromisoformat(t["issued_at"]), t["id"]))["number"])


def test_disk_full_refuses_writes_cleanly_and_recovers(fullable_hub: FullableHub) -> None:
    hub = fullable_hub
    admin = hub.headers("admin")
    load = TicketLoad(hub.url, hub.headers("kiosk"), give_up_after_s=40).start()
    try:
        load.wait_for(30)
        hub.fill_disk()
        full_at = time.monotonic()
        wait_until(
            lambda: any(a.status == 503 and a.at > full_at for a in list(load.answers)),
            15,
            "the hub went on accepting tickets on a full disk",
        )
        # Reads go on: a ticket, the queue, the health check, and a desk's view of the queue.
        some = next(iter(list(load.accepted.values())))
        got = requests.get(f"{hub.url}/api/v1/tickets/{some['id']}", headers=admin, timeout=5)
        assert got.status_code == 200 and got.json()["number"] == some["number"]
        queue = requests.get(f"{hub.url}/api/v1/queue", headers=admin, timeout=5)
        assert queue.status_code == 200 and queue.json()["services"]
        assert requests.get(f"{hub.url}/healthz", timeout=5).status_code == 200
        # A desk's write is refused the same clear way, or, when the checkpoint thread (hub/wal.py)
        # has just let the log start again in space the file already holds, it is stored.
        call = requests.post(f"{hub.url}/api/v1/desks/1/next", headers=admin, timeout=5)
        if call.status_code == 503:
            assert call.json()["error"] == "storage_full", call.text
            assert call.headers.get("Retry-After"), call.headers
            first_called = None
        else:
            assert call.status_code == 200, call.text
            assert call.json()["number"] == oldest_for_desk_1(load), call.text
            first_called = call.json()["id"]
        time.sleep(0.5)

        hub.free_disk()
        freed_at = time.monotonic()
        wait_until(lambda: load.first_201_after(freed_at) is not None, 10, "hub stuck")
        recovered_s = (load.first_201_after(freed_at) or 0) - freed_at
        load.wait_for(load.count() + 30)
        if first_called is None:
            # The refused call left the desk as it was: it calls now, the oldest waiting ticket.
            call = requests.post(f"{hub.url}/api/v1/desks/1/next", headers=admin, timeout=5)
            assert call.status_code == 200, call.text
            assert call.json()["number"] == oldest_for_desk_1(load), call.text
            first_called = call.json()["id"]
        desk = requests.get(f"{hub.url}/api/v1/tickets/{first_called}", headers=admin, timeout=5)
        assert desk.json()["status"] == "called" and desk.json()["desk"] == "1", desk.text
    finally:
        load.stop()

    refused = [a for a in load.answers if a.status != 201]
    assert refused
    for answer in refused:
        assert answer.status == 503, (answer.status, answer.body)
        assert answer.body is not None and answer.body["error"] == "storage_full", answer.body
        assert answer.retry_after is not None
    assert not load.unresolved

    copy = hub.copy_database(hub.folder / "copy")
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {int(i): str(n) for i, n in db.execute("SELECT id, number FROM tickets")}
    db.close()
    accepted = {int(t["id"]): str(t["number"]) for t in load.accepted.values()}
    assert accepted.items() <= stored.items(), "a ticket that got 201 is not in the database"
    assert len(stored) == len(accepted), "a ticket was stored that nobody was told of"
    assert len(set(stored.values())) == len(stored), "a number was given twice"
    print(
        f"{hub.way}: answers {load.statuses()}, first 201 {recovered_s:.2f}s after space came back"
    )
