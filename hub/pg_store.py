"""The last statement of a write group on PostgreSQL (hub/pg_tickets.py): the group's new tickets,
its events and the answers kept under Idempotency-Keys, one INSERT each from a JSON document,
and NOTIFY with the newest event id (hub/replication.py skips reading back what it published).

One statement for the whole group instead of one for each ticket and desk action: each statement
costs psycopg's Python (cursor, query, results) and the server's executor set-up, which cost more
than the rows themselves. The rows travel as JSON documents (orjson, in C) read by
json_to_recordset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from .replication import CHANNEL

STORE_GROUP = """
WITH ticket AS (
  INSERT INTO tickets (id, office_id, service_id, day, number, status, priority, lang, channel,
    issued_at, fair_at, recalls)
  SELECT id, office_id, service_id, day, number, 'waiting', priority, lang, channel, at, at, 0
  FROM json_to_recordset(%(tickets)s::json) AS t(id bigint, office_id text, service_id text,
    day text, number text, priority text, lang text, channel text, at timestamptz)
), stored AS (
  INSERT INTO events (id, office_id, type, at, payload)
  SELECT id, office_id, type, at, payload FROM json_to_recordset(%(events)s::json)
    AS e(id bigint, office_id text, type text, at timestamptz, payload text)
), answer AS (
  INSERT INTO idempotency (scope, key, request_hash, status_code, body, created_at)
  SELECT scope, key, request_hash, status_code, body, created_at
  FROM json_to_recordset(%(answers)s::json) AS a(scope text, key text, request_hash text,
    status_code int, body text, created_at timestamptz)
)
SELECT pg_notify(%(channel)s, %(newest)s)
"""
_TICKET = ("id", "office_id", "service_id", "day", "number", "priority", "lang", "channel", "at")
_EVENT = ("id", "office_id", "type", "at", "payload")
_ANSWER = ("scope", "key", "request_hash", "status_code", "body", "created_at")


class GroupRows:
    """What a group stores once its reads are done, row by row, sent as one statement."""

    def __init__(self) -> None:
        self.tickets: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []

    def ticket(self, *row: Any) -> None:
        """id, office, service, day, number, priority, lang, channel, issued at: a new waiting
        ticket, its fair time its issue time."""
        self.tickets.append(dict(zip(_TICKET, row, strict=True)))

    def add_events(
        self,
        office_id: str,
        now: datetime,
        ids: Sequence[int],
        emitted: Sequence[tuple[str, dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """Events with the ids given, in order; returns them as they are published."""
        published = []
        at = now.isoformat()
        for event_id, (kind, payload) in zip(ids, emitted, strict=True):
            text = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
            row = (event_id, office_id, kind, now, text)
            self.events.append(dict(zip(_EVENT, row, strict=True)))
            published.append(
                {"id": event_id, "type": kind, "office": office_id, "at": at} | payload
            )
        return published

    def answer(
        self, scope: str, key: str, request_hash: str, status: int, body: Any, at: datetime
    ) -> None:
        """The answer a repeated Idempotency-Key gets."""
        text = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS).decode()
        row = (scope, key, request_hash, status, text, at)
        self.answers.append(dict(zip(_ANSWER, row, strict=True)))

    def send(self, raw: Any) -> None:
        """Queue the statement in the pipeline of `raw` (nothing when there is nothing to store).
        The rows go as JSON: psycopg's own array adaptation escapes each value in Python."""
        if not (self.tickets or self.events or self.answers):
            return
        newest = max((event["id"] for event in self.events), default=None)
        params = {"channel": CHANNEL, "newest": "" if newest is None else str(newest)}
        params["tickets"] = orjson.dumps(self.tickets).decode()
        params["events"] = orjson.dumps(self.events).decode()
        params["answers"] = orjson.dumps(self.answers).decode()
        raw.execute(STORE_GROUP, params)
