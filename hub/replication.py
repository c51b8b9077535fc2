"""Events across hub replicas on one PostgreSQL database.

Every write transaction that stores events also sends `NOTIFY office360_events` (delivered at
commit). Each hub process keeps one listening connection; on a notification it reads the events
after the last one it published, in id order, and hands them to its broker. Writes commit one at a
time (see HubService.transaction), so ids become visible in increasing order and a subscriber on any
replica sees every event once, in order, and can resume with Last-Event-ID on any replica.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

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
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            break
                        # after a notification, and once a second in case one was lost
                        self._catch_up(conn)
            except Exception:  # the database restarting: reconnect and catch up from last_id
                log.warning("event tailer lost its connection; reconnecting", exc_info=True)
                self._ready.set()
                self._stop.wait(1.0)

    def _catch_up(self, conn: Any) -> None:
        while True:
            rows = conn.execute(
                "SELECT id, office_id, type, at, payload FROM events WHERE id > %s "
                "ORDER BY id LIMIT 1000",
                (self.last_id,),
            ).fetchall()
            if not rows:
                return
            events = [
                {
                    "id": r[0],
                    "type": r[2],
                    "office": r[1],
                    "at": r[3].isoformat(),
                    **json.loads(r[4]),
                }
                for r in rows
            ]
            self.last_id = int(rows[-1][0])
            self.loop.call_soon_threadsafe(self.broker.publish, events)
            if len(rows) < 1000:
                return
