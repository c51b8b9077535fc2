"""Issuing tickets on PostgreSQL in two round trips a batch instead of about fourteen a ticket.

The generic path (HubService.run_write + issue_ticket) runs each of its statements as a round
trip to the server: BEGIN, the write lock, the idempotency look-up, the counter, three counts, the
ticket, two events, NOTIFY, the idempotency row, COMMIT. Here they go through psycopg's pipeline
mode, for one ticket or for the several that arrived while the previous batch was being written
(group commit, HubState.write_grouped), in one transaction, with the desk actions that arrived
with them (hub/pg_desks.py, written first: their reads then take the first round trip, their
updates go before the tickets' statements, their events and answers with the tickets'):

1. BEGIN, the write lock (a statement of its own, so that what follows reads after it is held),
   then for each ticket one statement that looks up its Idempotency-Key and, when the key is new,
   bumps the day's counter (past the numbers kept for offline blocks) and reads the waiting
   count, the earliest fair time and the ids of the ticket and its two events;
2. one statement for the whole group that inserts the tickets, their events and idempotency rows
   (with the desk actions') and sends NOTIFY (hub/pg_store.py); then COMMIT.

The use case is the same: the values, the response, the events and their order, the idempotency
row, the lock that makes event ids commit in increasing order (hub/replication.py). Ids come from
the tables' own sequences while the lock is held, as the inserts would take them. Counts read in
step 1 do not yet see the batch's own tickets; they are added here, as the generic path would
have seen them one transaction after another. Anything but a plain, valid request (an outbox hook
installed, a check that would fail) goes to the generic path, which stays the reference and gives
the errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from office360.core import events as ev
from office360.core.estimate import estimated_wait
from office360.core.model import TicketStatus
from office360.core.numbering import format_number, local_day

from . import repository as repo
from .auth import CAN_ISSUE, Principal
from .fastsql import from_db_time
from .offline_repo import OFFLINE_TOP
from .pg_desks import NEXT_EVENT_IDS, DeskRequest, Generic, replayed
from .pg_store import GroupRows

if TYPE_CHECKING:
    from office360.config import OfficeSettings, ServiceSettings

    from .services import HubService, Outcome

MAX_BATCH = 64
_LOCK = "SELECT pg_advisory_xact_lock(%s)"
_AHEAD_OF_PRIORITY = (
    "(SELECT count(*) FROM tickets WHERE office_id = %(o)s AND status = 'waiting' "
    "AND service_id = %(svc)s AND ((slot_at IS NOT NULL AND slot_at <= %(now)s) "
    "OR (slot_at IS NULL AND priority IS NOT NULL) OR overtaken_at <= %(starved)s))"
)
_BEGIN_TICKET = """
WITH prior AS (
  SELECT request_hash, status_code, body FROM idempotency WHERE scope = %(scope)s AND key = %(key)s
), bumped AS (
  INSERT INTO counters (office_id, prefix, day, last_seq)
  SELECT %(o)s, %(p)s, %(d)s, 1 WHERE NOT EXISTS (SELECT 1 FROM prior)
  ON CONFLICT (office_id, prefix, day) DO UPDATE SET last_seq = CASE
    WHEN counters.last_seq + 1 BETWEEN %(offline_from)s AND %(offline_top)s
    THEN %(offline_top)s + 1 ELSE counters.last_seq + 1 END
  RETURNING last_seq
)
SELECT prior.request_hash, prior.status_code, prior.body, bumped.last_seq,
  (SELECT waiting FROM waiting_counts WHERE office_id = %(o)s AND service_id = %(svc)s),
  (SELECT count(*) FROM tickets WHERE office_id = %(o)s AND service_id = %(svc)s
     AND status = 'waiting' AND slot_at IS NOT NULL AND slot_at <= %(now)s),
  (SELECT fair_at FROM tickets WHERE office_id = %(o)s AND status = 'waiting'
     AND service_id = %(svc)s AND (slot_at IS NULL OR slot_at <= %(now)s)
     ORDER BY fair_at LIMIT 1),
  AHEAD,
  CASE WHEN bumped.last_seq IS NOT NULL THEN nextval(pg_get_serial_sequence('tickets', 'id')) END,
  CASE WHEN bumped.last_seq IS NOT NULL THEN nextval(pg_get_serial_sequence('events', 'id')) END,
  CASE WHEN bumped.last_seq IS NOT NULL THEN nextval(pg_get_serial_sequence('events', 'id')) END
