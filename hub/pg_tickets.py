"""Issuing tickets on PostgreSQL in two round trips and two statements a group instead of about
fourteen round trips a ticket.

The generic path (HubService.run_write + issue_ticket) runs each of its statements as a round
trip to the server: BEGIN, the write lock, the idempotency look-up, the counter, three counts, the
ticket, two events, NOTIFY, the idempotency row, COMMIT. Here they go through psycopg's pipeline
mode, for one ticket or for the several that arrived while the previous batch was being written
(group commit, HubState.write_grouped), in one transaction, with the desk actions that arrived
with them (hub/pg_desks.py, written first: their reads then take the first round trip, their
updates go before the tickets' statements, their events and answers with the tickets'):

1. BEGIN, the write lock (a statement of its own, so that what follows reads after it is held),
   then one statement for all the group's tickets: it looks up their Idempotency-Keys, moves the
   day's counter of each prefix once by the number of new tickets (past the numbers kept for
   offline blocks), reads each service's waiting count, earliest fair time and the count a
   priority ticket would wait behind, and takes the ids of the tickets and their events;
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
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import orjson

from office360.core import events as ev
from office360.core.estimate import estimated_wait
from office360.core.model import TicketStatus
from office360.core.numbering import format_number, local_day

from . import repository as repo
from .fastsql import from_db_time
from .offline_repo import OFFLINE_TOP
from .pg_desks import NEXT_EVENT_IDS, DeskRequest, Generic, replayed
from .pg_store import GroupRows
from .ticket_requests import TicketRequest, is_plain, issue_generic

if TYPE_CHECKING:
    from office360.config import OfficeSettings, ServiceSettings

    from .services import HubService, Outcome

MAX_BATCH = 64
_LOCK = "SELECT pg_advisory_xact_lock(%s)"
# One statement for all the tickets of a group. The counter of each (office, prefix, day) moves
# once by the group's count of new tickets; the numbers are the first free ones after it, past the
# range kept for offline blocks (hub/offline_repo.py skip_offline_range) as one bump at a time
# would give them: SKIP is how many numbers of that range the move crosses.
_SKIP = """(CASE WHEN {last} + 1 > %(offline_top)s OR {last} + {count} < %(offline_from)s THEN 0
  ELSE %(offline_top)s - greatest({last} + 1, %(offline_from)s) + 1 END)"""
_BEGIN_GROUP = f"""
WITH r AS (
  SELECT * FROM json_to_recordset(%(requests)s::json)
    AS r(n int, scope text, key text, o text, p text, d text, svc text)
), prior AS (
  SELECT r.n, i.request_hash, i.status_code, i.body
  FROM r JOIN idempotency AS i ON i.scope = r.scope AND i.key = r.key
), fresh AS (
  SELECT r.n, r.o, r.p, r.d, row_number() OVER (PARTITION BY r.o, r.p, r.d ORDER BY r.n) AS k
  FROM r WHERE r.n NOT IN (SELECT n FROM prior)
), need AS (
  SELECT f.o, f.p, f.d, count(*) AS c, coalesce(max(c.last_seq), 0) AS last
  FROM fresh AS f LEFT JOIN counters AS c
    ON c.office_id = f.o AND c.prefix = f.p AND c.day = f.d
  GROUP BY f.o, f.p, f.d
), bumped AS (
  INSERT INTO counters (office_id, prefix, day, last_seq)
  SELECT o, p, d, last + c + {_SKIP.format(last="last", count="c")} FROM need
  ON CONFLICT (office_id, prefix, day) DO UPDATE SET last_seq = excluded.last_seq
  RETURNING 1
), services AS (
  SELECT DISTINCT o, svc FROM r
)
SELECT
  (SELECT json_agg(json_build_array(n, request_hash, status_code, body)) FROM prior),
  (SELECT json_agg(json_build_array(f.n, CASE
      WHEN need.last + f.k < %(offline_from)s OR need.last + 1 > %(offline_top)s
      THEN need.last + f.k
      ELSE need.last + f.k + {_SKIP.format(last="need.last", count="need.c")} END))
   FROM fresh AS f JOIN need ON need.o = f.o AND need.p = f.p AND need.d = f.d),
  (SELECT json_agg(json_build_array(s.o, s.svc,
      (SELECT waiting FROM waiting_counts WHERE office_id = s.o AND service_id = s.svc),
      (SELECT count(*) FROM tickets WHERE office_id = s.o AND service_id = s.svc
         AND status = 'waiting' AND slot_at IS NOT NULL AND slot_at <= %(now)s),
      (SELECT fair_at FROM tickets WHERE office_id = s.o AND status = 'waiting'
         AND service_id = s.svc AND (slot_at IS NULL OR slot_at <= %(now)s)
         ORDER BY fair_at LIMIT 1),
      (SELECT count(*) FROM tickets WHERE office_id = s.o AND status = 'waiting'
         AND service_id = s.svc AND ((slot_at IS NOT NULL AND slot_at <= %(now)s)
         OR (slot_at IS NULL AND priority IS NOT NULL) OR overtaken_at <= %(starved)s))))
   FROM services AS s),
  ARRAY(SELECT nextval(pg_get_serial_sequence('tickets', 'id'))
    FROM generate_series(1, (SELECT count(*) FROM fresh))),
  ARRAY(SELECT nextval(pg_get_serial_sequence('events', 'id'))
    FROM generate_series(1, 2 * (SELECT count(*) FROM fresh)))
