"""Use cases: load, ask the core, write, commit; the caller publishes the events after commit."""

from __future__ import annotations

import contextlib
import fcntl
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, Row

from office360.config import OfficeSettings, Settings
from office360.core import events as ev
from office360.core.errors import Conflict, DomainError, Invalid, NotFound
from office360.core.estimate import estimated_wait, mean_service_time
from office360.core.lifecycle import transition
from office360.core.model import ACTIVE_AT_DESK, QueuedTicket, TicketStatus
from office360.core.numbering import format_number, local_day
from office360.core.policy import QueuePolicy, choose_next, position

from . import repository as repo
from .auth import CAN_ACT_ANY_DESK, CAN_ISSUE, Principal, status_token
from .fastsql import compile_all
from .offline_repo import skip_offline_range
from .replication import NOTIFY_SQL

Clock = Callable[[], datetime]
DESK_ACTIONS = ("next", "recall", "start", "finish", "no-show", "transfer", "pause", "resume")
T = TypeVar("T")
GROUP_FROM = 3
"""SQLite: fewer plain tickets in a group go one by one (bench/sqlite_write_cost.py: the grouped
statements cost more than the generic path's for one or two tickets, less from four on)."""
CHANNELS = ("walk_in", "appointment", "phone", "web")
WRITE_LOCK_KEY = 360_360
LOCK_SQL = f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Outcome:
    status: int
    body: dict[str, Any] | None
    events: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False


