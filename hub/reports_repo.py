"""SQL of the results: tickets as KPI records, feedback counts. Reads only.

Reports read a year of tickets at once, so they use their own engine (`read_engine`): on SQLite
its connections never take the write lock (the hub's own engine begins every transaction with
BEGIN IMMEDIATE), so a report running for a second never holds up a desk's call.
"""

from __future__ import annotations

import gc
import marshal
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from threading import Lock
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    String,
    create_engine,
    event,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.pool import NullPool

from office360.core.errors import Invalid
from office360.core.kpi import (
    DayCells,
    KpiReport,
    ServiceLevel,
    TicketFacts,
    TicketRecord,
    collect_days,
    compute_kpis_from_days,
    compute_kpis_from_facts,
    ticket_facts,
)
from office360.core.model import FINAL

from . import tables as t

_FINAL = frozenset(s.value for s in FINAL)
_SECOND = timedelta(seconds=1)  # a timedelta over it is exactly its total_seconds()
TIME_COLUMNS = ("issued_at", "called_at", "started_at", "finished_at", "slot_at")


def read_engine(url: str) -> Engine:
    """An engine for long reads. SQLite: autocommit reads (WAL gives each a snapshot), no pool."""
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    engine = create_engine(url, poolclass=NullPool, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # no BEGIN: each SELECT reads a consistent snapshot
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    return engine


class _LocalTimes:
    """Stored UTC times (text on SQLite, aware datetimes elsewhere) to naive local datetimes.

    One ticket's times all take the offset of its issue time: the hours, days and durations
    stay right, and the zone database is asked once per hour of the year, not per value."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)
        self.offsets: dict[Any, timedelta] = {}

    def offset(self, issued: Any) -> timedelta:
        key = issued[:13] if isinstance(issued, str) else (issued.date(), issued.hour)
        found = self.offsets.get(key)
        if found is None:
            moment = _utc(issued)
            found = self.offsets[key] = moment.astimezone(self.zone).utcoffset() or timedelta()
        return found


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def ticket_records(
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None = None,
) -> list[TicketRecord]:
    return list(iter_ticket_records(conn, timezones, first, last, office))


def iter_ticket_records(
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None = None,
) -> Iterator[TicketRecord]:
    """The tickets of office-local days `first`..`last` (one office or all), in issue order.

    Times are the office's local wall-clock times (naive), as the KPIs group by local hour and
    day. An appointment's ticket is issued at check-in, so its issue time is the check-in.
    Tickets are inserted when issued, so the primary key is issue order (and costs no sort)."""
    query = _ticket_query(first, last, office)
    sqlite = conn.dialect.name == "sqlite"
    # SQLite keeps times as ISO text: fromisoformat is the fastest way to a datetime.
    parse: Callable[[Any], datetime] = datetime.fromisoformat if sqlite else _naive_utc
    zones: dict[str, _LocalTimes] = {}
    for rows in _batches(conn, query, sqlite):
        for office_id, service, desk, channel, status, recalls, came_from, *times in rows:
            issued, called, started, finished, slot, _day = times
            zone = zones.get(office_id)
            if zone is None:
                zone = zones[office_id] = _LocalTimes(timezones.get(office_id, "UTC"))
            shift = zone.offset(issued)
            issued_at = parse(issued) + shift
            if slot is not None:
                slot = parse(slot) + shift
            yield TicketRecord(
                office_id,
                service,
                desk,
                channel,
                issued_at,
                None if called is None else parse(called) + shift,
                None if started is None else parse(started) + shift,
                None if finished is None else parse(finished) + shift,
                status,
                slot,
                issued_at if slot is not None and came_from is None else None,
                came_from is not None,
                recalls or 0,
            )


def iter_ticket_facts(
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None = None,
) -> Iterator[TicketFacts]:
    """The tickets of `iter_ticket_records` reduced to what the KPIs read, in issue order.

    On SQLite no `TicketRecord` is built: the rows are the database's own (trusted, so not
    validated again), durations come from the UTC times as they are (one ticket's times share
    one offset, so local time changes nothing in them), and only the issue time's local hour and
    day are looked up, once per hour of the year."""
    if conn.dialect.name != "sqlite":
        yield from ticket_facts(iter_ticket_records(conn, timezones, first, last, office))
        return
    calendars: dict[str, _LocalCalendar] = {}
    for rows in _batches(conn, _ticket_query(first, last, office), True):
        yield from _row_facts(rows, timezones, calendars)


def _row_facts(
    rows: Iterable[Sequence[Any]],
    timezones: Mapping[str, str],
    calendars: dict[str, _LocalCalendar],
) -> Iterator[TicketFacts]:
    """SQLite rows of `_ticket_query` to `TicketFacts`."""
    parse = datetime.fromisoformat
    for office_id, service, desk, channel, status, recalls, came_from, *times in rows:
        issued, called, started, finished, slot, _day = times
        calendar = calendars.get(office_id)
        if calendar is None:
            calendar = calendars[office_id] = _LocalCalendar(timezones.get(office_id, "UTC"))
        local = calendar.hours.get(issued[:13]) or calendar.hour_and_day(issued)
        issued_at = parse(issued)
        wait = walk = span = punctual = None
        if started is not None:
            started = parse(started)
            if finished is not None:
                span = (parse(finished) - started) / _SECOND
        if slot is not None:
            slot = parse(slot)
            if came_from is None:
                punctual = (issued_at - slot) / _SECOND
        if called is not None:
            called = parse(called)
            wait = (
                called - (slot if slot is not None and slot > issued_at else issued_at)
            ) / _SECOND
            if started is not None:
                walk = (started - called) / _SECOND
        yield (
            office_id,
            service,
            desk,
            *local,
            channel,
            status,
            wait,
            walk,
            span,
            punctual,
            came_from is not None,
            recalls or 0,
        )


class _LocalCalendar:
    """Local hour of day and day ordinal of stored UTC issue times ('YYYY-MM-DD HH:MM:SS...'),
    kept per UTC hour where the zone's offset is whole hours (it is almost everywhere)."""

    def __init__(self, timezone: str) -> None:
        self.times = _LocalTimes(timezone)
        self.hours: dict[str, tuple[int, int]] = {}

    def hour_and_day(self, issued: str) -> tuple[int, int]:
        shift = self.times.offset(issued)
        moment = datetime.fromisoformat(issued) + shift
        found = (moment.hour, moment.toordinal())
        if not shift.total_seconds() % 3600:
            self.hours[issued[:13]] = found
        return found


