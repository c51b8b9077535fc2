"""All SQL the hub issues. Functions take an open connection inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)

from office360.config import OfficeSettings
from office360.core.model import QueuedTicket, TicketStatus

from . import tables as t
from .fastsql import Fast, db_time, from_db_time

WAITING = TicketStatus.WAITING.value

# Hot-path statements are built once: building a statement costs more than running it on SQLite.
_tk = t.tickets.c
_SEQ_BUMP = Fast(
    update(t.counters)
    .where(
        t.counters.c.office_id == bindparam("o"),
        t.counters.c.prefix == bindparam("p"),
        t.counters.c.day == bindparam("d"),
    )
    .values(last_seq=t.counters.c.last_seq + 1)
    .returning(t.counters.c.last_seq)
)
_SEQ_NEW = insert(t.counters).values(
    office_id=bindparam("o"), prefix=bindparam("p"), day=bindparam("d"), last_seq=1
)
TICKET_COLUMNS = (
    "office_id",
    "service_id",
    "day",
    "number",
    "status",
    "priority",
    "lang",
    "channel",
    "issued_at",
    "fair_at",
    "slot_at",
    "overtaken_at",
    "called_at",
    "started_at",
    "finished_at",
    "desk_id",
    "recalls",
    "transferred_from",
    "appointment_id",
)
_TIME_COLUMNS = frozenset(
    {"issued_at", "fair_at", "slot_at", "overtaken_at", "called_at", "started_at", "finished_at"}
)
_TICKET_INSERT = Fast(
    insert(t.tickets).values({c: bindparam(c) for c in TICKET_COLUMNS}).returning(_tk.id)
)
_EVENT_INSERT = Fast(
    insert(t.events)
    .values(
        office_id=bindparam("o"), type=bindparam("k"), at=bindparam("at"), payload=bindparam("p")
    )
    .returning(t.events.c.id)
)
_EVENT_PAIR_INSERT = Fast(
    insert(t.events)
    .values(
        [
            {
                "office_id": bindparam("o"),
                "type": bindparam(k),
                "at": bindparam("at"),
                "payload": bindparam(p),
            }
            for k, p in (("k1", "p1"), ("k2", "p2"))
        ]
    )
    .returning(t.events.c.id, t.events.c.type)
)
_IDEM_GET = Fast(
    select(t.idempotency.c.request_hash, t.idempotency.c.status_code, t.idempotency.c.body).where(
        t.idempotency.c.scope == bindparam("s"), t.idempotency.c.key == bindparam("k")
    )
)
_IDEM_PUT = Fast(
    insert(t.idempotency).values(
        scope=bindparam("s"),
        key=bindparam("k"),
        request_hash=bindparam("h"),
        status_code=bindparam("c"),
        body=bindparam("b"),
        created_at=bindparam("at"),
    )
)
# 'waiting' written into the statement, not bound: SQLite prepares a statement again at every
# new binding of a value that could make a partial index usable (ix_tickets_special's
# status = 'waiting'), which cost about 25 µs a statement.
IS_WAITING = _tk.status == literal_column(f"'{WAITING}'")
_WAITING_IN = and_(_tk.office_id == bindparam("o"), IS_WAITING, _tk.service_id == bindparam("svc"))
_DUE = or_(_tk.slot_at.is_(None), _tk.slot_at <= bindparam("now"))
_AHEAD_OF_PRIORITY = (
    select(func.count())
    .select_from(t.tickets)
    .where(
        _WAITING_IN,
        or_(
            and_(_tk.slot_at.isnot(None), _tk.slot_at <= bindparam("now")),
            and_(_tk.slot_at.is_(None), _tk.priority.isnot(None)),
            _tk.overtaken_at <= bindparam("starved"),
        ),
    )
)
_QUEUED_COLS = (_tk.id, _tk.service_id, _tk.fair_at, _tk.priority, _tk.slot_at, _tk.overtaken_at)
# Spelled as the partial index ix_tickets_special is, so the planner uses it.
_SPECIAL_OF_SERVICE = select(*_QUEUED_COLS).where(
    _tk.office_id == bindparam("o"), _tk.service_id == bindparam("svc"), text(t.SPECIAL_WAITING)
)
_PLAIN_HEAD = (
    select(*_QUEUED_COLS)
    .where(
        _WAITING_IN,
        _tk.priority.is_(None),
        _tk.slot_at.is_(None),
        _tk.overtaken_at.is_(None),
    )
    # slot_at is NULL here; naming it lets the order come straight from ix_tickets_queue
    .order_by(_tk.fair_at, _tk.slot_at, _tk.id)
    .limit(1)
)
_DESKS_OF_OFFICE = (
    select(t.desks).where(t.desks.c.office_id == bindparam("o")).order_by(t.desks.c.id)
)
_TOKEN_GET = select(t.api_tokens).where(t.api_tokens.c.token_hash == bindparam("h"))


class FastRow(SimpleNamespace):
    """A row read on the DB-API cursor, with the attribute access of SQLAlchemy's Row."""

    def _asdict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def _mapping(self) -> dict[str, Any]:
        return self.__dict__


