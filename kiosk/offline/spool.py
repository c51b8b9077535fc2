"""The kiosk's offline spool: the number blocks the hub reserved for it, and every ticket it issued
from them, in one SQLite file under [device] state_dir.

A ticket is committed here (synchronous=FULL) before it is printed or shown, so a ticket a
citizen holds survives a power cut. Rows are tagged with a hash of the kiosk's token: the hub
knows a kiosk by its token, so blocks of another token (an earlier pairing) are never used, and
tickets of another token stay in the file, untouched, for the record.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from office360.core.numbering import format_number

SCHEMA = """
CREATE TABLE IF NOT EXISTS blocks (
    token TEXT NOT NULL,
    id INTEGER NOT NULL,
    service TEXT NOT NULL,
    prefix TEXT NOT NULL,
    day TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    next INTEGER NOT NULL,
    PRIMARY KEY (token, id)
);
CREATE TABLE IF NOT EXISTS tickets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL,
    local_id TEXT NOT NULL UNIQUE,
    block_id INTEGER NOT NULL,
    service TEXT NOT NULL,
    number TEXT NOT NULL,
    day TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    priority TEXT,
    lang TEXT NOT NULL,
    channel TEXT NOT NULL,
    appointment_code TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    hub_ticket TEXT,
    error TEXT,
    UNIQUE (token, day, number)
);
CREATE INDEX IF NOT EXISTS ix_tickets_state ON tickets (token, state, seq);
"""
PENDING, SENT, REFUSED = "pending", "sent", "refused"


@dataclass(frozen=True)
class SpooledTicket:
    local_id: str
    service: str
    number: str
    day: str
    issued_at: datetime
    priority: str | None
    lang: str
    channel: str
    appointment_code: str | None = None

    def item(self) -> dict[str, Any]:
        """What POST /api/v1/tickets/offline takes for this ticket."""
        body: dict[str, Any] = {
            "local_id": self.local_id,
            "service": self.service,
            "number": self.number,
            "issued_at": self.issued_at.isoformat(),
            "priority": self.priority,
            "lang": self.lang,
            "channel": self.channel,
        }
        if self.appointment_code:
            body["appointment_code"] = self.appointment_code
        return body


class Spool:
    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self.token = hashlib.sha256(token.encode()).hexdigest()[:16]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a printed ticket must survive a power cut
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- blocks ------------------------------------------------------------------------------

    def store_blocks(self, blocks: Iterable[Mapping[str, Any]], days: Iterable[str]) -> None:
        """The hub's answer to POST /devices/blocks: new blocks added, known ones keep the
        higher of the two next numbers, blocks of days before the first of `days` are dropped."""
        keep = sorted(set(days))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for b in blocks:
                    self._db.execute(
                        "INSERT INTO blocks (token, id, service, prefix, day, first, last, next)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (token, id) DO UPDATE SET next = max(next, excluded.next)",
                        (
                            self.token,
                            int(b["id"]),
                            str(b["service"]),
                            str(b["prefix"]),
                            str(b["day"]),
                            int(b["first"]),
                            int(b["last"]),
                            int(b["next"]),
                        ),
                    )
                if keep:  # a past day's numbers can no longer be given
                    self._db.execute(
                        "DELETE FROM blocks WHERE token = ? AND day < ?", (self.token, keep[0])
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def numbers_left(self, day: str, service: str | None = None) -> int:
        query = "SELECT coalesce(sum(last - next + 1), 0) FROM blocks WHERE token = ? AND day = ?"
        params: tuple[Any, ...] = (self.token, day)
        if service is not None:
            query += " AND service = ?"
            params += (service,)
        with self._lock:
            return int(self._db.execute(query, params).fetchone()[0])

    # --- tickets -----------------------------------------------------------------------------

    def issue(
        self,
        service: str,
        day: str,
        issued_at: datetime,
        lang: str,
        *,
        priority: str | None = None,
        channel: str = "walk_in",
        appointment_code: str | None = None,
        local_id: str | None = None,
    ) -> SpooledTicket | None:
        """The next number of the service's oldest block for `day`, stored before it is returned;
        None when no number is left. The same `local_id` again returns the same ticket."""
        local_id = local_id or uuid.uuid4().hex
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                known = self._db.execute(
                    "SELECT service, number, day, issued_at, priority, lang, channel,"
                    " appointment_code FROM tickets WHERE local_id = ?",
                    (local_id,),
                ).fetchone()
                if known is not None:
                    self._db.execute("COMMIT")
                    return _ticket(local_id, known)
                block = self._db.execute(
                    "SELECT id, prefix, next FROM blocks WHERE token = ? AND service = ?"
                    " AND day = ? AND next <= last ORDER BY first LIMIT 1",
                    (self.token, service, day),
                ).fetchone()
                if block is None:
                    self._db.execute("COMMIT")
                    return None
                block_id, prefix, seq = block
                number = format_number(prefix, seq)
                self._db.execute(
                    "UPDATE blocks SET next = next + 1 WHERE token = ? AND id = ?",
                    (self.token, block_id),
                )
                self._db.execute(
                    "INSERT INTO tickets (token, local_id, block_id, service, number, day,"
                    " issued_at, priority, lang, channel, appointment_code)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        self.token,
                        local_id,
                        block_id,
                        service,
                        number,
                        day,
                        issued_at.isoformat(),
                        priority,
                        lang,
                        channel,
                        appointment_code,
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return SpooledTicket(
            local_id, service, number, day, issued_at, priority, lang, channel, appointment_code
        )

    def pending(self, limit: int = 100) -> list[SpooledTicket]:
        """Tickets not yet accepted by the hub, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT local_id, service, number, day, issued_at, priority, lang, channel,"
                " appointment_code FROM tickets WHERE token = ? AND state = ? ORDER BY seq"
                " LIMIT ?",
                (self.token, PENDING, limit),
            ).fetchall()
        return [_ticket(r[0], r[1:]) for r in rows]

    def mark_sent(self, local_id: str, hub_ticket: Mapping[str, Any]) -> None:
        self._set(local_id, SENT, json.dumps(dict(hub_ticket)), None)

    def mark_refused(self, local_id: str, error: str) -> None:
        """The hub refused it for good (a coded 4xx): kept for the record, never sent again."""
        self._set(local_id, REFUSED, None, error)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT state, count(*) FROM tickets WHERE token = ? GROUP BY state",
                (self.token,),
            ).fetchall()
        found = {PENDING: 0, SENT: 0, REFUSED: 0}
        found.update({state: int(n) for state, n in rows})
        return found

    def _set(self, local_id: str, state: str, hub_ticket: str | None, error: str | None) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE tickets SET state = ?, hub_ticket = ?, error = ? WHERE local_id = ?",
                (state, hub_ticket, error, local_id),
            )


def _ticket(local_id: str, row: tuple[Any, ...]) -> SpooledTicket:
    service, number, day, issued_at, priority, lang, channel, code = row
    return SpooledTicket(
        local_id,
        service,
        number,
        day,
        datetime.fromisoformat(issued_at),
        priority,
        lang,
        channel,
        code,
    )
