"""Office-days kept for KPI reports in the `kpi_days` table: a report from them (a restarted hub,
a CLI run) or from memory (a running hub) equals the report read from every ticket, and a day
whose tickets change is read again. On PostgreSQL too with OFFICE360_TEST_BACKEND=postgres."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import delete, func, select, update

from hub import reports_repo, tables
from hub.db import make_engine, migrate
from hub.reports_repo import iter_ticket_records, load_kpis, read_engine, warm
from hub.tables import kpi_days
from office360.core.kpi import KpiReport, TicketRecord, compute_kpis
from tests.hubtools import ROOT, FakeClock, ThreadHub, free_port, new_postgres_database
from tests.hubtools import write_config as hub_config

ZONE = ZoneInfo("Europe/Madrid")
ZONES = {"centro": "Europe/Madrid"}
TODAY = datetime.now(ZONE).date()
FIRST, LAST = TODAY - timedelta(days=12), TODAY - timedelta(days=2)  # days that are over
SERVICES = ("general", "certificates", "taxes")
CHANNELS = ("walk_in", "walk_in", "appointment", "phone", "web")


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=ZONE).astimezone(UTC)


def stored(r: TicketRecord, number: int, day: str, came_from: int | None = None) -> dict[str, Any]:
    return {
        "office_id": r.office,
        "service_id": r.service,
        "day": day,
        "number": f"{'T' if came_from else 'A'}{number:03d}",
        "status": r.status,
        "priority": None,
        "lang": "es",
        "channel": r.channel,
        "issued_at": utc(r.issued_at),
        "fair_at": utc(r.slot_at or r.issued_at),
        "slot_at": utc(r.slot_at),
        "called_at": utc(r.called_at),
        "started_at": utc(r.started_at),
        "finished_at": utc(r.finished_at),
        "desk_id": r.desk,
        "recalls": r.recalls,
        "transferred_from": came_from,
        "appointment_id": None,
    }


def a_day(rng: random.Random, day: date, count: int) -> list[TicketRecord]:
    """`count` tickets of office-local `day`, in issue order, every one in a final state."""
    out = []
    moment = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
    for _ in range(count):
        moment += timedelta(seconds=rng.randint(20, 400), microseconds=rng.randint(0, 999_999))
        channel = rng.choice(CHANNELS)
        slot = moment.replace(minute=moment.minute // 10 * 10, second=0, microsecond=0)
        slot = slot if channel == "appointment" else None
        roll = rng.random()
        if roll < 0.05:
            out.append(TicketRecord("centro", rng.choice(SERVICES), None, channel, moment,
                                    status="cancelled", slot_at=slot, checked_in_at=slot and moment))  # fmt: skip
            continue
        called = moment + timedelta(seconds=rng.expovariate(1 / 400))
        desk = rng.choice("123")
        if roll < 0.12:
            out.append(TicketRecord("centro", rng.choice(SERVICES), desk, channel, moment, called,
                                    finished_at=called, status="no_show", slot_at=slot,
                                    checked_in_at=slot and moment, recalls=1))  # fmt: skip
            continue
        started = called + timedelta(seconds=rng.uniform(5, 90))
        finished = started + timedelta(seconds=rng.lognormvariate(5.5, 0.5))
        status = "transferred" if roll < 0.2 else "done"
        out.append(TicketRecord("centro", rng.choice(SERVICES), desk, channel, moment, called,
                                started, finished, status, slot, slot and moment,
                                recalls=int(roll > 0.9)))  # fmt: skip
    return out


def fill(url: str, days: int = 11, per_day: int = 40, seed: int = 9) -> int:
    """Tickets of `days` past days; every transferred ticket gets its continuation (same day)."""
    rng = random.Random(seed)
    writer = make_engine(url, pool_size=1)
    total = 0
    with writer.begin() as conn:
        for n in range(days):
            day = FIRST + timedelta(days=n)
            records = a_day(rng, day, per_day)
            rows = [stored(r, i, day.isoformat()) for i, r in enumerate(records, 1)]
            ids = [conn.execute(tables.tickets.insert().values(**row)).inserted_primary_key[0]
                   for row in rows]  # fmt: skip
            for i, (r, ticket_id) in enumerate(zip(records, ids, strict=True), 1):
                if r.status == "transferred":
                    assert r.finished_at is not None
                    onward = TicketRecord("centro", "taxes", "3", r.channel,
                                          r.finished_at + timedelta(seconds=5),
                                          r.finished_at + timedelta(seconds=65),
                                          r.finished_at + timedelta(seconds=90),
                                          r.finished_at + timedelta(seconds=400), "done",
                                          transferred=True)  # fmt: skip
                    conn.execute(tables.tickets.insert().values(
                        **stored(onward, i, day.isoformat(), came_from=ticket_id)))  # fmt: skip
            total += len(records)
    writer.dispose()
    return total


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A migrated, empty hub database: SQLite, or PostgreSQL with OFFICE360_TEST_BACKEND."""
    if os.environ.get("OFFICE360_TEST_BACKEND") == "postgres":
        found = new_postgres_database()
    else:
        found = f"sqlite:///{tmp_path / 'office360.db'}"
    migrate(found)
    yield found