def _ticket_query(
    first: date, last: date, office: str | None, skip: Sequence[tuple[str, str]] = ()
) -> Any:
    """Ticket rows of the local days `first`..`last` but the (office, day)s in `skip`, in issue
    order; the stored `day` comes last."""
    c = t.tickets.c
    query = (
        select(
            c.office_id,
            c.service_id,
            c.desk_id,
            c.channel,
            c.status,
            c.recalls,
            c.transferred_from,
            *(type_coerce(c[name], String) for name in TIME_COLUMNS),
            c.day,
        )
        .where(c.day >= first.isoformat(), c.day <= last.isoformat())
        .order_by(c.id)
    )
    if skip:
        query = query.where(tuple_(c.office_id, c.day).not_in(skip))
    if office is not None:
        query = query.where(c.office_id == office)
    return query


def _batches(
    conn: Connection, query: Any, sqlite: bool, size: int = 20_000
) -> Iterator[Sequence[Any]]:
    """Rows as plain tuples. On SQLite straight from the driver: SQLAlchemy's row objects would
    double the cost of reading a year."""
    if not sqlite:
        result = conn.execute(query)
        while rows := result.fetchmany(size):
            yield rows
        return
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    ordered = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), ordered)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


@dataclass(frozen=True)
class FeedbackCount:
    office: str
    service: str
    rating: int
    count: int
    comments: int