def _reader(table: Table) -> Callable[[Sequence[Any]], FastRow]:
    """Turns a cursor row of `select(table)` into a FastRow, typed as SQLAlchemy would type it."""
    names = [c.name for c in table.c]
    times = frozenset(c.name for c in table.c if isinstance(c.type, t.UTCDateTime))
    jsons = frozenset(c.name for c in table.c if isinstance(c.type, JSON))

    def read(values: Sequence[Any]) -> FastRow:
        row = dict(zip(names, values, strict=True))
        for name in times:
            row[name] = from_db_time(row[name])
        for name in jsons:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
        return FastRow(**row)

    return read


_read_ticket = _reader(t.tickets)
_read_desk = _reader(t.desks)
_TICKET_GET = Fast(select(t.tickets).where(_tk.id == bindparam("id")))
_DESK_GET = Fast(
    select(t.desks).where(t.desks.c.office_id == bindparam("o"), t.desks.c.id == bindparam("d"))
)
_SPECIAL_FAST = Fast(_SPECIAL_OF_SERVICE)
_PLAIN_HEAD_FAST = Fast(_PLAIN_HEAD)
_RECENT_SERVICE = Fast(
    select(_tk.started_at, _tk.finished_at)
    .where(
        _tk.office_id == bindparam("o"),
        _tk.service_id == bindparam("svc"),
        _tk.finished_at.isnot(None),
        _tk.started_at.isnot(None),
        _tk.status == "done",  # not a transfer: the citizen's service ends on the new ticket
    )
    .order_by(_tk.finished_at.desc())
    .limit(bindparam("n"))
)
_TICKET_KEY = _tk.id == bindparam("id")
_DESK_KEY = and_(t.desks.c.office_id == bindparam("o"), t.desks.c.id == bindparam("d"))
_updates: dict[tuple[str, tuple[str, ...]], Fast] = {}
_overtaken: dict[int, Fast] = {}


def _update_of(table: Table, keys: tuple[str, ...], where: Any) -> Fast:
    """UPDATE table SET <keys> WHERE <where>, built once per set of columns."""
    found = _updates.get((table.name, keys))
    if found is None:
        found = _updates[(table.name, keys)] = Fast(
            update(table).where(where).values({k: bindparam(f"v_{k}") for k in keys})
        )
    return found


# --- catalogue -------------------------------------------------------------------------------


def sync_office(conn: Connection, office: OfficeSettings) -> None:
    """Make the office, its services and desks in the database match the configuration."""
    values = {"name": office.name, "timezone": office.timezone, "languages": office.languages}
    if conn.execute(select(t.offices.c.id).where(t.offices.c.id == office.id)).first():
        conn.execute(update(t.offices).where(t.offices.c.id == office.id).values(**values))
    else:
        conn.execute(insert(t.offices).values(id=office.id, **values))
    conn.execute(delete(t.services).where(t.services.c.office_id == office.id))
    for pos, svc in enumerate(office.services):
        conn.execute(
            insert(t.services).values(
                office_id=office.id,
                id=svc.id,
                prefix=svc.prefix,
                names=svc.names,
                icon=svc.icon,
                position=pos,
            )
        )
    existing = {
        r.id for r in conn.execute(select(t.desks.c.id).where(t.desks.c.office_id == office.id))
    }
    for desk in office.desks:
        values = {"name": desk.label(), "services": desk.services}
        if desk.id in existing:
            conn.execute(
                update(t.desks)
                .where(t.desks.c.office_id == office.id, t.desks.c.id == desk.id)
                .values(**values)
            )
        else:
            conn.execute(
                insert(t.desks).values(office_id=office.id, id=desk.id, state="open", **values)
            )


