"""Events across hub replicas on one PostgreSQL database.

Every write transaction that stores events also sends `NOTIFY office360_events` (delivered at
commit). Each hub process keeps one listening connection; on a notification it reads the events
after the last one it published, in id order, and hands them to its broker. Writes commit one at a
time (see HubService.transaction), so ids become visible in increasing order and a subscriber on any
replica sees every event once, in order, and can resume with Last-Event-ID on any replica.

A process's own events need not be read back: once committed they go to its broker at once when
they follow the last event it published (no other replica wrote in between); otherwise the
tailer reads them from the table with the others'. A write group's NOTIFY carries its newest
event id (hub/pg_store.py), so the notification of a commit already published costs no query.
With nobody subscribed, nothing is decoded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from typing import Any

import orjson

from .events import Broker

log = logging.getLogger("office360.hub.replication")
CHANNEL = "office360_events"
NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', '')"


class EventTailer:
    """Follows the events table of a PostgreSQL database and publishes what other writers stored."""

    def __init__(self, url: str, broker: Broker, loop: asyncio.AbstractEventLoop) -> None:
        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self.broker = broker
        self.loop = loop
        self.last_id = 0
        """The last event handed to the broker (or passed over while nobody subscribed)."""
        self._lock = threading.Lock()  # last_id, and publishing in its order
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-tailer", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if not self.last_id:
                        row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
                        self.last_id = int(row[0]) if row else 0
                    self._ready.set()
                    self._catch_up(conn)
                    while not self._stop.is_set():
                        newest = None
                        for notice in conn.notifies(timeout=1.0, stop_after=1):
                            newest = notice.payload
                            break
                        if newest and newest.isdigit() and int(newest) <= self.last_id:
                            continue  # a commit of this process, already published
                        # after a notification, and once a second in case one was lost
                        self._catch_up(conn)
            except Exception:  # the database restarting: reconnect and catch up from last_id
                log.warning("event tailer lost its connection; reconnecting", exc_info=True)
                self._ready.set()
                self._stop.wait(1.0)

    def committed(self, events: Sequence[dict[str, Any]]) -> None:
        """Events this process has just committed (any thread): published at once when their
        ids follow the last one published without a gap, else left for _catch_up to read."""
        if not events:
            return
        ordered = sorted(events, key=lambda e: int(e["id"]))
        first, last = int(ordered[0]["id"]), int(ordered[-1]["id"])
        if last - first + 1 != len(ordered):
            return
        with self._lock:
            if first != self.last_id + 1:
                return
            self.last_id = last
            if len(self.broker):
                self.loop.call_soon_threadsafe(self.broker.publish, ordered)

    def _catch_up(self, conn: Any) -> None:
        # Both planned at each call (prepare=False), with a bounded range: a plan kept from when
        # the table was small, or made without its statistics, scans the whole table.
        while True:
            newest = conn.execute("SELECT max(id) FROM events", prepare=False).fetchone()
            if newest is None or newest[0] is None or newest[0] <= self.last_id:
                return  # nothing new, or only what this process has published itself
            rows = conn.execute(
                "SELECT id, office_id, type, at, payload FROM events WHERE id > %s AND id <= %s "
                "ORDER BY id LIMIT 1000",
                (self.last_id, newest[0]),
                prepare=False,
            ).fetchall()
            if not rows:
                return
            with self._lock:  # the writer may have published some of them meanwhile
                fresh = [r for r in rows if r[0] > self.last_id]
                if fresh:
                    self.last_id = int(fresh[-1][0])
                # counted after the read: a subscriber that comes later replays these itself
                if fresh and len(self.broker):
                    events = [
                        {"id": r[0], "type": r[2], "office": r[1], "at": r[3].isoformat()}
                        | orjson.loads(r[4])
                        for r in fresh
                    ]
                    self.loop.call_soon_threadsafe(self.broker.publish, events)
            if len(rows) < 1000:
                return


class SqliteEventTailer:
    """Events across hub worker processes on one SQLite file (`[hub] workers` > 1).

    Writes take the file's write lock at BEGIN, so event ids commit in increasing order. The
    worker that commits publishes its own events at once when they follow the last id it
    published; otherwise, and for what the other workers commit, it reads the events table by id.
    Other workers' commits are noticed by polling `PRAGMA data_version` (a counter SQLite bumps
    when another connection commits: microseconds, no disk access) every `poll_s`, only while
    this process has subscribers. Runs on the event loop, like the hub's SQLite work.
    """

    def __init__(self, path: str, broker: Broker, poll_s: float = 0.004) -> None:
        import sqlite3

        self.broker = broker
        self.poll_s = poll_s
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.version = self._data_version()
        self.last_id = self._max_id()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        broker.watcher = self.wake

    def _data_version(self) -> int:
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def _max_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0])

    def wake(self) -> None:
        """The first subscriber arrived: start from the newest event (the subscriber reads what
        came before from the database itself) and poll while anyone listens."""
        if self._timer is not None:
            return
        self._loop = asyncio.get_running_loop()
        try:
            self.version = self._data_version()
            self.last_id = max(self.last_id, self._max_id())
        except Exception:  # older events may then come twice; subscribers skip ids they have
            log.warning("event tailer could not read the newest event id", exc_info=True)
        self._timer = self._loop.call_later(self.poll_s, self._tick)

    def published(self, events: list[dict[str, Any]]) -> None:
        """Events this process has just committed."""
        if not events:
            return
        if not len(self.broker):
            self.last_id = max(self.last_id, int(events[-1]["id"]))
        elif int(events[0]["id"]) == self.last_id + 1:
            self.last_id = int(events[-1]["id"])
            self.broker.publish(events)
        else:
            try:
                self.catch_up()
            except Exception:  # the request has committed: never fail it; the next tick retries
                log.warning("event tailer could not read the events", exc_info=True)

    def _tick(self) -> None:
        self._timer = None
        if not len(self.broker):
            return  # nobody listens; wake() starts again from the newest event
        try:
            version = self._data_version()
            if version != self.version:
                self.version = version
                self.catch_up()
        except Exception:  # a locked or vanished file: try again on the next tick
            log.warning("event tailer could not read the events", exc_info=True)
        assert self._loop is not None
        self._timer = self._loop.call_later(self.poll_s, self._tick)

    def catch_up(self) -> None:
        from .fastsql import from_db_time

        while True:
            rows = self.conn.execute(
                "SELECT id, office_id, type, at, payload FROM events WHERE id > ? "
                "ORDER BY id LIMIT 1000",
                (self.last_id,),
            ).fetchall()
            if not rows:
                return
            events = []
            for r in rows:
                at = from_db_time(r[3])
                assert at is not None
                events.append(
                    {"id": r[0], "type": r[2], "office": r[1], "at": at.isoformat()}
                    | orjson.loads(r[4])
                )
            self.last_id = int(rows[-1][0])
            self.broker.publish(events)
            if len(rows) < 1000:
                return

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.conn.close()