"""


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
        for template in (_BEGIN_GROUP, NEXT_EVENT_IDS):
            sql = template
            for table, name in zip(("tickets", "events"), found, strict=True):
                literal = "'" + name.replace("'", "''") + "'::regclass"
                sql = sql.replace(f"pg_get_serial_sequence('{table}', 'id')", literal)
            self._sql[template] = sql

    def write_one(self, item: TicketRequest | DeskRequest) -> Outcome:
        """One ticket or desk action in a group of its own; raises what the generic path would."""
        result = self.write_many([item])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def write_many(self, items: Sequence[TicketRequest | DeskRequest]) -> list[Outcome | Exception]:
        """Tickets and desk actions that arrived together, in as few transactions as can be: in
        each, the desk actions come first (one "next" and one action a desk at most; the others
        wait for the next transaction), then the tickets. Each item's outcome, or the exception
        the generic path would have raised."""
        results: dict[int, Outcome | Exception] = {}
        plain: list[tuple[int, TicketRequest | DeskRequest]] = []
        for n, item in enumerate(items):
            if isinstance(item, DeskRequest) or is_plain(self.svc, item):
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
        try:
            return issue_generic(self.svc, request)
        except Exception as exc:
            return exc

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
                begun = None
                if requests:
                    begun = raw.execute(
                        self.sql(_BEGIN_GROUP), self._group_params(requests, targets, now)
                    )
                found = begun.fetchone() if begun is not None else None  # the round trip
                for (office_id, service_id), cursor in recent.items():
                    seconds = repo.service_seconds(cursor.fetchall())
                    svc._keep_mean(office_id, service_id, seconds)
                rates = {
                    (o.id, s.id): (opened[o.id].get(s.id, 0), svc._mean_service(conn, o.id, s.id))
                    for o, s in targets
                }
                rows = GroupRows()
                if found is not None:
                    self._answer_all(requests, targets, found, rates, now, rows, results)
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

    def _group_params(
        self,
        requests: Sequence[tuple[int, TicketRequest]],
        targets: Sequence[tuple[OfficeSettings, ServiceSettings]],
        now: datetime,
    ) -> dict[str, Any]:
        svc = self.svc
        listed = [
            {
                "n": n,
                "scope": request.principal.scope,
                "key": request.idem_key,
                "o": office.id,
                "p": service.prefix,
                "d": local_day(now, office.timezone).isoformat(),
                "svc": service.id,
            }
            for (n, request), (office, service) in zip(requests, targets, strict=True)
        ]
        return {
            "requests": orjson.dumps(listed).decode(),
            "now": now,
            "starved": svc._starved_before(now),
            "offline_from": svc._offline_from,
            "offline_top": OFFLINE_TOP,
        }

    def _answer_all(
        self,
        requests: Sequence[tuple[int, TicketRequest]],
        targets: Sequence[tuple[OfficeSettings, ServiceSettings]],
        found: Sequence[Any],
        rates: dict[tuple[str, str], tuple[int, float]],
        now: datetime,
        rows: GroupRows,
        results: list[Outcome | Exception | None],
    ) -> None:
        """Each ticket's result from the group statement's one row: the stored answers of
        repeated keys, the numbers, each service's counts, the ids."""
        priors = {int(p[0]): p[1:] for p in found[0] or ()}
        numbers = {int(f[0]): int(f[1]) for f in found[1] or ()}
        counts = {(c[0], c[1]): c[2:] for c in found[2] or ()}
        ticket_ids = iter(sorted(int(i) for i in found[3]))
        event_ids = iter(sorted(int(i) for i in found[4]))
        earlier: dict[tuple[str, str], list[str | None]] = {}
        for (n, request), (office, service) in zip(requests, targets, strict=True):
            if n in priors:  # the key's answer is stored already
                results[n] = replayed(request.request_hash, priors[n])
                continue
            plain, slotted, oldest_raw, special = counts[(office.id, service.id)]
            # this group's earlier tickets of the service, which the counts cannot see
            mine = earlier.setdefault((office.id, service.id), [])
            waiting = int(plain or 0) + int(slotted or 0) + len(mine)
            oldest = from_db_time(oldest_raw)
            if mine:
                oldest = min(oldest, now) if oldest else now
            if request.fields["priority"] is None:
                ahead = waiting
            else:
                ahead = int(special) + sum(1 for p in mine if p is not None)
            mine.append(request.fields["priority"])
            ids = (next(ticket_ids), next(event_ids), next(event_ids))
            results[n] = self._answer(
                request, office, service, ids, numbers[n], waiting, oldest, ahead,
                rates[(office.id, service.id)], now, rows,
            )  # fmt: skip

    def _answer(
        self,
        request: TicketRequest,
        office: OfficeSettings,
        service: ServiceSettings,
        ids: tuple[int, int, int],
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
            id=ids[0],
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
        day = local_day(now, office.timezone).isoformat()
        rows.ticket(
            row.id, office.id, service.id, day, row.number, row.priority, lang, row.channel, now
        )
        events = rows.add_events(office.id, now, ids[1:], payloads)
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