# --- secrets ---------------------------------------------------------------------------------


def get_or_create_secret(conn: Connection, name: str, make: Any) -> str:
    row = conn.execute(select(t.hub_secrets.c.value).where(t.hub_secrets.c.name == name)).first()
    if row:
        return str(row.value)
    value = str(make())
    conn.execute(insert(t.hub_secrets).values(name=name, value=value))
    return value


# --- numbering -------------------------------------------------------------------------------


def next_sequence(conn: Connection, office_id: str, prefix: str, day: str) -> int:
    params = {"o": office_id, "p": prefix, "d": day}
    row = _SEQ_BUMP.one(conn, params)
    if row:
        return int(row[0])
    conn.execute(_SEQ_NEW, params)
    return 1


# --- tickets ---------------------------------------------------------------------------------


def insert_ticket(conn: Connection, **values: Any) -> int:
    params = {
        c: db_time(conn, values.get(c)) if c in _TIME_COLUMNS else values.get(c)
        for c in TICKET_COLUMNS
    }
    params["recalls"] = params["recalls"] or 0
    row = _TICKET_INSERT.one(conn, params)
    assert row is not None
    return int(row[0])


def get_ticket(conn: Connection, ticket_id: int) -> Any:
    """The ticket (a FastRow: attributes as on a Row), or None."""
    row = _TICKET_GET.one(conn, {"id": ticket_id})
    return _read_ticket(row) if row is not None else None


def update_ticket(conn: Connection, ticket_id: int, **values: Any) -> None:
    keys = tuple(sorted(values))
    statement = _update_of(t.tickets, keys, _TICKET_KEY)
    params = {f"v_{k}": db_time(conn, v) if k in _TIME_COLUMNS else v for k, v in values.items()}
    statement.execute(conn, {"id": ticket_id, **params}).close()


def count_ahead_of_priority(
    conn: Connection, office_id: str, service_id: str, now: datetime, starved_before: datetime
) -> int:
    """How many waiting tickets a priority ticket issued now would be called after."""
    params = {"o": office_id, "svc": service_id, "now": now, "starved": starved_before}
    return int(conn.execute(_AHEAD_OF_PRIORITY, params).scalar_one())


# PostgreSQL, where each statement is a round trip: the three reads of service_stats in one
SERVICE_STATS_PG = """
SELECT (SELECT waiting FROM waiting_counts WHERE office_id = %(o)s AND service_id = %(svc)s),
  (SELECT count(*) FROM tickets WHERE office_id = %(o)s AND service_id = %(svc)s
     AND status = 'waiting' AND slot_at IS NOT NULL AND slot_at <= %(now)s),
  (SELECT fair_at FROM tickets WHERE office_id = %(o)s AND status = 'waiting'
     AND service_id = %(svc)s AND (slot_at IS NULL OR slot_at <= %(now)s)
     ORDER BY fair_at LIMIT 1)
"""
# the same three in one statement on SQLite: waiting_counts (migration 0360) is kept by triggers;
# SQLite must be told to count due appointments in ix_tickets_special
_SERVICE_STATS_SQLITE = Fast(
    text(
        SERVICE_STATS_PG.replace("%(o)s", ":o")
        .replace("%(svc)s", ":svc")
        .replace("%(now)s", ":now")
        .replace(
            "SELECT count(*) FROM tickets",
            "SELECT count(*) FROM tickets INDEXED BY ix_tickets_special",
        )
    )
)
# ... and the two reads a service of next_candidates, for all the services at once. Each head
# comes with its ties on fair_at (the policy breaks them by id). psycopg prepares repeated
# statements, and PostgreSQL keeps a plan made when the table was small: both look-ups are
# written in ix_tickets_queue's order (a range on fair_at, ORDER BY fair_at) so that the kept plan
# is a probe of that index, not a walk through every ticket of the service in another index.
_PLAIN_WAITING_PG = (
    "office_id = %(o)s AND status = 'waiting' AND service_id = s.id "
    "AND priority IS NULL AND slot_at IS NULL AND overtaken_at IS NULL"
)
_CANDIDATES_PG = f"""
SELECT id, service_id, fair_at, priority, slot_at, overtaken_at FROM tickets
WHERE office_id = %(o)s AND service_id = ANY(%(svcs)s::text[]) AND {t.SPECIAL_WAITING}
UNION ALL
SELECT h.* FROM unnest(%(svcs)s::text[]) AS s(id) CROSS JOIN LATERAL (
  SELECT id, service_id, fair_at, priority, slot_at, overtaken_at FROM tickets
  WHERE {_PLAIN_WAITING_PG} AND fair_at <= (
    SELECT fair_at FROM tickets WHERE {_PLAIN_WAITING_PG} ORDER BY fair_at LIMIT 1
  ) ORDER BY fair_at
) AS h
"""


