"""SQL of the results: tickets as KPI records, the office-days kept for reports, feedback counts.

Reports read a year of tickets at once, so they use their own engine (`read_engine`): on SQLite
its connections never take the write lock (the hub's own engine begins every transaction with
BEGIN IMMEDIATE), so a report running for a second never holds up a desk's call. The one write,
storing office-days that are over into `kpi_days`, is a short transaction of its own.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path
from threading import Event, Lock
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    String,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from office360.core.errors import Invalid
from office360.core.kpi import (
    DAYS_FORMAT,
    DayCells,
    KpiReport,
    ServiceLevel,
    TicketFacts,
    TicketRecord,
    collect_days,
    compute_kpis_from_days,
    pack_days,
    unpack_days,
)
from office360.core.model import FINAL

from . import tables as t

if TYPE_CHECKING:
    from office360.config import Settings

log = logging.getLogger("office360.hub.reports")
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

    No `TicketRecord` is built: the rows are the database's own (trusted, so not validated
    again), durations come from the UTC times as they are (one ticket's times share one offset,
    so local time changes nothing in them), and only the issue time's local hour and day are
    looked up, once per hour of the year."""
    sqlite = conn.dialect.name == "sqlite"
    calendars: dict[str, _LocalCalendar] = {}
    for rows in _batches(conn, _ticket_query(first, last, office), sqlite):
        yield from _row_facts(rows, timezones, calendars, sqlite)


def _row_facts(
    rows: Iterable[Sequence[Any]],
    timezones: Mapping[str, str],
    calendars: dict[str, _LocalCalendar],
    sqlite: bool = True,
) -> Iterator[TicketFacts]:
    """Rows of `_ticket_query` to `TicketFacts`: SQLite's ISO text times, or (`sqlite` false)
    the datetimes of other databases."""
    parse: Callable[[Any], datetime] = datetime.fromisoformat if sqlite else _naive_utc
    for office_id, service, desk, channel, status, recalls, came_from, *times in rows:
        issued, called, started, finished, slot, _day = times
        calendar = calendars.get(office_id)
        if calendar is None:
            calendar = calendars[office_id] = _LocalCalendar(timezones.get(office_id, "UTC"))
        if sqlite:
            local = calendar.hours.get(issued[:13]) or calendar.hour_and_day(issued)
        else:
            moment = _naive_utc(issued) + calendar.times.offset(issued)
            local = (moment.hour, moment.toordinal())
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
    """The KPI report of the office-local days `first`..`last`, from the collected office-days
    (`_day_cells`): kept ones as they are, the others read from the tickets table."""
    check_range(first, last)
    with _collector_paused():
        with engine.connect() as conn:
            days = _day_cells(engine, conn, timezones, first, last, office)
        return compute_kpis_from_days(days, service_level=service_level)


def warm(
    engine: Engine,
    timezones: Mapping[str, str],
    days: int = MAX_DAYS,
    stop: Event | None = None,
    chunk: int = 31,
) -> int:
    """Collects and keeps the office-days of the last `days` days that are over, newest first,
    a month at a time (a report asked meanwhile waits for one month at most). The hub runs this
    when it starts, so that its first report finds the year kept. Returns the office-days kept."""
    today = max((datetime.now(ZoneInfo(z)).date() for z in timezones.values()), default=None)
    last = today or datetime.now(UTC).date()
    oldest = last - timedelta(days=days - 1)
    while last >= oldest and not (stop is not None and stop.is_set()):
        first = max(oldest, last - timedelta(days=chunk - 1))
        with _collector_paused(), engine.connect() as conn:
            _day_cells(engine, conn, timezones, first, last, None)
        last = first - timedelta(days=1)
    return len(_cache_of(engine).entries)


def warm_quietly(engine: Engine, settings: Settings, stop: Event) -> None:
    """`warm` as the hub starts it, in a worker thread: it never raises (a report that finds a
    day not kept reads it from the tickets), and it ends early once `stop` is set."""
    started = time.perf_counter()
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with suppress(OSError):  # the file of kept days the previous version wrote
            Path(f"{database}.kpi-days").unlink(missing_ok=True)
    try:
        kept = warm(engine, timezones(settings), stop=stop)
    except Exception:
        log.exception("KPI reports: keeping office-days failed; reports read the tickets")
        return
    log.info("KPI reports: %d office-days kept (%.1f s)", kept, time.perf_counter() - started)


# --- office-days that are over, collected once ------------------------------------------------

UnitKey = tuple[str, str]  # (office, stored local day)
Unit = list[DayCells]  # the collected tickets of one stored office-day (a part per issue day)


class _DayCache:
    """The office-days that are over (`_settled`, and past in the office's zone), kept per report
    engine in memory and in the `kpi_days` table, where a CLI run or a restarted hub finds them.
    Each entry carries its day's fingerprint, checked on every report: a day whose tickets changed
    after all is read again. `lock` lets one report at a time fill the cache."""

    def __init__(self) -> None:
        self.lock = Lock()
        self.entries: dict[tuple[str, str, str], tuple[tuple[int, int], Unit]] = {}
        self.table: bool | None = None  # whether the database has `kpi_days` (None: not asked)


