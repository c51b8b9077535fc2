"""SQLite: the write-ahead log copied back into the database file by a thread of its own.

By default the connection that commits past 1,000 pages of log copies them into the database
file and syncs it, inside that commit: on the hub that is the event loop, and every request
waiting behind that commit waits for the copy and the sync too. The hub's connections turn that
off (make_engine(autocheckpoint=False)) and this thread checkpoints every quarter of a second
without taking the write lock (PASSIVE: the hub keeps committing meanwhile). When the log has
grown past `restart_pages` anyway (writers never left a moment to start it again from the top),
RESTART checkpoints are tried every millisecond for at most a second until one finds no writer
and no reader on the log, so that the next commit starts it again from the top (a reader that
keeps the log longer gets twenty periods of pause before the next second of tries). (SQLite's own
busy timeout would wait between tries for up to 100 ms, and miss the short gaps between the
hub's commits while the log kept growing.)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

log = logging.getLogger("office360.hub.wal")


class WalCheckpointer:
    def __init__(self, path: str, every_s: float = 0.25, restart_pages: int = 4_000) -> None:
        self.path = path
        self.every_s = every_s
        self.restart_pages = restart_pages
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.checkpoints = 0
        self._restart_after = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread, then one last checkpoint that waits for nobody (the hub is stopping:
        SQLite's last connection to close copies the rest and removes the log)."""
        self._stop.set()
        self._thread.join(timeout=10)
        conn = self._connect()
        if conn is not None:
            self._checkpoint(conn, "PASSIVE")
            conn.close()

    def _run(self) -> None:
        conn = None
        while not self._stop.wait(self.every_s):
            conn = conn or self._connect()
            if conn is None:
                continue
            done = self._checkpoint(conn, "PASSIVE")
            if done is not None and done[1] >= self.restart_pages:
                self._restart(conn)
        if conn is not None:
            conn.close()

    def _connect(self) -> sqlite3.Connection | None:
        try:
            conn = sqlite3.connect(  # no busy timeout: a busy RESTART is retried by _restart
                self.path, timeout=0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=NORMAL")  # the database file synced after a copy
        except sqlite3.Error as exc:
            log.warning("WAL checkpoints: cannot open %s: %s", self.path, exc)
            return None
        return conn

    def _restart(self, conn: sqlite3.Connection) -> None:
        """Tries for a second; a reader that keeps the log (a long read, a backup) is given
        twenty periods before the next second of tries."""
        if time.monotonic() < self._restart_after:
            return
        deadline = time.monotonic() + 1.0
        while not self._stop.is_set():
            done = self._checkpoint(conn, "RESTART")
            if done is None or not done[0]:
                return
            if time.monotonic() > deadline:
                self._restart_after = time.monotonic() + 20 * self.every_s
                return
            time.sleep(0.001)

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> tuple[bool, int] | None:
        """Runs one checkpoint: whether a writer or a reader kept it from finishing (busy), and
        the log's size in pages; None when it could not run. A busy checkpoint still tells the
        size: under constant writes that is when the log must be started again from the top."""
        try:
            busy, pages, _copied = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error as exc:  # a full disk, say: the hub reports it on its writes
            log.warning("WAL checkpoint (%s) failed: %s", mode, exc)
            return None
        self.checkpoints += 1
        return (bool(busy), int(pages)) if pages >= 0 else None