def _pg_rows(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()
    finally:
        cursor.close()


def service_stats(
    conn: Connection, office_id: str, service_id: str, now: datetime
) -> tuple[int, datetime | None]:
    """(waiting tickets whose turn can come now, the earliest fair time among them)."""
    if conn.dialect.name == "postgresql":
        plain, slotted, first = _pg_rows(
            conn, SERVICE_STATS_PG, {"o": office_id, "svc": service_id, "now": now}
        )[0]
        return int(plain or 0) + int(slotted or 0), from_db_time(first)
    params = {"o": office_id, "svc": service_id, "now": db_time(conn, now)}
    found = _SERVICE_STATS_SQLITE.one(conn, params)
    assert found is not None
    plain, slotted, oldest = found
    return int(plain or 0) + int(slotted or 0), from_db_time(oldest)


def waiting_in_service(conn: Connection, office_id: str, service_id: str) -> list[QueuedTicket]:
    c = t.tickets.c
    rows = conn.execute(
        select(c.id, c.service_id, c.fair_at, c.priority, c.slot_at, c.overtaken_at).where(
            c.office_id == office_id, IS_WAITING, c.service_id == service_id
        )
    )
    return [_queued(r) for r in rows]


def next_candidates(
    conn: Connection, office_id: str, service_ids: Sequence[str]
) -> list[QueuedTicket]:
    """Every waiting ticket the policy could pick: all special ones and each service's oldest plain one.

    Equivalent to giving the policy every waiting ticket, since among plain tickets (no priority,
    no slot, never overtaken) it always picks the oldest.
    """
    found: dict[int, QueuedTicket] = {}
    if conn.dialect.name == "postgresql":
        params = {"o": office_id, "svcs": list(service_ids)}
        for r in _pg_rows(conn, _CANDIDATES_PG, params):
            found[r[0]] = _queued_of(r)
        return list(found.values())
    for service_id in service_ids:
        params = {"o": office_id, "svc": service_id}
        cursor = _SPECIAL_FAST.execute(conn, params)
        rows = cursor.fetchall()
        cursor.close()
        head = _PLAIN_HEAD_FAST.one(conn, params)
        for r in [*rows, head] if head else rows:
            found[r[0]] = _queued_of(r)
    return list(found.values())


def mark_overtaken(
    conn: Connection,
    office_id: str,
    service_ids: Sequence[str],
    chosen: QueuedTicket,
    now: datetime,
) -> list[int]:
    """Stamp the first time each waiting ticket with an earlier fair place is passed over."""
    c = t.tickets.c
    query = _overtaken.get(len(service_ids))
    if query is None:
        query = _overtaken[len(service_ids)] = Fast(
            select(c.id).where(
                c.office_id == bindparam("o"),
                IS_WAITING,
                c.service_id.in_([bindparam(f"s{i}") for i in range(len(service_ids))]),
                c.overtaken_at.is_(None),
                c.id != bindparam("cid"),
                c.fair_at <= bindparam("fair"),  # a range of ix_tickets_queue
                tuple_(c.fair_at, c.id) < tuple_(bindparam("fair"), bindparam("cid")),
                or_(c.slot_at.is_(None), c.slot_at <= bindparam("fair")),
            )
        )
    params = {"o": office_id, "cid": chosen.id, "fair": db_time(conn, chosen.issued_at)}
    params.update({f"s{i}": s for i, s in enumerate(service_ids)})
    cursor = query.execute(conn, params)
    ids = [r[0] for r in cursor.fetchall()]
    cursor.close()
    if ids:
        conn.execute(update(t.tickets).where(c.id.in_(ids)).values(overtaken_at=now))
    return ids


def queue_stats(
    conn: Connection, office_id: str, service_ids: Iterable[str], now: datetime
) -> dict[str, tuple[int, datetime | None]]:
    """service -> (waiting count, earliest fair time among those due)."""
    return {s: service_stats(conn, office_id, s, now) for s in service_ids}


def recent_service_seconds(
    conn: Connection, office_id: str, service_id: str, limit: int
) -> list[float]:
    cursor = recent_service_cursor(conn, office_id, service_id, limit)
    rows = cursor.fetchall()
    cursor.close()
    return service_seconds(rows)


def recent_service_cursor(conn: Connection, office_id: str, service_id: str, limit: int) -> Any:
    """The statement of recent_service_seconds() sent; in psycopg's pipeline mode, not waited for."""
    return _RECENT_SERVICE.execute(conn, {"o": office_id, "svc": service_id, "n": limit})


def service_seconds(rows: Iterable[Sequence[Any]]) -> list[float]:
    seconds = []
    for started, finished in rows:
        end, start = from_db_time(finished), from_db_time(started)
        assert end is not None and start is not None
        seconds.append((end - start).total_seconds())
    return seconds


def _queued_of(r: Sequence[Any]) -> QueuedTicket:
    """From a cursor row of _QUEUED_COLS."""
    fair = from_db_time(r[2])
    assert fair is not None
    return QueuedTicket(
        id=r[0],
        service_id=r[1],
        issued_at=fair,
        priority=r[3],
        slot_at=from_db_time(r[4]),
        overtaken_at=from_db_time(r[5]),
    )


def _queued(r: Any) -> QueuedTicket:
    return QueuedTicket(
        id=r.id,
        service_id=r.service_id,
        issued_at=r.fair_at,
        priority=r.priority,
        slot_at=r.slot_at,
        overtaken_at=r.overtaken_at,
    )


# --- desks -----------------------------------------------------------------------------------


def get_desk(conn: Connection, office_id: str, desk_id: str) -> Any:
    """The desk (a FastRow: attributes as on a Row), or None."""
    row = _DESK_GET.one(conn, {"o": office_id, "d": desk_id})
    return _read_desk(row) if row is not None else None


def list_desks(conn: Connection, office_id: str) -> list[Row[Any]]:
    return list(conn.execute(_DESKS_OF_OFFICE, {"o": office_id}))


def update_desk(conn: Connection, office_id: str, desk_id: str, **values: Any) -> None:
    if "services" not in values:  # no JSON to encode: the cursor's way
        keys = tuple(sorted(values))
        params = {f"v_{k}": db_time(conn, v) if k == "updated_at" else v for k, v in values.items()}
        statement = _update_of(t.desks, keys, _DESK_KEY)
        statement.execute(conn, {"o": office_id, "d": desk_id, **params}).close()
        return
    conn.execute(
        update(t.desks)
        .where(t.desks.c.office_id == office_id, t.desks.c.id == desk_id)
        .values(**values)
    )


# --- events ----------------------------------------------------------------------------------


def insert_event(
    conn: Connection, office_id: str, type_: str, at: datetime, payload: dict[str, Any]
) -> int:
    data = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode()
    params = {"o": office_id, "k": type_, "at": db_time(conn, at), "p": data}
    row = _EVENT_INSERT.one(conn, params)
    assert row is not None
    return int(row[0])


def insert_event_pair(
    conn: Connection,
    office_id: str,
    at: datetime,
    pair: tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]],
) -> tuple[int, int]:
    """Two events of different types in one statement; their ids in the pair's order."""
    (k1, p1), (k2, p2) = pair
    assert k1 != k2
    params = {
        "o": office_id,
        "at": db_time(conn, at),
        "k1": k1,
        "p1": orjson.dumps(p1, option=orjson.OPT_NON_STR_KEYS).decode(),
        "k2": k2,
        "p2": orjson.dumps(p2, option=orjson.OPT_NON_STR_KEYS).decode(),
    }
    cursor = _EVENT_PAIR_INSERT.execute(conn, params)
    try:
        ids = {kind: int(event_id) for event_id, kind in cursor.fetchall()}
    finally:
        cursor.close()
    return ids[k1], ids[k2]