FROM (SELECT 1) AS one LEFT JOIN prior ON true LEFT JOIN bumped ON true
"""
_BEGIN_PLAIN = _BEGIN_TICKET.replace("AHEAD", "NULL")
_BEGIN_PRIORITY = _BEGIN_TICKET.replace("AHEAD", _AHEAD_OF_PRIORITY)


@dataclass
class TicketRequest:
    principal: Principal
    idem_key: str | None
    request_hash: str
    fields: dict[str, Any]
    """hub/fastpath.py issue_fields(): service, channel, priority, lang, office."""


class PgTickets:
    def __init__(self, service: HubService) -> None:
        self.svc = service
        self._sql: dict[str, str] = {}

    def sql(self, template: str) -> str:
        """`template` with each pg_get_serial_sequence() written as the sequence it names: the
        function reads the catalog at every call, a regclass literal once when planned."""
        return self._sql[template]

    def _resolve(self, conn: Any) -> None:
        if self._sql:
            return
        found = conn.exec_driver_sql(
            "SELECT pg_get_serial_sequence('tickets', 'id'), pg_get_serial_sequence('events', 'id')"
        ).one()
        for template in (_BEGIN_PLAIN, _BEGIN_PRIORITY, NEXT_EVENT_IDS):
            sql = template
            for table, name in zip(("tickets", "events"), found, strict=True):
                literal = "'" + name.replace("'", "''") + "'::regclass"
                sql = sql.replace(f"pg_get_serial_sequence('{table}', 'id')", literal)
            self._sql[template] = sql

    def issue(self, request: TicketRequest) -> Outcome:
        result = self.issue_many([request])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def issue_many(self, requests: Sequence[TicketRequest]) -> list[Outcome | Exception]:
        """Each request's outcome, or the exception the generic path would have raised."""
        return self.write_many(requests)

    def write_many(self, items: Sequence[TicketRequest | DeskRequest]) -> list[Outcome | Exception]:
        """Tickets and desk actions that arrived together, in as few transactions as can be: in
        each, the desk actions come first (one "next" and one action a desk at most; the others
        wait for the next transaction), then the tickets."""
        results: dict[int, Outcome | Exception] = {}
        plain: list[tuple[int, TicketRequest | DeskRequest]] = []
        for n, item in enumerate(items):
            if isinstance(item, DeskRequest) or self._plain(item):
                plain.append((n, item))
            else:
                results[n] = self._generic(item)
        while plain:  # a key given twice goes to a later batch, which sees the first's answer
            chunk: list[tuple[int, TicketRequest | DeskRequest]] = []
            keys: set[tuple[str, str]] = set()
            desks: set[str] = set()
            calls = tickets = 0
            rest: list[tuple[int, TicketRequest | DeskRequest]] = []
            for n, item in plain:
                key = (item.principal.scope, item.idem_key or "")
                if isinstance(item, DeskRequest):
                    full = item.desk_id in desks or (item.action == "next" and calls > 0)
                else:
                    full = tickets >= MAX_BATCH
                if full or (item.idem_key and key in keys):
                    rest.append((n, item))
                    continue
                keys.add(key)
                if isinstance(item, DeskRequest):
                    desks.add(item.desk_id)
                    calls += item.action == "next"
                else:
                    tickets += 1
                chunk.append((n, item))
            plain = rest
            try:
                outcomes = self._batch([r for _, r in chunk])
            except Exception as exc:  # the transaction failed: nothing of the batch is stored
                outcomes = [exc] * len(chunk)
            for (n, item), outcome in zip(chunk, outcomes, strict=True):
                if isinstance(outcome, Generic):  # after the batch, as the generic path would
                    assert isinstance(item, DeskRequest)
                    outcome = self.svc.pg_desks.generic(item)
                results[n] = outcome
        return [results[n] for n in range(len(items))]

    def _generic(self, request: TicketRequest) -> Outcome | Exception:
        svc, f, caller = self.svc, request.fields, request.principal
        try:
            return svc.run_write(
                caller.scope,
                request.idem_key,
                request.request_hash,
                lambda conn, events: svc.issue_ticket(
                    conn,
                    events,
                    caller,
                    f["office"],
                    f["service"],
                    f["priority"],
                    f["lang"],
                    f["channel"],
                ),
            )
        except Exception as exc:
            return exc

    def _plain(self, request: TicketRequest) -> bool:
        """True when the generic path would take no other branch than the one coded here."""
        svc, principal, fields = self.svc, request.principal, request.fields
        if svc.notify is not None or principal.role not in CAN_ISSUE:
            return False
        office_id = fields["office"]
        if principal.office_id:
            if office_id and office_id != principal.office_id:
                return False
            office_id = principal.office_id
        office = svc.settings.office(office_id)
        if office is None or not any(s.id == fields["service"] for s in office.services):
            return False
        priority = fields["priority"]
        return priority is None or priority in svc.settings.queue.priority_categories

    def _batch(self, items: Sequence[TicketRequest | DeskRequest]) -> list[Outcome | Exception]:
        from .services import WRITE_LOCK_KEY

        svc, desks = self.svc, self.svc.pg_desks
        results: list[Outcome | Exception | None] = [None] * len(items)
        requests = [(n, r) for n, r in enumerate(items) if isinstance(r, TicketRequest)]
        targets = [self._target(r) for _, r in requests]
        with svc.transaction(write=False) as conn:  # the lock is the pipeline's first statement
            self._resolve(conn)
            checked = []
            for n, item in enumerate(items):
                if isinstance(item, DeskRequest):
                    try:
                        checked.append((n, item, *desks.open_desks(conn, item)))
                    except Generic as exc:
                        results[n] = exc
            # Cached, so seldom a query; read before the pipeline (SQLAlchemy cannot read in it).
            opened = {o.id: svc._open_desks(conn, o.id) for o, _ in targets}
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.pipeline():
                raw.execute(_LOCK, (WRITE_LOCK_KEY,))
                steps = [(n, desks.send_reads(raw, item, *rest)) for n, item, *rest in checked]
                live = []
                for n, step in steps:
                    try:
                        results[n] = desks.send_writes(raw, step)
                    except Generic as exc:
                        results[n] = exc
                    if results[n] is None:
                        live.append((n, step))
                # Mean service times are cached; a finish above drops one, read again here,
                # after it, with the statements below rather than in a round trip of its own.
                window = svc.settings.queue.service_time_window
                wanted = {(o.id, s.id) for o, s in targets}
                wanted |= {(step.office.id, step.service_id) for _, step in live}
                recent = {
                    (o, s): repo.recent_service_cursor(conn, o, s, window)
                    for o, s in sorted(wanted)
                    if svc._mean_cached(o, s) is None
                }
                now = svc.clock()
                starved = svc._starved_before(now)
                cursors = []
                for (_, request), (office, service) in zip(requests, targets, strict=True):
                    params = {
                        "o": office.id,
                        "p": service.prefix,
                        "d": local_day(now, office.timezone).isoformat(),
                        "svc": service.id,
                        "now": now,
                        "scope": request.principal.scope,
                        "key": request.idem_key,
                        # hub/offline_repo.py skip_offline_range, in the counter's update
                        "offline_from": svc._offline_from,
                        "offline_top": OFFLINE_TOP,
                    }
                    if request.fields["priority"] is not None:
                        params["starved"] = starved
                    query = self.sql(_BEGIN_PLAIN if "starved" not in params else _BEGIN_PRIORITY)
                    cursors.append((raw.execute(query, params), params))
                founds = [cursor.fetchone() for cursor, _ in cursors]  # the round trip
                for (office_id, service_id), cursor in recent.items():
                    seconds = repo.service_seconds(cursor.fetchall())
                    svc._keep_mean(office_id, service_id, seconds)
                rates = {
                    (o.id, s.id): (opened[o.id].get(s.id, 0), svc._mean_service(conn, o.id, s.id))
                    for o, s in targets
                }
                earlier: dict[tuple[str, str], list[str | None]] = {}
                rows = GroupRows()
                for (n, request), (office, service), (_, params), found in zip(
                    requests, targets, cursors, founds, strict=True
                ):
                    assert found is not None
                    if found[3] is None:  # the key's answer is stored already
                        results[n] = replayed(request.request_hash, found[:3])
                        continue
                    seq = int(found[3])
                    # this batch's earlier tickets of the service, which found[] cannot see
                    mine = earlier.setdefault((office.id, service.id), [])
                    waiting = int(found[4] or 0) + int(found[5] or 0) + len(mine)
                    oldest = from_db_time(found[6])
                    if mine:
                        oldest = min(oldest, now) if oldest else now
                    if found[7] is None:
                        ahead = waiting
                    else:
                        ahead = int(found[7]) + sum(1 for p in mine if p is not None)
                    mine.append(request.fields["priority"])
                    results[n] = self._answer(
                        request, office, service, params, found, seq, waiting, oldest, ahead,
                        rates[(office.id, service.id)], now, rows,
                    )  # fmt: skip
                for n, step in live:
                    results[n] = desks.send_store(conn, step, rows)
                rows.send(raw)
                raw.commit()  # inside the pipeline: sent with the statement above
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _target(self, request: TicketRequest) -> tuple[OfficeSettings, ServiceSettings]:
        office = self.svc.office(request.fields["office"], request.principal)
        service = next(s for s in office.services if s.id == request.fields["service"])
        return office, service

    def _answer(
        self,
        request: TicketRequest,
        office: OfficeSettings,
        service: ServiceSettings,
        params: dict[str, Any],
        found: Sequence[Any],
        seq: int,
        waiting: int,
        oldest: datetime | None,
        ahead: int,
        rates: tuple[int, float],
        now: datetime,
        rows: GroupRows,
    ) -> Outcome:
        """The response and the events; the ticket, its events and its answer go into `rows`."""
        from .services import Outcome

        svc, fields = self.svc, request.fields
        lang = fields["lang"] if fields["lang"] in office.languages else office.languages[0]
        open_desks, mean = rates
        row: Any = SimpleNamespace(
            id=int(found[8]),
            office_id=office.id,
            service_id=service.id,
            number=format_number(service.prefix, seq),
            status=TicketStatus.WAITING.value,
            priority=fields["priority"],
            lang=lang,
            channel=fields["channel"],
            issued_at=now,
            called_at=None,
            desk_id=None,
            recalls=0,
        )
        body = svc._ticket_json(
            None,  # type: ignore[arg-type]  # no query without with_position
            row,
            position=ahead + 1,
            estimate=estimated_wait(ahead, open_desks, mean),
        )
        first = min(oldest, now) if oldest else now
        payloads: tuple[tuple[str, dict[str, Any]], ...] = (
            (ev.TICKET_ISSUED, {"ticket": svc._event_ticket(row)}),
            (ev.QUEUE_CHANGED, {"services": [_stats(service.id, waiting + 1, first, now, rates)]}),
        )
        rows.ticket(
            row.id, office.id, service.id, params["d"], row.number, row.priority, lang,
            row.channel, now,
        )  # fmt: skip
        events = rows.add_events(office.id, now, sorted((int(found[9]), int(found[10]))), payloads)
        if request.idem_key:
            scope = request.principal.scope
            rows.answer(scope, request.idem_key, request.request_hash, 201, body, svc.clock())
        return Outcome(201, body, events)


def _stats(
    service_id: str, waiting: int, oldest: datetime, now: datetime, rates: tuple[int, float]
) -> dict[str, Any]:
    """A service's entry of queue.changed, as HubService._service_stats makes it."""
    return {
        "service": service_id,
        "waiting": waiting,
        "longest_wait_s": int((now - oldest).total_seconds()),
        "estimated_wait_s": estimated_wait(waiting, *rates),
    }