def feedback_counts(
    conn: Connection, first: date, last: date, office: str | None = None
) -> list[FeedbackCount]:
    """Ratings per office, service and star, for tickets of the days `first`..`last`."""
    f = t.feedback.c
    query = (
        select(
            f.office_id,
            f.service_id,
            f.rating,
            func.count(),
            func.count(f.comment),
        )
        .select_from(t.feedback.join(t.tickets, t.tickets.c.id == f.ticket_id))
        .where(t.tickets.c.day >= first.isoformat(), t.tickets.c.day <= last.isoformat())
        .group_by(f.office_id, f.service_id, f.rating)
        .order_by(f.office_id, f.service_id, f.rating)
    )
    if office is not None:
        query = query.where(f.office_id == office)
    return [FeedbackCount(*row) for row in conn.execute(query)]


def days_with_tickets(conn: Connection, office: str, first: date, last: date) -> list[str]:
    """Office-local days in the range that have tickets, newest first (days to replay)."""
    query = (
        select(t.tickets.c.day)
        .where(
            t.tickets.c.office_id == office,
            t.tickets.c.day >= first.isoformat(),
            t.tickets.c.day <= last.isoformat(),
        )
        .group_by(t.tickets.c.day)
        .order_by(t.tickets.c.day.desc())
    )
    return [row[0] for row in conn.execute(query)]


# --- the report as the API, the dashboard and the CLI ask for it ------------------------------

MAX_DAYS = 400


def check_range(first: date, last: date, max_days: int = MAX_DAYS) -> None:
    if last < first:
        raise Invalid("report_range_invalid", "the end date is before the start date")
    if (last - first).days + 1 > max_days:
        raise Invalid("report_range_too_long", f"a report covers at most {max_days} days")


_PAUSES = 0
_PAUSES_LOCK = Lock()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """A report makes millions of small objects and no reference cycles: with Python's cyclic
    collector on, its full collections walk them again and again (about a third of a report's
    time here). Paused while any report runs, then back as it was."""
    global _PAUSES
    with _PAUSES_LOCK:
        if _PAUSES == 0 and not gc.isenabled():
            _PAUSES = -1  # paused by someone else: leave it to them
        elif _PAUSES >= 0:
            _PAUSES += 1
            gc.disable()
    try:
        yield
    finally:
        with _PAUSES_LOCK:
            if _PAUSES > 0:
                _PAUSES -= 1
                if _PAUSES == 0:
                    gc.enable()
            elif _PAUSES == -1:
                _PAUSES = 0


def load_kpis(
    engine: Engine,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None = None,
    service_level: ServiceLevel | None = None,
) -> KpiReport:
    """The KPI report of the office-local days `first`..`last`. Tickets stream from the
    database as `TicketFacts` into the one pass of the KPIs, so a year never sits in memory."""
    check_range(first, last)
    with _collector_paused(), engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            return compute_kpis_from_facts(
                iter_ticket_facts(conn, timezones, first, last, office),
                service_level=service_level,
            )
        days = _day_cells(engine, conn, timezones, first, last, office)
        return compute_kpis_from_days(days, service_level=service_level)


# --- closed days, collected once -----------------------------------------------------------

UnitKey = tuple[str, str]  # (office, stored local day)


class _DayCache:
    """The collected tickets (`DayCells`) of each stored office-day that is over: the day is
    past in the office's zone and every ticket of it is in a final state, which no transition
    leaves, so only a new ticket could change it. Kept per report engine and, for an SQLite
    file, in a file beside it (`<database>.kpi-days`, marshal; safe to delete) that a CLI run
    or a restarted hub starts from. Each entry carries the day's fingerprint (`_fingerprints`),
    checked on every report: a day that gained a ticket after all is read again."""

    FORMAT = 3

    def __init__(self, path: Path | None) -> None:
        self.lock = Lock()
        self.path = path
        self.entries: dict[tuple[str, str, str], tuple[tuple[int, int], list[DayCells]]] = {}
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            kept = marshal.loads(path.read_bytes())
            if kept[0] != self.FORMAT:
                return
            for key, fingerprint, plain in kept[1]:
                office, day, zone = (str(part) for part in key)
                prints = (int(fingerprint[0]), int(fingerprint[1]))
                self.entries[(office, day, zone)] = (
                    prints,
                    [DayCells.from_plain(p) for p in plain],
                )
        except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError):
            self.entries.clear()  # missing, unreadable or from another version: start afresh

    def save(self) -> None:
        """Writes the kept days beside the database; a reader without write access skips it."""
        if self.path is None:
            return
        kept = [
            (key, fingerprint, [cells.to_plain() for cells in unit])
            for key, (fingerprint, unit) in self.entries.items()
        ]
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            temporary.write_bytes(marshal.dumps((self.FORMAT, kept)))
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)