def events_after(
    conn: Connection, office_id: str | None, after_id: int, limit: int = 5000
) -> list[Row[Any]]:
    c = t.events.c
    q = select(c.id, c.office_id, c.type, c.at, c.payload).where(c.id > after_id)
    if office_id:
        q = q.where(c.office_id == office_id)
    return list(conn.execute(q.order_by(c.id).limit(limit)))


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(t.events.c.id), 0))).scalar_one())


def purge_events(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(t.events).where(t.events.c.at < before)).rowcount or 0


# --- tokens ----------------------------------------------------------------------------------


def insert_token(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(t.api_tokens).values(**values))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def token_by_hash(conn: Connection, token_hash: str) -> Row[Any] | None:
    return conn.execute(_TOKEN_GET, {"h": token_hash}).first()


def list_tokens(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(t.api_tokens).order_by(t.api_tokens.c.id)))


def revoke_token(conn: Connection, token_id: int, now: datetime) -> bool:
    c = t.api_tokens.c
    result = conn.execute(
        update(t.api_tokens).where(c.id == token_id, c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)


# --- idempotency -----------------------------------------------------------------------------


def get_idempotent(conn: Connection, scope: str, key: str) -> tuple[str, int, str] | None:
    """(request hash, status code, body) of the answer stored under this key, if any."""
    row = _IDEM_GET.one(conn, {"s": scope, "k": key})
    return (row[0], int(row[1]), row[2]) if row else None


def put_idempotent(
    conn: Connection, scope: str, key: str, request_hash: str, status: int, body: str, now: datetime
) -> None:
    params = {"s": scope, "k": key, "h": request_hash, "c": status, "b": body}
    _IDEM_PUT.execute(conn, {**params, "at": db_time(conn, now)}).close()


def purge_idempotent(conn: Connection, before: datetime) -> int:
    return (
        conn.execute(delete(t.idempotency).where(t.idempotency.c.created_at < before)).rowcount or 0
    )


# --- devices ---------------------------------------------------------------------------------


def put_device_report(
    conn: Connection,
    office_id: str,
    device: str,
    role: str,
    report: dict[str, Any],
    now: datetime,
    token_id: int | None,
    *,
    keep_role: bool = False,
) -> None:
    """Store the last report of `device` in `office_id` (its row, and no other office's) and who
    owns the name there. With `keep_role` an existing row keeps its role (an admin's report)."""
    c = t.device_reports.c
    key = (c.office_id == office_id, c.device == device)
    values: dict[str, Any] = {"report": report, "received_at": now, "token_id": token_id}
    if conn.execute(select(c.device).where(*key)).first():
        if not keep_role:
            values["role"] = role
        conn.execute(update(t.device_reports).where(*key).values(**values))
    else:
        conn.execute(
            insert(t.device_reports).values(office_id=office_id, device=device, role=role, **values)
        )


def device_reports(conn: Connection, office_id: str | None = None) -> list[Row[Any]]:
    """Every office's device reports, or one office's; by name, then office."""
    c = t.device_reports.c
    q = select(t.device_reports).order_by(c.device, c.office_id)
    if office_id:
        q = q.where(c.office_id == office_id)
    return list(conn.execute(q))


def starved_cutoff(now: datetime, max_overtake_minutes: float) -> datetime:
    return now - timedelta(minutes=max_overtake_minutes)
