"""A desk's next, start, recall, finish and no-show on PostgreSQL, written in the same
transaction and round trips as the tickets that arrived with it (hub/pg_tickets.py write_many).

HubService.desk_action runs each statement as a round trip: BEGIN, the write lock, the desk, its
ticket, the update, the ticket again, an event, the queue's counts, another event, NOTIFY, COMMIT.
Here, in psycopg's pipeline mode, each desk action of a group is written in three steps:

1. send_reads (after the group's write lock): one statement reading the desk, its current ticket
   and the answer stored under the Idempotency-Key, and for next the tickets the policy could
   pick;
2. send_writes: the updates, then the service's counts and the ids of the events to read;
3. send_store: the events and the answer under its key, into the group's last statement
   (hub/pg_store.py, which also sends NOTIFY), sent with its COMMIT.

The ticket after the update is the one read with the update's values applied. Whenever the
generic path would answer anything but 200 (an unknown desk, a forbidden token, no ticket in
hand, a transition the ticket cannot make, nobody waiting), the step raises Generic before
writing anything, and the generic path answers once the group has committed: it stays the
reference and gives the errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from office360.core import events as ev
from office360.core.errors import DomainError, Invalid
from office360.core.estimate import estimated_wait
from office360.core.lifecycle import transition
from office360.core.model import ACTIVE_AT_DESK, TicketStatus
from office360.core.policy import choose_next

from . import repository as repo
from . import tables as t
from .auth import CAN_ACT_ANY_DESK, Principal
from .fastsql import from_db_time
from .pg_store import GroupRows

if TYPE_CHECKING:
    from office360.config import OfficeSettings

    from .services import HubService, Outcome

ACTIONS = {  # action -> (lifecycle action, event, status after); and "next"
    "recall": ("recall", ev.TICKET_RECALLED, "recalled"),
    "start": ("start", ev.TICKET_STARTED, "serving"),
    "finish": ("finish", ev.TICKET_FINISHED, "done"),
    "no-show": ("no_show", ev.TICKET_NO_SHOW, "no_show"),
}
_TICKET_COLUMNS = ", ".join(f"t.{c.name}" for c in t.tickets.c)
_READ = f"""
SELECT d.id, d.current_ticket_id, p.request_hash, p.status_code, p.body, d.services, d.state,
  {_TICKET_COLUMNS}