_KEPT_DAYS = 1200  # office-days in memory: three years of one office (about 35 kB a busy day)
_CACHES: WeakKeyDictionary[Engine, _DayCache] = WeakKeyDictionary()
_CACHES_LOCK = Lock()


def _cache_of(engine: Engine) -> _DayCache:
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = _DayCache()
        return cache


def _fingerprints(
    conn: Connection, first: date, last: date, office: str | None
) -> tuple[dict[UnitKey, tuple[int, int]], dict[UnitKey, int]]:
    """Per stored office-day: (tickets, highest id), and apart its lowest id. Counts only
    tickets not made by a transfer (a transfer keeps its ticket's day, so every office-day with
    tickets has one), which lets SQLite count from the small `uq_tickets_number` index instead
    of reading the table."""
    c = t.tickets.c
    query = (
        select(c.office_id, c.day, func.count(), func.max(c.id), func.min(c.id))
        .where(
            c.day >= first.isoformat(),
            c.day <= last.isoformat(),
            c.transferred_from.is_(None),
        )
        .group_by(c.office_id, c.day)
    )
    if office is not None:
        query = query.where(c.office_id == office)
    prints: dict[UnitKey, tuple[int, int]] = {}
    lowest: dict[UnitKey, int] = {}
    for office_id, day, count, highest, low in conn.execute(query):
        prints[(office_id, day)] = (count, highest)
        lowest[(office_id, day)] = low
    return prints, lowest


def _settled(unit: Unit) -> bool:
    """Every ticket in a final state: nothing can change any more (no transition leaves one)."""
    return all(cells.statuses() <= _FINAL for cells in unit)


def _day_cells(
    engine: Engine,
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None,
) -> list[DayCells]:
    """The tickets of the stored office-days `first`..`last`, collected. Days that are over come
    from memory or from `kpi_days`; the others are read from the tickets table (and kept once
    over)."""
    cache = _cache_of(engine)
    with cache.lock:
        prints, lowest = _fingerprints(conn, first, last, office)
        units: dict[UnitKey, Unit] = {}
        for key, fingerprint in prints.items():
            kept_key = (*key, timezones.get(key[0], "UTC"))
            entry = cache.entries.get(kept_key)
            if entry is not None and entry[0] == fingerprint:
                units[key] = entry[1]
            elif entry is not None:
                del cache.entries[kept_key]
        if cache.table is None:
            cache.table = inspect(conn).has_table(t.kpi_days.name)
        if cache.table and len(units) < len(prints):
            for key, unit in _stored_units(conn, timezones, first, last, office, prints, units):
                units[key] = unit
                cache.entries[(*key, timezones.get(key[0], "UTC"))] = (prints[key], unit)
        missing = [key for key in prints if key not in units]
        fetched = _read_days(conn, timezones, first, last, office, missing, lowest)
        units.update(fetched)
        store: list[tuple[UnitKey, Unit]] = []
        for key, unit in fetched.items():
            zone = timezones.get(key[0], "UTC")
            today = datetime.now(ZoneInfo(zone)).date().isoformat()
            if key in prints and key[1] < today and _settled(unit):
                cache.entries[(*key, zone)] = (prints[key], unit)
                store.append((key, unit))
        while len(cache.entries) > _KEPT_DAYS:  # the oldest kept first
            del cache.entries[next(iter(cache.entries))]
        if store and cache.table:
            _store_units(engine, timezones, prints, store)
    return [cells for unit in units.values() for cells in unit]


def _read_days(
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None,
    keys: Sequence[UnitKey],
    lowest: Mapping[UnitKey, int],
) -> dict[UnitKey, Unit]:
    """The tickets of the stored office-days `keys`, collected per office-day. Tickets are
    inserted when issued and a transfer's ticket comes after the one it continues, so the read
    starts at the lowest id of those days (recent days: a short read of the table's end)."""
    if not keys:
        return {}
    c = t.tickets.c
    query = _ticket_query(first, last, office).where(
        c.id >= min(lowest[key] for key in keys), tuple_(c.office_id, c.day).in_(sorted(keys))
    )
    sqlite = conn.dialect.name == "sqlite"
    rows = chain.from_iterable(_batches(conn, query, sqlite))
    calendars: dict[str, _LocalCalendar] = {}
    fetched: dict[UnitKey, Unit] = {}
    # a day's tickets come in runs of issue order (a transfer keeps its ticket's day)
    for key, run in groupby(rows, key=itemgetter(0, 12)):
        facts = _row_facts(run, timezones, calendars, sqlite)
        fetched.setdefault(tuple(key), []).extend(collect_days(facts))  # type: ignore[arg-type]
    return fetched