class HubService:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.offices = {o.id: o for o in settings.offices}
        self.policy = QueuePolicy(
            max_overtake=timedelta(minutes=settings.queue.max_overtake_minutes)
        )
        self.secret = b""
        # Numbers kept for kiosks' offline blocks (hub/offline_repo.py); never reached when off.
        self._offline_from = settings.queue.offline_numbers_from or 2**62
        # hub/outbox.py installs its hook here only while a webhook, SMS or e-mail is configured.
        self.notify: Callable[[Connection, dict[str, Any]], None] | None = None
        self._mean_cache: dict[tuple[str, str], tuple[float, float]] = {}
        self._desk_cache: dict[str, tuple[float, dict[str, int]]] = {}
        self._local = threading.local()
        self.write_lock: int | None = None
        """SQLite with several worker processes: a lock file's descriptor, taken with flock() around
        each write transaction. Waiters wake the moment it is released, where SQLite's own busy
        handler sleeps 1, 2, 5, 10 ... ms between tries."""
        self._connections: list[Connection] = []
        self._connections_lock = threading.Lock()
        self._writer: ThreadPoolExecutor | None = None
        self.pg_tickets: Any = None
        """PostgreSQL: hub/pg_tickets.py, the fast path's plain tickets and desk actions, written
        in groups of a few round trips."""
        self.pg_desks: Any = None
        """PostgreSQL: hub/pg_desks.py, the desk actions' part of those groups."""
        self.sqlite_tickets: Any = None
        """SQLite: hub/sqlite_tickets.py, the plain tickets of a group in a few statements."""
        if engine.dialect.name == "sqlite":
            from .sqlite_tickets import SqliteTickets

            self.sqlite_tickets = SqliteTickets(self)
        if engine.dialect.name == "postgresql":
            from .pg_desks import PgDesks
            from .pg_tickets import PgTickets

            self.pg_tickets = PgTickets(self)
            self.pg_desks = PgDesks(self)

    # --- connections -------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, write: bool = True) -> Iterator[Connection]:
        """A transaction on this thread's own connection (kept open: no pool round trip).

        Pass write=False for reads. Writes on PostgreSQL take one advisory lock first, so they commit one at a time, as on
        SQLite: event ids then commit in increasing order (a subscriber resuming after id N
        misses nothing) and two desks never claim the same ticket.
        """
        batch: Connection | None = getattr(self._local, "batch", None)
        if batch is not None:  # inside run_batch: its transaction, this work's savepoint
            yield batch
            return
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self.engine.connect()
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        if write and self.write_lock is not None:
            fcntl.flock(self.write_lock, fcntl.LOCK_EX)
            try:
                with conn.begin():
                    yield conn
            finally:
                fcntl.flock(self.write_lock, fcntl.LOCK_UN)
            return
        with conn.begin():
            if write and self.engine.dialect.name == "postgresql":
                raw: Any = conn.connection.driver_connection
                with raw.pipeline():  # BEGIN and the lock in one round trip, not two
                    raw.execute(LOCK_SQL)
            yield conn

    def run_batch(
        self, items: list[tuple[Callable[..., Outcome], tuple[Any, ...]]]
    ) -> list[Outcome | Exception]:
        """Several writes in one transaction and one commit (group commit), each in a savepoint;
        when GROUP_FROM or more are plain tickets (SqliteTickets.issue), those go together after
        the others (hub/sqlite_tickets.py). Returns each one's outcome or exception once the
        whole has committed. A write alone needs no savepoint: if it fails, it is rolled back."""
        grouped = [n for n, (fn, args) in enumerate(items) if self._groups(fn, args)]
        if len(grouped) < GROUP_FROM:
            grouped = []
        if len(items) == 1 and not grouped:
            return [self._run_alone(*items[0])]
        results: list[Outcome | Exception | None] = [None] * len(items)
        with self.transaction() as conn:
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._local.batch = conn
            try:
                alone = set(range(len(items))).difference(grouped)
                for n in sorted(alone):
                    results[n] = _savepointed(cursor, *items[n])
                if grouped:
                    write = self.sqlite_tickets.write_group
                    requests = [items[n][1][0] for n in grouped]
                    if not alone:  # a failure of the group rolls the whole transaction back
                        found: Any = write(conn, requests)
                    else:
                        found = _savepointed(cursor, write, (conn, requests))
                    for n, result in zip(grouped, _spread(found, len(grouped)), strict=True):
                        # None: a key given twice, answered after the group by the generic path
                        results[n] = result or _savepointed(cursor, *items[n])
            finally:
                self._local.batch = None
                cursor.close()
        return results  # type: ignore[return-value]

    def _groups(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        grouped = self.sqlite_tickets
        return grouped is not None and fn == grouped.issue and grouped.plain(args[0])

    def _run_alone(self, fn: Callable[..., Outcome], args: tuple[Any, ...]) -> Outcome | Exception:
        try:
            with self.transaction() as conn:
                self._local.batch = conn
                try:
                    return fn(*args)
                finally:
                    self._local.batch = None
        except Exception as exc:
            return exc

    def writer(self) -> ThreadPoolExecutor:
        """One thread for the writes of hub/state.py on a server database; close() ends it."""
        with self._connections_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
            return self._writer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        with self._connections_lock:
            for conn in self._connections:
                with contextlib.suppress(Exception):
                    conn.close()
            self._connections.clear()

    # --- start-up ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """Sync the configured offices into the database and load the hub's secret."""
        with self.transaction() as conn:
            compile_all(conn)
            for office in self.settings.offices:
                repo.sync_office(conn, office)
            self.secret = repo.get_or_create_secret(
                conn, "status_links", lambda: secrets.token_hex(32)
            ).encode()

    # --- lookups -----------------------------------------------------------------------------

    def office(self, office_id: str | None, principal: Principal | None = None) -> OfficeSettings:
        if principal and principal.office_id:
            if office_id and office_id != principal.office_id:
                raise DomainError("wrong_office", "this token belongs to another office")
            office_id = principal.office_id
        office = self.settings.office(office_id)
        if office is None:
            raise NotFound("unknown_office", f"no office {office_id!r}")
        return office

    def services(self, office_id: str | None) -> list[dict[str, Any]]:
        office = self.office(office_id)
        return [
            {
                "id": s.id,
                "prefix": s.prefix,
                "names": s.names,
                "icon": s.icon,
                "desks": [d.id for d in office.desks if s.id in d.services],
            }
            for s in office.services
        ]

    def ticket(
        self, ticket_id: int, principal: Principal | None, token: str | None
    ) -> dict[str, Any]:
        from .auth import check_status_token

        with self.transaction(write=False) as conn:
            row = repo.get_ticket(conn, ticket_id)
            if row is None:
                raise NotFound("unknown_ticket", f"no ticket {ticket_id}")
            if principal is None:
                if not token or not check_status_token(self.secret, ticket_id, token):
                    # Same answer as an unknown id, so ids cannot be probed.
                    raise NotFound("unknown_ticket", f"no ticket {ticket_id}")
            elif principal.office_id and principal.office_id != row.office_id:
                raise NotFound("unknown_ticket", f"no ticket {ticket_id}")
            body = self._ticket_json(conn, row, with_position=True)
            if principal is not None and principal.role not in CAN_ISSUE:
                body["status_url"] = None  # its token would let a display cancel the ticket
            return body

    def queue(self, office_id: str | None, principal: Principal | None = None) -> dict[str, Any]:
        office = self.office(office_id, principal)
        now = self.clock()
        with self.transaction(write=False) as conn:
            services = self._service_stats(conn, office, [s.id for s in office.services], now)
            desks = []
            for d in repo.list_desks(conn, office.id):
                current = (
                    repo.get_ticket(conn, d.current_ticket_id) if d.current_ticket_id else None
                )
                desks.append(
                    {
                        "id": d.id,
                        "name": d.name,
                        "services": d.services,
                        "state": d.state,
                        "current": _without_link(self._ticket_json(conn, current))
                        if current
                        else None,
                    }
                )
        return {"office": office.id, "at": now.isoformat(), "services": services, "desks": desks}

    # --- writes ------------------------------------------------------------------------------

    def run_write(
        self,
        scope: str,
        idem_key: str | None,
        request_hash: str,
        work: Callable[[Connection, list[dict[str, Any]]], tuple[int, dict[str, Any] | None]],
    ) -> Outcome:
        """One transaction: replay a stored answer for a repeated Idempotency-Key, or do the work
        and store its answer with it."""
        events: list[dict[str, Any]] = []
        with self.transaction() as conn:
            if idem_key:
                prior = repo.get_idempotent(conn, scope, idem_key)
                if prior is not None:
                    prior_hash, prior_status, prior_body = prior
                    if prior_hash != request_hash:
                        raise Invalid(
                            "idempotency_key_reused",
                            "this Idempotency-Key was used for a different request",
                        )
                    body = json.loads(prior_body) if prior_body else None
                    return Outcome(prior_status, body, [], replayed=True)
            status, body = work(conn, events)
            if events and self.engine.dialect.name == "postgresql":
                # other replicas' tailers wake at commit (on the cursor: SQLAlchemy's own
                # execution costs more than the statement)
                conn.connection.driver_connection.execute(NOTIFY_SQL)  # type: ignore[union-attr]
            if idem_key:
                repo.put_idempotent(
                    conn,
                    scope,
                    idem_key,
                    request_hash,
                    status,
                    orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS).decode()
                    if body is not None
                    else "",
                    self.clock(),
                )
        return Outcome(status, body, events)

    def issue_ticket(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        office_id: str | None,
        service_id: str,
        priority: str | None,
        lang: str | None,
        channel: str,
        *,
        slot_at: datetime | None = None,
        appointment_id: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """`slot_at` (an appointment's slot) makes the policy call the ticket at that time."""
        if principal.role not in CAN_ISSUE:
            raise DomainError("forbidden", f"a {principal.role} token cannot issue tickets")
        office = self.office(office_id, principal)
        service = next((s for s in office.services if s.id == service_id), None)
        if service is None:
            raise NotFound("unknown_service", f"office {office.id} has no service {service_id!r}")
        if priority is not None and priority not in self.settings.queue.priority_categories:
            raise Invalid(
                "unknown_priority",
                f"priority must be one of {', '.join(self.settings.queue.priority_categories)}",
            )
        if channel not in CHANNELS:
            raise Invalid("unknown_channel", f"channel must be one of {', '.join(CHANNELS)}")
        lang = lang if lang in office.languages else office.languages[0]
        now = self.clock()
        day = local_day(now, office.timezone).isoformat()
        seq = repo.next_sequence(conn, office.id, service.prefix, day)
        if seq >= self._offline_from:
            seq = skip_offline_range(conn, office.id, service.prefix, day, seq, self._offline_from)
        waiting, oldest = repo.service_stats(conn, office.id, service.id, now)
        if priority is None:
            ahead = waiting
        else:
            ahead = repo.count_ahead_of_priority(
                conn, office.id, service.id, now, self._starved_before(now)
            )
        values: dict[str, Any] = {
            "office_id": office.id,
            "service_id": service.id,
            "day": day,
            "number": format_number(service.prefix, seq),
            "status": TicketStatus.WAITING.value,
            "priority": priority,
            "lang": lang,
            "channel": channel,
            "issued_at": now,
            "fair_at": slot_at or now,
            "slot_at": slot_at,
            "called_at": None,
            "desk_id": None,
            "recalls": 0,
            "appointment_id": appointment_id,
        }
        row = SimpleNamespace(id=repo.insert_ticket(conn, **values), **values)
        estimate = self._estimate(conn, office, service.id, ahead)
        body = self._ticket_json(conn, row, position=ahead + 1, estimate=estimate)
        if slot_at is None or slot_at <= now:
            fair = slot_at or now
            after = {service.id: (waiting + 1, min(oldest, fair) if oldest else fair)}
        else:  # an early appointment counts as waiting only from its slot on
            after = {service.id: (waiting, oldest)}
        issued = (ev.TICKET_ISSUED, {"ticket": self._event_ticket(row)})
        self._emit_queue(conn, events, office, [service.id], now, after, first=issued)
        return 201, body

    def desk_action(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        office_id: str | None,
        desk_id: str,
        action: str,
        body: dict[str, Any],
    ) -> tuple[int, dict[str, Any] | None]:
        office = self.office(office_id, principal)
        desk = repo.get_desk(conn, office.id, desk_id)
        if desk is None:
            raise NotFound("unknown_desk", f"office {office.id} has no desk {desk_id!r}")
        if principal.role not in CAN_ACT_ANY_DESK and not (
            principal.role == "staff" and principal.desk_id == desk_id
        ):
            raise DomainError("forbidden", f"this token may not act for desk {desk_id}")
        now = self.clock()
        if action == "pause" or action == "resume":
            state = "paused" if action == "pause" else "open"
            repo.update_desk(conn, office.id, desk_id, state=state, updated_at=now)
            self._desk_cache.pop(office.id, None)
            kind = ev.DESK_PAUSED if action == "pause" else ev.DESK_RESUMED
            self._emit(conn, events, office.id, kind, now, desk={"id": desk_id, "name": desk.name})
            self._emit_queue(conn, events, office, list(desk.services), now)
            return 200, self._desk_json(conn, desk_id, office.id)
        current = repo.get_ticket(conn, desk.current_ticket_id) if desk.current_ticket_id else None
        if current is not None and TicketStatus(current.status) not in ACTIVE_AT_DESK:
            current = None
        if action == "next":
            only = body.get("service")
            if only is not None and all(s.id != only for s in office.services):
                raise NotFound("unknown_service", f"office {office.id} has no service {only!r}")
            if only is not None and only not in desk.services:
                raise Conflict(
                    "desk_does_not_serve", f"desk {desk_id} does not serve {only!r}", service=only
                )
            return self._call_next(conn, events, office, desk, current, now, only)
        if current is None:
            raise Conflict("desk_idle", f"desk {desk_id} has no ticket in hand")
        if action == "recall":
            transition(current.status, "recall")
            repo.update_ticket(conn, current.id, status="recalled", recalls=current.recalls + 1)
            return self._after(conn, events, office, current.id, ev.TICKET_RECALLED, now)
        if action == "start":
            transition(current.status, "start")
            repo.update_ticket(conn, current.id, status="serving", started_at=now)
            return self._after(conn, events, office, current.id, ev.TICKET_STARTED, now)
        if action == "finish":
            transition(current.status, "finish")
            repo.update_ticket(conn, current.id, status="done", finished_at=now)
            repo.update_desk(conn, office.id, desk_id, current_ticket_id=None, updated_at=now)
            self._mean_cache.pop((office.id, current.service_id), None)
            return self._after(conn, events, office, current.id, ev.TICKET_FINISHED, now)
        if action == "no-show":
            transition(current.status, "no_show")
            repo.update_ticket(conn, current.id, status="no_show", finished_at=now)
            repo.update_desk(conn, office.id, desk_id, current_ticket_id=None, updated_at=now)
            return self._after(conn, events, office, current.id, ev.TICKET_NO_SHOW, now)
        if action == "transfer":
            return self._transfer(conn, events, office, desk, current, body, now)
        raise NotFound("unknown_action", f"no desk action {action!r}")

    def cancel_ticket(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        ticket_id: int,
        principal: Principal | None,
        token: str | None,
    ) -> tuple[int, dict[str, Any]]:
        from .auth import check_status_token

        row = repo.get_ticket(conn, ticket_id)
        allowed = row is not None and (
            (
                principal is not None
                and principal.role in CAN_ISSUE
                and principal.office_id in (None, row.office_id)
            )
            or (token is not None and check_status_token(self.secret, ticket_id, token))
        )
        if row is None or not allowed:
            raise NotFound("unknown_ticket", f"no ticket {ticket_id}")
        office = self.office(row.office_id)
        transition(row.status, "cancel")
        now = self.clock()
        repo.update_ticket(conn, ticket_id, status="cancelled", finished_at=now)
        return self._after(conn, events, office, ticket_id, ev.TICKET_CANCELLED, now)

    def report_health(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        principal: Principal,
        device: str,
        report: dict[str, Any],
        owner: int | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Store `device`'s report in the row of the caller's office (the office its token is
        bound to, else the default one), owned by `owner` (hub/pairing.py claim_device_name). An
        admin's report leaves the row's role as it was (a new row gets role admin)."""
        office = self.office(None, principal)
        now = self.clock()
        repo.put_device_report(
            conn,
            office.id,
            device,
            principal.role,
            report,
            now,
            owner,
            keep_role=principal.role == "admin",
        )
        return 200, {"device": device, "office": office.id, "received_at": now.isoformat()}

    def device_reports(self, office_id: str | None) -> list[dict[str, Any]]:
        with self.transaction(write=False) as conn:
            return [
                {
                    "device": r.device,
                    "office": r.office_id,
                    "role": r.role,
                    "report": r.report,
                    "received_at": r.received_at.isoformat(),
                }
                for r in repo.device_reports(conn, office_id)
            ]

    # --- desk helpers ------------------------------------------------------------------------

    def _call_next(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        office: OfficeSettings,
        desk: Row[Any],
        current: Row[Any] | None,
        now: datetime,
        only: str | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        if desk.state == "paused":
            raise Conflict("desk_paused", f"desk {desk.id} is paused; resume it first")
        if current is not None:
            if current.status != TicketStatus.SERVING.value:
                raise Conflict(
                    "desk_busy",
                    f"desk {desk.id} has called {current.number}: start, recall or mark no-show first",
                )
            # "Next" while serving ends that service, as staff expect.
            repo.update_ticket(conn, current.id, status="done", finished_at=now)
            self._mean_cache.pop((office.id, current.service_id), None)
            done = repo.get_ticket(conn, current.id)
            assert done is not None
            self._emit(
                conn, events, office.id, ev.TICKET_FINISHED, now, ticket=self._event_ticket(done)
            )
        service_ids = [only] if only else list(desk.services)
        candidates = repo.next_candidates(conn, office.id, service_ids)
        decision = choose_next(candidates, now, self.policy)
        if decision is None:
            repo.update_desk(conn, office.id, desk.id, current_ticket_id=None, updated_at=now)
            if current is not None:
                self._emit_queue(conn, events, office, service_ids, now)
            return 204, None
        chosen = decision.ticket
        repo.mark_overtaken(conn, office.id, service_ids, chosen, now)
        transition(TicketStatus.WAITING, "call")
        repo.update_ticket(conn, chosen.id, status="called", called_at=now, desk_id=desk.id)
        repo.update_desk(conn, office.id, desk.id, current_ticket_id=chosen.id, updated_at=now)
        return self._after(conn, events, office, chosen.id, ev.TICKET_CALLED, now)

    def _transfer(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        office: OfficeSettings,
        desk: Row[Any],
        current: Row[Any],
        body: dict[str, Any],
        now: datetime,
    ) -> tuple[int, dict[str, Any]]:
        target = body.get("service")
        if not isinstance(target, str) or not target:
            raise Invalid("missing_service", 'give the service to transfer to: {"service": ID}')
        if not any(s.id == target for s in office.services):
            raise NotFound("unknown_service", f"office {office.id} has no service {target!r}")
        if target == current.service_id:
            raise Invalid("same_service", "the ticket is already in that service")
        transition(current.status, "transfer")
        repo.update_ticket(conn, current.id, status="transferred", finished_at=now)
        repo.update_desk(conn, office.id, desk.id, current_ticket_id=None, updated_at=now)
        new_id = repo.insert_ticket(
            conn,
            office_id=office.id,
            service_id=target,
            day=current.day,
            number=current.number,
            status=TicketStatus.WAITING.value,
            priority=current.priority,
            lang=current.lang,
            channel=current.channel,
            issued_at=now,
            fair_at=current.fair_at,
            recalls=0,
            transferred_from=current.id,
            appointment_id=current.appointment_id,
        )
        old = repo.get_ticket(conn, current.id)
        new = repo.get_ticket(conn, new_id)
        assert old is not None and new is not None
        self._emit(
            conn,
            events,
            office.id,
            ev.TICKET_TRANSFERRED,
            now,
            ticket=self._event_ticket(old),
            to=self._event_ticket(new),
        )
        self._emit_queue(conn, events, office, [current.service_id, target], now)
        return 200, self._ticket_json(conn, new, with_position=True)

    def _after(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        office: OfficeSettings,
        ticket_id: int,
        kind: str,
        now: datetime,
    ) -> tuple[int, dict[str, Any]]:
        row = repo.get_ticket(conn, ticket_id)
        assert row is not None
        done = (kind, {"ticket": self._event_ticket(row)})
        self._emit_queue(conn, events, office, [row.service_id], now, first=done)
        return 200, self._ticket_json(conn, row)

    def _desk_json(self, conn: Connection, desk_id: str, office_id: str) -> dict[str, Any]:
        d = repo.get_desk(conn, office_id, desk_id)
        assert d is not None
        return {"id": d.id, "name": d.name, "services": d.services, "state": d.state}

    # --- events ------------------------------------------------------------------------------

    def _emit(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        office_id: str,
        kind: str,
        at: datetime,
        **payload: Any,
    ) -> None:
        event_id = repo.insert_event(conn, office_id, kind, at, payload)
        self._emitted(conn, events, event_id, office_id, kind, at, payload)

    def _emitted(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        event_id: int,
        office_id: str,
        kind: str,
        at: datetime,
        payload: dict[str, Any],
    ) -> None:
        event = {"id": event_id, "type": kind, "office": office_id, "at": at.isoformat(), **payload}
        events.append(event)
        if self.notify is not None:  # the outbox, in this same transaction
            self.notify(conn, event)

    def _emit_queue(
        self,
        conn: Connection,
        events: list[dict[str, Any]],
        office: OfficeSettings,
        service_ids: list[str],
        now: datetime,
        known: dict[str, tuple[int, datetime | None]] | None = None,
        first: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """queue.changed; `first`, an event (type, payload) to write just before it, goes with it
        in one statement."""
        stats = self._service_stats(conn, office, service_ids, now, known)
        if first is None:
            self._emit(conn, events, office.id, ev.QUEUE_CHANGED, now, services=stats)
            return
        pair = (first, (ev.QUEUE_CHANGED, {"services": stats}))
        ids = repo.insert_event_pair(conn, office.id, now, pair)
        for event_id, (kind, payload) in zip(ids, pair, strict=True):
            self._emitted(conn, events, event_id, office.id, kind, now, payload)

    def _service_stats(
        self,
        conn: Connection,
        office: OfficeSettings,
        service_ids: list[str],
        now: datetime,
        known: dict[str, tuple[int, datetime | None]] | None = None,
    ) -> list[dict[str, Any]]:
        raw = known or repo.queue_stats(conn, office.id, service_ids, now)
        out = []
        for service_id in service_ids:
            waiting, oldest = raw[service_id]
            out.append(
                {
                    "service": service_id,
                    "waiting": waiting,
                    "longest_wait_s": int((now - oldest).total_seconds()) if oldest else 0,
                    "estimated_wait_s": self._estimate(conn, office, service_id, waiting),
                }
            )
        return out

    # --- estimates ---------------------------------------------------------------------------

    def _estimate(
        self, conn: Connection, office: OfficeSettings, service_id: str, ahead: int
    ) -> int | None:
        open_desks = self._open_desks(conn, office.id).get(service_id, 0)
        return estimated_wait(ahead, open_desks, self._mean_service(conn, office.id, service_id))

    def _open_desks(self, conn: Connection, office_id: str) -> dict[str, int]:
        """service -> open desks serving it; cached briefly (other replicas may pause desks)."""
        cached = self._desk_cache.get(office_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        counts: dict[str, int] = {}
        for desk in repo.list_desks(conn, office_id):
            if desk.state == "open":
                for service_id in desk.services:
                    counts[service_id] = counts.get(service_id, 0) + 1
        self._desk_cache[office_id] = (time.monotonic() + 2.0, counts)
        return counts

    def _mean_service(self, conn: Connection, office_id: str, service_id: str) -> float:
        cached = self._mean_cached(office_id, service_id)
        if cached is not None:
            return cached
        window = self.settings.queue.service_time_window
        recent = repo.recent_service_seconds(conn, office_id, service_id, window)
        return self._keep_mean(office_id, service_id, recent)

    def _mean_cached(self, office_id: str, service_id: str) -> float | None:
        cached = self._mean_cache.get((office_id, service_id))
        return cached[1] if cached and cached[0] > time.monotonic() else None

    def _keep_mean(self, office_id: str, service_id: str, recent: list[float]) -> float:
        mean = mean_service_time(recent, self.settings.queue.default_service_time_s)
        self._mean_cache[(office_id, service_id)] = (time.monotonic() + 30.0, mean)
        return mean

    def _starved_before(self, now: datetime) -> datetime:
        return repo.starved_cutoff(now, self.settings.queue.max_overtake_minutes)

    # --- JSON shapes -------------------------------------------------------------------------

    def status_url(self, ticket_id: int) -> str:
        token = status_token(self.secret, ticket_id)
        return f"{self.settings.hub.base_url()}/status/{ticket_id}?t={token}"

    def _event_ticket(self, row: Row[Any]) -> dict[str, Any]:
        office = self.offices[row.office_id]
        desk = office.desk_by_id(row.desk_id) if row.desk_id else None
        return {
            "id": row.id,
            "number": row.number,
            "service": row.service_id,
            "desk": row.desk_id,
            "desk_name": desk.label() if desk else None,
            "status": row.status,
            "priority": row.priority,
            "recalls": row.recalls,
        }

    def _ticket_json(
        self,
        conn: Connection,
        row: Row[Any],
        *,
        position: int | None = None,
        estimate: int | None = None,
        with_position: bool = False,
    ) -> dict[str, Any]:
        office = self.offices[row.office_id]
        service = next((s for s in office.services if s.id == row.service_id), None)
        if with_position and row.status == TicketStatus.WAITING.value:
            now = self.clock()
            waiting = repo.waiting_in_service(conn, office.id, row.service_id)
            me = next((q for q in waiting if q.id == row.id), None)
            if me is not None:
                position = _position(me, waiting, now, self.policy)
                estimate = self._estimate(conn, office, row.service_id, position - 1)
        desk = office.desk_by_id(row.desk_id) if row.desk_id else None
        return {
            "id": row.id,
            "office": row.office_id,
            "number": row.number,
            "service": row.service_id,
            "service_names": service.names if service else {},
            "status": row.status,
            "priority": row.priority,
            "lang": row.lang,
            "channel": row.channel,
            "position": position if row.status == TicketStatus.WAITING.value else None,
            "estimated_wait_s": estimate if row.status == TicketStatus.WAITING.value else None,
            "issued_at": row.issued_at.isoformat(),
            "called_at": row.called_at.isoformat() if row.called_at else None,
            "desk": row.desk_id,
            "desk_name": desk.label() if desk else None,
            "recalls": row.recalls,
            "status_url": self.status_url(row.id),
        }


def _position(
    me: QueuedTicket, waiting: list[QueuedTicket], now: datetime, policy: QueuePolicy
) -> int:
    return position(me, waiting, now, policy)


def _savepointed(cursor: Any, fn: Callable[..., T], args: tuple[Any, ...]) -> T | Exception:
    cursor.execute("SAVEPOINT batched")
    try:
        result = fn(*args)
    except Exception as exc:
        cursor.execute("ROLLBACK TO batched")
        result = exc
    cursor.execute("RELEASE batched")
    return result


def _spread(found: list[Outcome | Exception | None] | Exception, count: int) -> list[Any]:
    return [found] * count if isinstance(found, Exception) else found


def _without_link(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as the queue shows it to every reader: without the citizen's status link."""
    ticket["status_url"] = None
    return ticket
