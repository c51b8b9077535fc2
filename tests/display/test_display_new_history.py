"""A hub whose history started over (its database restored from a backup): the display follows.

The display has seen events up to N; the hub comes back with a database whose newest event is
M < N and opens the stream with `id: M`. The board must start over from M, take a fresh /queue
snapshot, and show and announce the next call, whose id is at most N.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from display.board import BoardState, apply_event, apply_snapshot, describe, new_history
from office360.client import HubClient
from tests.display.display_probe import ProbedDisplay, display_config
from tests.hubtools import LiveHub, database_url_for

AT = "2026-03-02T08:59:50+00:00"


def ticket(number: str, desk: str) -> dict[str, Any]:
    return {"number": number, "desk": desk, "desk_name": f"Mostrador {desk}", "status": "called"}


def called(event_id: int, number: str, desk: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "ticket.called",
        "office": "centro",
        "at": AT,
        "ticket": ticket(number, desk),
    }


def test_new_history_forgets_the_old_calls_and_takes_the_hubs_ids() -> None:
    state = BoardState(office="centro")
    for event_id, number in ((40, "A001"), (41, "A002"), (42, "A003")):
        state, _ = apply_event(state, called(event_id, number, "1"))
    assert apply_event(state, called(7, "A002", "2")) == (state, None)  # the bug: dropped

    state = new_history(state, 6)
    assert describe(state)["current"] is None and state.previous == ()
    assert state.last_event_id == 6 and state.calls == 3 and state.office == "centro"
    snapshot = {
        "services": [{"service": "general", "waiting": 1}],
        "desks": [{"id": "1", "current": ticket("A001", "1")}],
    }
    state = apply_snapshot(state, snapshot)
    assert describe(state)["current"] == "A001" and describe(state)["waiting"] == {"general": 1}
    state, announcement = apply_event(state, called(7, "A002", "2"))
    assert announcement is not None and (announcement.number, announcement.desk) == ("A002", "2")
    assert describe(state)["previous"] == ["A001"] and state.last_event_id == 7


def _sqlite_file(hub: LiveHub) -> Path:
    url = database_url_for(hub.config)
    if not url.startswith("sqlite:///"):
        pytest.skip("restores an SQLite file; the PostgreSQL run has no file to copy")
    return Path(url.removeprefix("sqlite:///"))


def _backup(database: Path, target: Path) -> None:
    """sqlite3's online backup, as an operator's nightly copy of a running hub would be."""
    with sqlite3.connect(database) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    copy.close()
    source.close()


def _restore(hub: LiveHub, database: Path, backup: Path) -> None:
    hub.stop()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(backup.read_bytes())
    hub.start()


@pytest.mark.ui
def test_a_hub_restored_from_a_backup_still_reaches_the_board(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    database = _sqlite_file(live_hub)
    # every token before the backup, so the restored database still knows them
    tokens = {role: live_hub.token(role) for role in ("kiosk", "display")}
    desks = {d: live_hub.token("staff", desk=d) for d in ("1", "2")}

    def desk(desk_id: str) -> HubClient:
        return HubClient(live_hub.url, desks[desk_id], office="centro", backoff_s=0.05)

    config = display_config(live_hub.config, live_hub.url, tokens["display"], tmp_path)
    display = ProbedDisplay(config, "1280x720", silent=True)
    try:
        display.wait_for(lambda m: m.get("event") == "ready")
        display.board(lambda m: m["connection"] == "connected")
        with HubClient(live_hub.url, tokens["kiosk"], office="centro") as kiosk:
            for _ in range(4):
                kiosk.issue_ticket("general")
        with desk("1") as desk1:
            desk1.desk_action("1", "next")  # A001, in the backup
        display.board(lambda m: m["current"] == "A001")
        backup = tmp_path / "backup.db"
        _backup(database, backup)

        with desk("1") as desk1:
            for _ in range(2):
                desk1.desk_action("1", "start")
                desk1.desk_action("1", "next")  # A002, A003: lost with the restore
        before = display.board(lambda m: m["current"] == "A003")
        seen_up_to = before["last_event_id"]
        display.wait_for(lambda m: m.get("event") == "spoken" and "A 3" in m["texts"][0])
        spoken_before = sum(1 for m in display.messages if m.get("event") == "spoken")

        restoring = time.monotonic()
        _restore(live_hub, database, backup)
        restored = display.board(
            lambda m: (
                m["t"] > restoring
                and m["connection"] == "connected"
                and m["last_event_id"] is not None
                and m["last_event_id"] < seen_up_to
            )
        )
        # a fresh /queue snapshot: the backup's desk 1 has A001; A002 and A003 never happened
        display.board(lambda m: m["t"] >= restored["t"] and m["current"] == "A001")

        with desk("2") as desk2:
            again = desk2.desk_action("2", "next")
        assert again is not None and again["number"] == "A002"
        shown = display.board(lambda m: m["current"] == "A002" and m["desk"] == "2")
        assert shown["last_event_id"] <= seen_up_to  # the ids the old board would have dropped
        assert shown["previous"] == ["A001"]
        display.wait_for(
            lambda m: m.get("event") == "spoken" and m["texts"][0] == "Número A 2, mostrador 2"
        )
        spoken = [m["texts"][0] for m in display.messages if m.get("event") == "spoken"]
        assert spoken[spoken_before:] == ["Número A 2, mostrador 2"]  # nothing old again
    finally:
        display.close()