FROM (SELECT 1) AS one
LEFT JOIN desks AS d ON d.office_id = %(o)s AND d.id = %(d)s
LEFT JOIN tickets AS t ON t.id = d.current_ticket_id
LEFT JOIN idempotency AS p ON p.scope = %(scope)s AND p.key = %(key)s
"""
_UPDATE_TICKET = (
    "UPDATE tickets SET status = %(status)s, recalls = %(recalls)s, started_at = %(started_at)s, "
    "finished_at = %(finished_at)s WHERE id = %(id)s"
)
# next: the tickets the policy could pick (repository.next_candidates) for the desk's services
_CANDIDATES = repo._CANDIDATES_PG.replace(
    "%(svcs)s",
    "ARRAY(SELECT json_array_elements_text(services::json) FROM desks "
    "WHERE office_id = %(o)s AND id = %(d)s)",
)
# repository.mark_overtaken in one statement; each service's tickets ahead of the one called are
# a range of ix_tickets_queue (see repository._CANDIDATES_PG on kept plans)
_OVERTAKEN = """
UPDATE tickets SET overtaken_at = %(now)s WHERE id = ANY(ARRAY(
  SELECT a.id FROM unnest(%(svcs)s::text[]) AS s(id) CROSS JOIN LATERAL (
    SELECT id FROM tickets WHERE office_id = %(o)s AND status = 'waiting' AND service_id = s.id
      AND fair_at <= %(fair)s AND overtaken_at IS NULL AND id <> %(cid)s
      AND (fair_at, id) < (%(fair)s, %(cid)s) AND (slot_at IS NULL OR slot_at <= %(fair)s)
    ORDER BY fair_at
  ) AS a
))
"""
_CALL = (
    "UPDATE tickets SET status = 'called', called_at = %(now)s, desk_id = %(d)s WHERE id = %(cid)s"
)
_HOLD = (
    "UPDATE desks SET current_ticket_id = %(cid)s, updated_at = %(now)s "
    "WHERE office_id = %(o)s AND id = %(d)s"
)
_CALLED = f"SELECT {_TICKET_COLUMNS} FROM tickets AS t WHERE t.id = %(cid)s"
_FREE_DESK = (
    "UPDATE desks SET current_ticket_id = NULL, updated_at = %(now)s "
    "WHERE office_id = %(o)s AND id = %(d)s"
)


NEXT_EVENT_IDS = (
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, %s)"
)


class Generic(Exception):
    """Roll back: the generic path answers this request."""


@dataclass
class DeskRequest:
    principal: Principal
    idem_key: str | None
    request_hash: str
    office_id: str | None
    desk_id: str
    action: str
    """one of ACTIONS, or "next" with no body (on PostgreSQL's grouped path)"""
    body: dict[str, Any] = field(default_factory=dict)
    """{"service": ...} from the query (SQLite, or the writer process)"""


@dataclass
class DeskStep:
    """A desk action between the round trips of the group it is written in."""

    request: DeskRequest
    office: OfficeSettings
    open_desks: dict[str, int]
    params: dict[str, Any]
    read: Any
    candidates: Any
    emitted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    now: datetime | None = None
    row: Any = None
    service_id: str = ""
    called: Any = None
    counted: Any = None
    numbered: Any = None


class PgDesks:
    def __init__(self, service: HubService) -> None:
        self.svc = service

    def act(
        self,
        principal: Principal,
        idem_key: str | None,
        request_hash: str,
        office_id: str | None,
        desk_id: str,
        action: str,
    ) -> Outcome:
        """POST /desks/{desk}/{action} with no body, for an action of ACTIONS or "next"."""
        request = DeskRequest(principal, idem_key, request_hash, office_id, desk_id, action)
        return self.svc.pg_tickets.write_one(request)

    def generic(self, request: DeskRequest) -> Outcome | Exception:
        """The generic path's answer, in a transaction of its own."""
        svc, r = self.svc, request
        try:
            return svc.run_write(
                r.principal.scope,
                r.idem_key,
                r.request_hash,
                lambda conn, events: svc.desk_action(
                    conn, events, r.principal, r.office_id, r.desk_id, r.action, {}
                ),
            )
        except Exception as exc:
            return exc

    def open_desks(self, conn: Any, request: DeskRequest) -> tuple[OfficeSettings, dict[str, int]]:
        """Checks made before the pipeline (SQLAlchemy cannot read in it); Generic when the
        generic path must answer (an unknown office, a clerk of another desk)."""
        svc = self.svc
        try:
            office = svc.office(request.office_id, request.principal)
        except DomainError:
            raise Generic() from None
        principal = request.principal
        if principal.role not in CAN_ACT_ANY_DESK and not (
            principal.role == "staff" and principal.desk_id == request.desk_id
        ):
            raise Generic()
        return office, svc._open_desks(conn, office.id)

    def send_reads(
        self, raw: Any, request: DeskRequest, office: OfficeSettings, open_desks: dict[str, int]
    ) -> DeskStep:
        """Round trip 1 (after the write lock): the desk, its ticket, the stored answer, and for
        next the tickets the policy could pick."""
        params = {
            "o": office.id,
            "d": request.desk_id,
            "scope": request.principal.scope,
            "key": request.idem_key,
        }
        read = raw.execute(_READ, params)
        candidates = raw.execute(_CANDIDATES, params) if request.action == "next" else None
        return DeskStep(request, office, open_desks, params, read, candidates)

    def send_writes(self, raw: Any, step: DeskStep) -> Outcome | Exception | None:
        """Round trip 2: the updates, then the counts and event ids to read. Returns a stored
        answer (a repeated key) at once; raises Generic before writing anything."""
        found = step.read.fetchone()
        request = step.request
        if found[2] is not None:  # the key's answer is stored already
            return replayed(request.request_hash, found[2:5])
        if found[0] is None:
            raise Generic()  # no such desk
        current: Any = repo._read_ticket(found[7:]) if found[7] is not None else None
        if current is not None and TicketStatus(current.status) not in ACTIVE_AT_DESK:
            current = None
        step.now = now = self.svc.clock()
        if step.candidates is not None:
            step.service_id, step.called = self._call(raw, step, found, current, now)
        else:
            step.row = self._update(raw, step, current, now)
            step.service_id = step.row.service_id
        counts = {"o": step.office.id, "svc": step.service_id, "now": now}
        step.counted = raw.execute(repo.SERVICE_STATS_PG, counts)
        ids = len(step.emitted) + (2 if step.called is not None else 1)
        step.numbered = raw.execute(self.svc.pg_tickets.sql(NEXT_EVENT_IDS), (ids,))
        return None

    def send_store(self, conn: Any, step: DeskStep, rows: GroupRows) -> Outcome:
        """Round trip 3 (with COMMIT): the events and the answer under its key, into the
        group's rows."""
        from .services import Outcome

        svc, office, request, now = self.svc, step.office, step.request, step.now
        assert now is not None
        emitted = step.emitted
        if step.called is not None:  # the ticket called, as the update left it
            step.row = repo._read_ticket(step.called.fetchone())
            emitted.append((ev.TICKET_CALLED, {"ticket": svc._event_ticket(step.row)}))
        row = step.row
        plain, slotted, oldest_raw = step.counted.fetchone()
        ids = [r[0] for r in step.numbered.fetchall()]
        mean = svc._mean_service(conn, office.id, row.service_id)
        waiting = int(plain or 0) + int(slotted or 0)
        oldest = from_db_time(oldest_raw)
        stats = {
            "service": row.service_id,
            "waiting": waiting,
            "longest_wait_s": int((now - oldest).total_seconds()) if oldest else 0,
            "estimated_wait_s": estimated_wait(
                waiting, step.open_desks.get(row.service_id, 0), mean
            ),
        }
        emitted.append((ev.QUEUE_CHANGED, {"services": [stats]}))
        body = svc._ticket_json(conn, row)
        events = rows.add_events(office.id, now, sorted(ids), emitted)
        if request.idem_key:
            scope = request.principal.scope
            rows.answer(scope, request.idem_key, request.request_hash, 200, body, svc.clock())
        return Outcome(200, body, events)

    def _update(self, raw: Any, step: DeskStep, current: Any, now: datetime) -> Any:
        """start, recall, finish, no-show: the ticket in hand, updated."""
        action = step.request.action
        lifecycle, kind, status = ACTIONS[action]
        if current is None:
            raise Generic()  # no ticket in hand
        try:
            transition(current.status, lifecycle)
        except DomainError:
            raise Generic() from None
        row = current
        row.status = status
        if action == "recall":
            row.recalls += 1
        elif action == "start":
            row.started_at = now
        else:
            row.finished_at = now
        values = {"id": row.id, "status": row.status, "recalls": row.recalls}
        raw.execute(
            _UPDATE_TICKET,
            values | {"started_at": row.started_at, "finished_at": row.finished_at},
        )
        if action in ("finish", "no-show"):
            raw.execute(_FREE_DESK, step.params | {"now": now})
        if action == "finish":  # its service time counts in the mean from now on
            self.svc._mean_cache.pop((step.office.id, row.service_id), None)
        step.emitted.append((kind, {"ticket": self.svc._event_ticket(row)}))
        return row

    def _call(
        self, raw: Any, step: DeskStep, found: Any, current: Any, now: datetime
    ) -> tuple[str, Any]:
        """next: the ticket in service (if any) finished, the next one called: its service and
        the cursor that reads it back."""
        svc, params, office, emitted = self.svc, step.params, step.office, step.emitted
        services, state = list(found[5]), found[6]
        if state == "paused" or (current is not None and current.status != "serving"):
            raise Generic()  # desk_paused, desk_busy
        candidates = step.candidates.fetchall()
        decision = choose_next([repo._queued_of(r) for r in candidates], now, svc.policy)
        if decision is None:
            raise Generic()  # nobody waits: 204
        chosen = decision.ticket
        transition(TicketStatus.WAITING, "call")
        if current is not None:  # "next" while serving ends that service
            current.status = "done"
            current.finished_at = now
            raw.execute(
                _UPDATE_TICKET,
                {
                    "id": current.id,
                    "status": "done",
                    "recalls": current.recalls,
                    "started_at": current.started_at,
                    "finished_at": now,
                },
            )
            svc._mean_cache.pop((office.id, current.service_id), None)
            emitted.append((ev.TICKET_FINISHED, {"ticket": svc._event_ticket(current)}))
        called = params | {"now": now, "cid": chosen.id, "svcs": services}
        raw.execute(_OVERTAKEN, called | {"fair": chosen.issued_at})
        raw.execute(_CALL, called)
        raw.execute(_HOLD, called)
        return chosen.service_id, raw.execute(_CALLED, called)


def replayed(request_hash: str, prior: Sequence[Any]) -> Outcome | Exception:
    from .services import Outcome

    prior_hash, prior_status, prior_body = prior
    if prior_hash != request_hash:
        return Invalid(
            "idempotency_key_reused", "this Idempotency-Key was used for a different request"
        )
    body = orjson.loads(prior_body) if prior_body else None
    return Outcome(int(prior_status), body, [], replayed=True)
