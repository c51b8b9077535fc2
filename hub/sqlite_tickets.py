"""Issuing the plain tickets of a group on SQLite in a few statements a group instead of about ten a
ticket.

HubState.write_batched gathers the writes that arrive in one turn of the event loop, and
HubService.run_batch writes them in one transaction. The plain tickets among them (hub/fastpath.py's
requests, with no outbox hook installed) come here together: one look-up of their
Idempotency-Keys, one read and one write of the day's counter of each prefix, one read of each
service's counts, then one statement each for the tickets, their events and their stored answers.

The use case is the same as HubService.issue_ticket's under run_write: the values, the answers,
the events and their order, the idempotency rows, the ids. Rows inserted from one statement take
their ids in the order the statement gives them (SQLite gives a new row the largest id plus one),
so the tickets and events are numbered as one insert after another would number them. Counts read
from the database do not see the group's own tickets; they are added here. A key given twice in
one group goes to the generic path after the group, in the same transaction, which replays the
first's answer. Requests that are not plain (hub/ticket_requests.py is_plain) never come here:
run_batch writes them one by one before the group, and the generic path gives their errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from office360.core import events as ev
from office360.core.model import TicketStatus
from office360.core.numbering import format_number, local_day

from . import repository as repo
from .fastsql import db_time
from .offline_repo import OFFLINE_TOP
from .pg_desks import replayed
from .ticket_requests import TicketRequest, is_plain, issue_generic

if TYPE_CHECKING:
    from office360.config import OfficeSettings, ServiceSettings

    from .services import HubService, Outcome

_KEYS = """
SELECT json_extract(j.value, '$[0]'), i.request_hash, i.status_code, i.body
FROM json_each(?) AS j JOIN idempotency AS i
  ON i.scope = json_extract(j.value, '$[1]') AND i."key" = json_extract(j.value, '$[2]')
