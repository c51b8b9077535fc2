"""hub/wal.py: the log is copied back by its own thread, stays bounded, and is all copied at stop."""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import text

from hub.db import make_engine
from hub.wal import WalCheckpointer


def _writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as the hub's connections
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    return conn


def _wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_hub_engine_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with make_engine(url, autocheckpoint=False).connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    with make_engine(url).connect() as conn:  # the CLI's and the reports' engines keep SQLite's
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 1000


def test_without_the_thread_the_log_only_grows(tmp_path: Path) -> None:
    path = tmp_path / "alone.db"
    conn = _writer(path)
    for _ in range(300):
        conn.execute("INSERT INTO t (body) VALUES (randomblob(4000))")
    assert _wal_bytes(path) > 300 * 4096


def test_log_stays_bounded_under_constant_writes_and_is_copied_at_stop(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    conn = _writer(path)
    checkpointer = WalCheckpointer(str(path), every_s=0.02, restart_pages=100)
    checkpointer.start()
    largest = 0
    deadline = time.monotonic() + 1.5
    written = 0
    while time.monotonic() < deadline:  # as the hub: a group of commits, then its answers
        for _ in range(10):
            conn.execute("INSERT INTO t (body) VALUES (randomblob(4000))")
            written += 1
        largest = max(largest, _wal_bytes(path))
        time.sleep(0.002)
    checkpointer.stop()
    assert written > 500 and checkpointer.checkpoints > 10
    # without the thread the log would hold every page written (the test above)
    assert largest < written * 4096 / 3
    # the database file alone, without its log, holds every row: all was copied back
    alone = tmp_path / "alone-copy.db"
    shutil.copyfile(path, alone)
    with sqlite3.connect(alone) as copy:
        assert copy.execute("SELECT count(*) FROM t").fetchone()[0] == written
    copy.close()
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == written
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_checkpoint_that_fails_is_logged_and_the_thread_goes_on(
    tmp_path: Path, caplog: object
) -> None:
    path = tmp_path / "gone" / "missing.db"  # a folder that does not exist: cannot open
    checkpointer = WalCheckpointer(str(path), every_s=0.01)
    checkpointer.start()
    time.sleep(0.1)
    assert checkpointer._thread.is_alive()
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
    assert "cannot open" in caplog.text  # type: ignore[attr-defined]
    assert not os.path.exists(path)


def test_a_reader_that_keeps_the_log_gets_a_pause_between_seconds_of_restart_tries(
    tmp_path: Path,
) -> None:
    path = tmp_path / "read.db"
    conn = _writer(path)
    for _ in range(50):
        conn.execute("INSERT INTO t (body) VALUES (randomblob(4000))")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds its snapshot of the log
    conn.execute("INSERT INTO t (body) VALUES (randomblob(4000))")  # the log cannot be restarted
    checkpointer = WalCheckpointer(str(path), every_s=0.02, restart_pages=10)
    checkpointer.start()
    try:
        time.sleep(1.15)  # a second of tries every millisecond, then 20 periods of pause
        during = checkpointer.checkpoints
        time.sleep(0.2)
        paused = checkpointer.checkpoints - during
    finally:
        checkpointer.stop()
        reader.execute("COMMIT")
    assert during > 100  # it did try
    assert paused < 40  # PASSIVE checkpoints only, every 20 ms (tries: one a millisecond)