def _stored_units(
    conn: Connection,
    timezones: Mapping[str, str],
    first: date,
    last: date,
    office: str | None,
    prints: Mapping[UnitKey, tuple[int, int]],
    known: Mapping[UnitKey, Unit],
) -> Iterator[tuple[UnitKey, Unit]]:
    """The office-days of `prints` not `known` that `kpi_days` holds, for the same zone and
    layout and with the same fingerprint as now; the rest are read from the tickets again."""
    k = t.kpi_days.c
    query = select(k.office_id, k.day, k.zone, k.format, k.tickets, k.last_id).where(
        k.day >= first.isoformat(), k.day <= last.isoformat()
    )
    if office is not None:
        query = query.where(k.office_id == office)
    usable = sorted(
        (office_id, day)
        for office_id, day, zone, layout, tickets, last_id in conn.execute(query)
        if (office_id, day) not in known
        and prints.get((office_id, day)) == (tickets, last_id)
        and zone == timezones.get(office_id, "UTC")
        and layout == DAYS_FORMAT
    )
    if not usable:
        return
    query = select(k.office_id, k.day, k.cells, k.measures).where(
        tuple_(k.office_id, k.day).in_(usable)
    )
    for row in conn.execute(query):
        try:
            yield (row.office_id, row.day), unpack_days(row.cells, bytes(row.measures))
        except Invalid:
            log.warning("kpi_days %s %s unreadable: read from the tickets", row.office_id, row.day)


def _store_units(
    engine: Engine,
    timezones: Mapping[str, str],
    prints: Mapping[UnitKey, tuple[int, int]],
    units: Sequence[tuple[UnitKey, Unit]],
) -> None:
    """Writes office-days that are over into `kpi_days`, in one short transaction of their own.
    A reader that may not write (a read-only file, a busy database) leaves them to the next."""
    now = datetime.now(UTC)
    rows = []
    for (office_id, day), unit in units:
        cells, measures = pack_days(unit)
        tickets, last_id = prints[(office_id, day)]
        rows.append(
            {
                "office_id": office_id,
                "day": day,
                "zone": timezones.get(office_id, "UTC"),
                "format": DAYS_FORMAT,
                "tickets": tickets,
                "last_id": last_id,
                "cells": cells,
                "measures": measures,
                "stored_at": now,
            }
        )
    k = t.kpi_days.c
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA query_only=OFF")  # this connection only (no pool)
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.execute(
                delete(t.kpi_days).where(
                    tuple_(k.office_id, k.day).in_([(r["office_id"], r["day"]) for r in rows])
                )
            )
            conn.execute(insert(t.kpi_days), rows)
            conn.commit()
    except DBAPIError as exc:  # e.g. another process stored the same days first
        log.info("kpi_days not stored (%s): kept in memory only", exc.__class__.__name__)


def load_feedback(
    engine: Engine, first: date, last: date, office: str | None = None
) -> list[FeedbackCount]:
    check_range(first, last)
    with engine.connect() as conn:
        return feedback_counts(conn, first, last, office)


# --- the report as the API, the dashboard and the CLI give it ----------------------------------
# (here, not in hub/api/reports.py, so that `office360 report` does not import FastAPI)


def timezones(settings: Settings) -> dict[str, str]:
    return {o.id: o.timezone for o in settings.offices}


def build_report(
    engine: Engine,
    settings: Settings,
    first: date,
    last: date,
    office: str | None,
    level: ServiceLevel,
) -> tuple[KpiReport, list[FeedbackCount]]:
    report = load_kpis(engine, timezones(settings), first, last, office, level)
    return report, load_feedback(engine, first, last, office)


def feedback_summary(counts: list[FeedbackCount]) -> list[dict[str, Any]]:
    """Per office ("" service) and per office and service: count, mean and stars 1-5."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for c in counts:
        for key in ((c.office, ""), (c.office, c.service)):
            g = groups.setdefault(
                key,
                {
                    "office": key[0],
                    "service": key[1],
                    "count": 0,
                    "sum": 0,
                    "ratings": {str(r): 0 for r in range(1, 6)},
                    "comments": 0,
                },
            )
            g["count"] += c.count
            g["sum"] += c.rating * c.count
            g["ratings"][str(c.rating)] = g["ratings"].get(str(c.rating), 0) + c.count
            g["comments"] += c.comments
    out = []
    for key in sorted(groups):
        g = groups[key]
        total = g.pop("sum")
        g["mean_rating"] = total / g["count"] if g["count"] else None
        out.append(g)
    return out


def report_body(
    report: KpiReport,
    feedback: list[FeedbackCount],
    office: str | None,
    first: date,
    last: date,
) -> dict[str, Any]:
    body = report.to_dict()
    body.update(
        office=office,
        to=last.isoformat(),
        feedback=feedback_summary(feedback),
        **{"from": first.isoformat()},
    )
    return body
