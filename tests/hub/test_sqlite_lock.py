"""hub/db.py begin_immediate: the write lock is tried again every 0.2 ms, not after SQLite's
sleeps of 1, 2, 5, 10 ... ms, and a lock never released ends in SQLite's own "locked" error."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from hub.db import BUSY_TIMEOUT_MS, begin_immediate, make_engine


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def test_a_held_lock_is_tried_again_until_it_is_free(tmp_path: Path) -> None:
    holder, waiter = _connect(tmp_path / "a.db"), _connect(tmp_path / "a.db")
    tries: list[str] = []
    waiter.set_trace_callback(lambda sql: tries.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE t (x)")
    release = threading.Timer(0.05, lambda: holder.execute("COMMIT"))
    release.start()
    begin_immediate(waiter)
    release.join()
    waiter.execute("INSERT INTO t VALUES (1)")  # the lock is the waiter's now
    waiter.execute("COMMIT")
    # SQLite's busy handler would have run one BEGIN and slept inside it
    assert len(tries) >= 3
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)


def test_a_lock_never_released_gives_the_locked_error(tmp_path: Path) -> None:
    holder, waiter = _connect(tmp_path / "b.db"), _connect(tmp_path / "b.db")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as raised:
        begin_immediate(waiter, timeout_s=0.05)
    assert raised.value.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    assert waiter.in_transaction is False
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (BUSY_TIMEOUT_MS,)
    holder.execute("ROLLBACK")


def test_the_engine_begins_each_transaction_with_the_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url, pool_size=1)
    other = _connect(tmp_path / "c.db")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        # another connection cannot write while the engine's transaction is open
        with pytest.raises(sqlite3.OperationalError):
            begin_immediate(other, timeout_s=0.01)
    begin_immediate(other)
    other.execute("ROLLBACK")
    engine.dispose()