_KEPT_DAYS = 1200  # office-days: a little over three years of one office
_CACHES: WeakKeyDictionary[Engine, _DayCache] = WeakKeyDictionary()
_CACHES_LOCK = Lock()


def _cache_of(engine: Engine) -> _DayCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            database = engine.url.database
            path = None
            if engine.dialect.name == "sqlite" and database and database != ":memory:":
                path = Path(f"{database}.kpi-days")
            cache = _CACHES[engine] = _DayCache(path)
        return cache


def _fingerprints(
    conn: Connection, first: date, last: date, office: str | None
) -> dict[UnitKey, tuple[int, int]]:
    """Per stored office-day: (tickets, highest id), counting only tickets not made by a transfer
    (a transfer keeps its ticket's day, so every office-day with tickets has one), which lets
    SQLite count from the small `uq_tickets_number` index instead of reading the table."""
    c = t.tickets.c
    query = (
        select(c.office_id, c.day, func.count(), func.max(c.id))
        .where(
            c.day >= first.isoformat(),
            c.day <= last.isoformat(),
            c.transferred_from.is_(None),
        )
        .group_by(c.office_id, c.day)
    )
    if office is not None:
        query = query.where(c.office_id == office)
    return {(row[0], row[1]): (row[2], row[3]) for row in conn.execute(query)}


def _settled(unit: list[DayCells]) -> bool:
    """Every ticket in a final state: nothing can change any more (no transition leaves one)."""
    return all(status in _FINAL for cells in unit for _, status in cells.day.counts)


def _day_cells(
    engine: Engine,
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None,
) -> list[DayCells]:
    """The tickets of the stored office-days `first`..`last`, collected; days that are over come
    from the cache, the others are read (and kept once over)."""
    cache = _cache_of(engine)
    prints = _fingerprints(conn, first, last, office)
    units: dict[UnitKey, list[DayCells]] = {}
    changed = False  # the kept days, to write beside the database
    with cache.lock:
        for key, fingerprint in prints.items():
            kept_key = (*key, timezones.get(key[0], "UTC"))
            entry = cache.entries.get(kept_key)
            if entry is not None and entry[0] == fingerprint:
                units[key] = entry[1]
            elif entry is not None:
                del cache.entries[kept_key]
                changed = True
    # every other ticket of the range, whatever `prints` says, so the cache can only save work
    query = _ticket_query(first, last, office, sorted(units))
    rows = chain.from_iterable(_batches(conn, query, True))
    calendars: dict[str, _LocalCalendar] = {}
    fetched: dict[UnitKey, list[DayCells]] = {}
    # a day's tickets come in runs of issue order (a transfer keeps its ticket's day)
    for key, run in groupby(rows, key=itemgetter(0, 12)):
        fetched.setdefault(key, []).extend(collect_days(_row_facts(run, timezones, calendars)))
    units.update(fetched)
    with cache.lock:
        for key, unit in fetched.items():
            zone = timezones.get(key[0], "UTC")
            today = datetime.now(ZoneInfo(zone)).date().isoformat()
            if key in prints and key[1] < today and _settled(unit):
                cache.entries[(*key, zone)] = (prints[key], unit)
                changed = True
        while len(cache.entries) > _KEPT_DAYS:  # the oldest kept first
            del cache.entries[next(iter(cache.entries))]
        if changed:
            cache.save()
    return [cells for unit in units.values() for cells in unit]


def load_feedback(
    engine: Engine, first: date, last: date, office: str | None = None
) -> list[FeedbackCount]:
    check_range(first, last)
    with engine.connect() as conn:
        return feedback_counts(conn, first, last, office)