"""
_COUNTER = "SELECT last_seq FROM counters WHERE office_id = ? AND prefix = ? AND day = ?"
_COUNTER_SET = """
INSERT INTO counters (office_id, prefix, day, last_seq) VALUES (?, ?, ?, ?)
ON CONFLICT (office_id, prefix, day) DO UPDATE SET last_seq = excluded.last_seq
"""


def _insert_from_json(table: str, columns: tuple[str, ...]) -> str:
    picked = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(columns)))
    names = ", ".join(f'"{c}"' for c in columns)
    return (
        f"INSERT INTO {table} ({names}) SELECT {picked} FROM json_each(?) ORDER BY key RETURNING id"
    )


_TICKETS = _insert_from_json("tickets", repo.TICKET_COLUMNS)
_EVENTS = _insert_from_json("events", ("office_id", "type", "at", "payload"))
_ANSWERS = _insert_from_json(
    "idempotency", ("scope", "key", "request_hash", "status_code", "body", "created_at")
).removesuffix(" RETURNING id")


@dataclass
class _Fresh:
    n: int
    request: TicketRequest
    office: OfficeSettings
    service: ServiceSettings
    lang: str
    row: Any = None
    ahead: int = 0
    after: tuple[int, datetime] | None = None


class SqliteTickets:
    def __init__(self, service: HubService) -> None:
        self.svc = service

    def issue(self, request: TicketRequest) -> Outcome:
        """A ticket alone, through the generic path (run_batch groups the plain ones itself)."""
        return issue_generic(self.svc, request)

    def plain(self, request: TicketRequest) -> bool:
        return is_plain(self.svc, request)

    def write_group(
        self, conn: Connection, requests: list[TicketRequest]
    ) -> list[Outcome | Exception | None]:
        """Each request's outcome, or None for those left to the generic path (after this)."""
        results: list[Outcome | Exception | None] = [None] * len(requests)
        keyed: set[tuple[str, str]] = set()
        mine: list[tuple[int, TicketRequest]] = []
        for n, request in enumerate(requests):
            if request.idem_key:
                key = (request.principal.scope, request.idem_key)
                if key in keyed:  # the generic path, after the group, replays the first's answer
                    continue
                keyed.add(key)
            mine.append((n, request))
        raw: Any = conn.connection.dbapi_connection
        cursor = raw.cursor()
        try:
            priors = self._priors(cursor, mine)
            fresh: list[_Fresh] = []
            for n, request in mine:
                if n in priors:
                    results[n] = replayed(request.request_hash, priors[n])
                else:
                    fresh.append(self._target(n, request))
            if fresh:
                now = self.svc.clock()
                self._number(cursor, fresh, now)
                self._count(conn, fresh, now)
                self._store(conn, cursor, fresh, now, results)
        finally:
            cursor.close()
        return results

    def _priors(self, cursor: Any, mine: list[tuple[int, TicketRequest]]) -> dict[int, Any]:
        keys = [[n, r.principal.scope, r.idem_key] for n, r in mine if r.idem_key]
        if not keys:
            return {}
        cursor.execute(_KEYS, (orjson.dumps(keys).decode(),))
        return {int(row[0]): row[1:] for row in cursor.fetchall()}

    def _target(self, n: int, request: TicketRequest) -> _Fresh:
        fields = request.fields
        office = self.svc.office(fields["office"], request.principal)
        service = next(s for s in office.services if s.id == fields["service"])
        lang = fields["lang"] if fields["lang"] in office.languages else office.languages[0]
        return _Fresh(n, request, office, service, lang)

    def _number(self, cursor: Any, fresh: list[_Fresh], now: datetime) -> None:
        """The next numbers of each prefix, past the range kept for offline blocks, as
        HubService.issue_ticket gives them one at a time."""
        counters: dict[tuple[str, str, str], int | None] = {}
        offline_from = self.svc._offline_from
        for item in fresh:
            day = local_day(now, item.office.timezone).isoformat()
            counter = (item.office.id, item.service.prefix, day)
            if counter not in counters:
                cursor.execute(_COUNTER, counter)
                found = cursor.fetchone()
                counters[counter] = int(found[0]) if found else None
            seq = (counters[counter] or 0) + 1
            if offline_from <= seq <= OFFLINE_TOP:
                seq = OFFLINE_TOP + 1
            counters[counter] = seq
            item.row = SimpleNamespace(
                id=0,
                office_id=item.office.id,
                service_id=item.service.id,
                day=day,
                number=format_number(item.service.prefix, seq),
                status=TicketStatus.WAITING.value,
                priority=item.request.fields["priority"],
                lang=item.lang,
                channel=item.request.fields["channel"],
                issued_at=now,
                fair_at=now,
                slot_at=None,
                called_at=None,
                desk_id=None,
                recalls=0,
                appointment_id=None,
            )
        for (office_id, prefix, day), last in counters.items():
            cursor.execute(_COUNTER_SET, (office_id, prefix, day, last))

    def _count(self, conn: Connection, fresh: list[_Fresh], now: datetime) -> None:
        """Who is ahead of each ticket, and its service's counts after it, as the generic path
        reads them one transaction after another."""
        svc = self.svc
        read: dict[tuple[str, str], tuple[int, datetime | None]] = {}
        special: dict[tuple[str, str], int] = {}
        earlier: dict[tuple[str, str], list[str | None]] = {}
        for item in fresh:
            target = (item.office.id, item.service.id)
            if target not in read:
                read[target] = repo.service_stats(conn, *target, now)
            priority = item.request.fields["priority"]
            if priority is not None and target not in special:
                special[target] = repo.count_ahead_of_priority(
                    conn, *target, now, svc._starved_before(now)
                )
            before = earlier.setdefault(target, [])
            waiting, oldest = read[target]
            waiting += len(before)
            if before:
                oldest = min(oldest, now) if oldest else now
            if priority is None:
                item.ahead = waiting
            else:
                item.ahead = special[target] + sum(1 for p in before if p is not None)
            before.append(priority)
            item.after = (waiting + 1, min(oldest, now) if oldest else now)

    def _store(
        self,
        conn: Connection,
        cursor: Any,
        fresh: list[_Fresh],
        now: datetime,
        results: list[Outcome | Exception | None],
    ) -> None:
        from .services import Outcome

        svc = self.svc
        at = db_time(conn, now)
        times = ("issued_at", "fair_at")
        tickets = [
            [at if c in times else getattr(item.row, c, None) for c in repo.TICKET_COLUMNS]
            for item in fresh
        ]
        cursor.execute(_TICKETS, (orjson.dumps(tickets).decode(),))
        ticket_ids = sorted(int(row[0]) for row in cursor.fetchall())
        events: list[list[Any]] = []
        made: list[tuple[dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]]] = []
        for item, ticket_id in zip(fresh, ticket_ids, strict=True):
            item.row.id = ticket_id
            estimate = svc._estimate(conn, item.office, item.service.id, item.ahead)
            body = svc._ticket_json(conn, item.row, position=item.ahead + 1, estimate=estimate)
            assert item.after is not None
            known = {item.service.id: item.after}
            stats = svc._service_stats(conn, item.office, [item.service.id], now, known)
            payloads = (
                (ev.TICKET_ISSUED, {"ticket": svc._event_ticket(item.row)}),
                (ev.QUEUE_CHANGED, {"services": stats}),
            )
            for kind, payload in payloads:
                text = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
                events.append([item.office.id, kind, at, text])
            made.append((body, payloads))
        cursor.execute(_EVENTS, (orjson.dumps(events).decode(),))
        event_ids = iter(sorted(int(row[0]) for row in cursor.fetchall()))
        answers = []
        stored_at = db_time(conn, svc.clock())
        for item, (body, payloads) in zip(fresh, made, strict=True):
            emitted: list[dict[str, Any]] = []
            for kind, payload in payloads:
                svc._emitted(conn, emitted, next(event_ids), item.office.id, kind, now, payload)
            request = item.request
            if request.idem_key:
                text = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS).decode()
                scope = request.principal.scope
                answers.append(
                    [scope, request.idem_key, request.request_hash, 201, text, stored_at]
                )
            results[item.n] = Outcome(201, body, emitted)
        if answers:
            cursor.execute(_ANSWERS, (orjson.dumps(answers).decode(),))