def reference(url: str, zones: dict[str, str] = ZONES) -> KpiReport:
    """The report through `TicketRecord`s, every ticket read, nothing kept."""
    engine = read_engine(url)
    try:
        with engine.connect() as conn:
            return compute_kpis(iter_ticket_records(conn, zones, FIRST, LAST))
    finally:
        engine.dispose()


def fresh_report(url: str, zones: dict[str, str] = ZONES) -> KpiReport:
    """A new engine: nothing in memory, as in a CLI run or a restarted hub."""
    engine = read_engine(url)
    try:
        return load_kpis(engine, zones, FIRST, LAST)
    finally:
        engine.dispose()


def kept_days(url: str) -> dict[str, tuple[int, int]]:
    engine = read_engine(url)
    with engine.connect() as conn:
        found = {r.day: (r.tickets, r.last_id) for r in conn.execute(select(kpi_days))}
    engine.dispose()
    return found


class ReadDays:
    """Records which office-days a report reads from the tickets table (wraps the real read)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[list[tuple[str, str]]] = []
        real = reports_repo._read_days

        def spy(*args: Any) -> Any:  # (conn, zones, first, last, office, keys, lowest)
            self.asked.append(sorted(args[5]))
            return real(*args)

        monkeypatch.setattr(reports_repo, "_read_days", spy)


def test_cold_kept_and_warm_reports_are_the_same(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = fill(url)
    expected = reference(url)
    assert expected.group("office", "centro").issued > issued  # type: ignore[union-attr]
    reads = ReadDays(monkeypatch)

    engine = read_engine(url)
    cold = load_kpis(engine, ZONES, FIRST, LAST)
    assert cold == expected
    assert len(reads.asked[-1]) == 11  # every day read from the tickets...
    assert len(kept_days(url)) == 11  # ...and kept, each with its fingerprint
    warm_again = load_kpis(engine, ZONES, FIRST, LAST)
    assert warm_again == expected
    assert reads.asked[-1] == []  # from memory
    engine.dispose()

    assert fresh_report(url) == expected
    assert reads.asked[-1] == []  # from kpi_days
    month = load_kpis(read_engine(url), ZONES, FIRST + timedelta(days=3), LAST - timedelta(days=2))
    with read_engine(url).connect() as conn:
        part = compute_kpis(
            iter_ticket_records(conn, ZONES, FIRST + timedelta(days=3), LAST - timedelta(days=2))
        )
    assert month == part

    # a new process (`office360 report`, CSV) gives the CSV of the reference, byte for byte
    config = hub_config(tmp_path, free_port(), database_url=url)
    done = subprocess.run(
        [sys.executable, "-m", "office360", "report", "--config", str(config), "--format", "csv",
         "--from", FIRST.isoformat(), "--to", LAST.isoformat()],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = io.StringIO()
    expected.write_csv(text)
    assert done.stdout == text.getvalue()


def test_a_day_is_kept_only_once_over_and_a_late_finish_counts(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(url, days=3)
    last_day = (FIRST + timedelta(days=2)).isoformat()
    writer = make_engine(url, pool_size=1)
    c = tables.tickets.c
    with writer.begin() as conn:  # one ticket of the last day still at the desk, days later
        late = conn.execute(
            select(func.max(c.id)).where(c.day == last_day, c.status == "done")
        ).scalar_one()
        finished = conn.execute(select(c.finished_at).where(c.id == late)).scalar_one()
        conn.execute(update(tables.tickets).where(c.id == late).values(
            status="serving", finished_at=None))  # fmt: skip
    engine = read_engine(url)
    assert load_kpis(engine, ZONES, FIRST, LAST) == reference(url)
    assert last_day not in kept_days(url)  # a ticket can still change: not kept
    assert len(kept_days(url)) == 2

    with writer.begin() as conn:  # the late finish
        conn.execute(update(tables.tickets).where(c.id == late).values(
            status="done", finished_at=finished + timedelta(days=2)))  # fmt: skip
    after = reference(url)
    assert load_kpis(engine, ZONES, FIRST, LAST) == after
    assert last_day in kept_days(url)  # now over: kept
    assert fresh_report(url) == after
    service = after.group("office", "centro").service  # type: ignore[union-attr]
    assert service.mean is not None and service.mean > 1000  # two days at the desk, counted
    engine.dispose()
    writer.dispose()


def test_purged_tickets_leave_the_report(url: str) -> None:
    fill(url, days=4)
    engine = read_engine(url)
    before = load_kpis(engine, ZONES, FIRST, LAST)
    assert len(kept_days(url)) == 4
    writer = make_engine(url, pool_size=1)
    c = tables.tickets.c
    gone_day = FIRST.isoformat()
    some_day = (FIRST + timedelta(days=1)).isoformat()
    with writer.begin() as conn:
        conn.execute(delete(tables.tickets).where(c.day == gone_day))
        first_of = select(func.min(c.id)).where(c.day == some_day).scalar_subquery()
        conn.execute(delete(tables.tickets).where(c.id == first_of))
    writer.dispose()
    after = reference(url)
    assert after != before
    assert after.first_day == FIRST + timedelta(days=1)
    for report in (load_kpis(engine, ZONES, FIRST, LAST), fresh_report(url)):
        assert report == after
    office = after.group("office", "centro")
    assert office is not None
    assert office.issued < before.group("office", "centro").issued  # type: ignore[union-attr]
    engine.dispose()


def test_an_unreadable_or_foreign_kept_day_is_read_again(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(url, days=2)
    expected = fresh_report(url)
    writer = make_engine(url, pool_size=1)
    with writer.begin() as conn:
        conn.execute(update(kpi_days).where(kpi_days.c.day == FIRST.isoformat()).values(
            cells='{"combos": [], "days": [{"office": "centro"}]}'))  # fmt: skip
        conn.execute(update(kpi_days).where(kpi_days.c.day != FIRST.isoformat()).values(
            measures=b"\x00" * 12))  # fmt: skip
    writer.dispose()
    reads = ReadDays(monkeypatch)
    assert fresh_report(url) == expected == reference(url)
    assert len(reads.asked[-1]) == 2  # neither day could be used...
    assert fresh_report(url) == expected
    assert reads.asked[-1] == []  # ...and both were written again, readable
    # the office moved to another zone: its local days are other days, nothing kept is used
    utc_zones = {"centro": "UTC"}
    assert fresh_report(url, utc_zones) == reference(url, utc_zones)


def test_warm_keeps_the_days_newest_first_and_stops_when_asked(url: str) -> None:
    fill(url, days=5)
    engine = read_engine(url)
    stop = reports_repo.Event()
    stop.set()
    assert warm(engine, ZONES, stop=stop) == 0
    assert warm(engine, ZONES, chunk=2) == 5
    assert len(kept_days(url)) == 5
    assert load_kpis(engine, ZONES, FIRST, LAST) == reference(url)
    engine.dispose()


def test_a_started_hub_keeps_the_days_before_the_first_report(tmp_path: Path) -> None:
    port = free_port()
    config = hub_config(tmp_path, port)
    from tests.hubtools import database_url_for

    url = database_url_for(config)
    migrate(url)
    fill(url, days=3)
    hub = ThreadHub(config, port, FakeClock())
    hub.start()
    try:
        deadline = time.monotonic() + 15
        while len(kept_days(url)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(kept_days(url)) == 3
        got = requests.get(
            f"{hub.url}/api/v1/reports/kpis",
            params={"from": FIRST.isoformat(), "to": LAST.isoformat(), "format": "csv"},
            headers=hub.headers("manager"),
            timeout=20,
        )
        assert got.status_code == 200, got.text
        text = io.StringIO()
        reference(url).write_csv(text)
        assert got.text == text.getvalue()
    finally:
        hub.stop()
