"""The hub's fast KPI path on a real SQLite file: rows to `TicketFacts` without `TicketRecord`s,
and the cache of office-days that are over (reused, and read again once a day gains a ticket)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from hub import tables
from hub.db import make_engine, migrate
from hub.reports_repo import _cache_of, iter_ticket_records, load_kpis, read_engine
from office360.core.kpi import (
    TicketRecord,
    collect_days,
    compute_kpis,
    compute_kpis_from_days,
    compute_kpis_from_facts,
)
from office360.core.kpi import ticket_facts as facts_of
from tests.analytics.scenario import DAY1, DAY2, scenario

ZONE = ZoneInfo("Europe/Madrid")
ZONES = {"centro": "Europe/Madrid"}
FIRST, LAST = date.fromisoformat(DAY1), date.fromisoformat(DAY2)


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=ZONE).astimezone(UTC)


def row(r: TicketRecord, number: int, came_from: int | None = None) -> dict[str, Any]:
    """The ticket as the hub stores it; one made by a transfer keeps the day of ticket 5 (T5)."""
    issued = utc(r.issued_at)
    return {
        "office_id": r.office,
        "service_id": r.service,
        "day": DAY1 if came_from else r.issued_at.date().isoformat(),
        "number": f"A{number:03d}",
        "status": r.status,
        "priority": None,
        "lang": "es",
        "channel": r.channel,
        "issued_at": issued,
        "fair_at": utc(r.slot_at) or issued,
        "slot_at": utc(r.slot_at),
        "called_at": utc(r.called_at),
        "started_at": utc(r.started_at),
        "finished_at": utc(r.finished_at),
        "desk_id": r.desk,
        "recalls": r.recalls,
        "transferred_from": came_from,
        "appointment_id": None,
    }


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """(writer, report engine) on a migrated database holding the scenario's eight tickets."""
    url = f"sqlite:///{tmp_path / 'office360.db'}"
    migrate(url)
    writer = make_engine(url)
    with writer.begin() as conn:
        conn.execute(
            tables.tickets.insert(),
            [row(r, n, 5 if r.transferred else None) for n, r in enumerate(scenario(), 1)],
        )
    reader = read_engine(url)
    yield writer, reader
    reader.dispose()
    writer.dispose()


def reference(engine: Engine) -> Any:
    """The report through `TicketRecord`s, as before the fast path."""
    with engine.connect() as conn:
        return compute_kpis(iter_ticket_records(conn, ZONES, FIRST, LAST))


def test_database_report_equals_the_hand_checked_scenario(db: tuple[Engine, Engine]) -> None:
    _, reader = db
    report = load_kpis(reader, ZONES, FIRST, LAST)
    assert report == compute_kpis(scenario())
    assert report == reference(reader)
    assert report.group("office", "centro").issued == 8  # type: ignore[union-attr]


def test_days_that_are_over_are_read_once(db: tuple[Engine, Engine]) -> None:
    writer, reader = db
    first = load_kpis(reader, ZONES, FIRST, LAST)
    # one stored day (T8, the transfer, keeps T5's day) holding tickets of two issue days
    entries = _cache_of(reader).entries
    assert list(entries) == [("centro", DAY1, "Europe/Madrid")]
    kept = entries["centro", DAY1, "Europe/Madrid"]
    assert sorted(cells.ordinal for cells in kept[1]) == [FIRST.toordinal(), LAST.toordinal()]
    assert kept[0] == (7, 7)  # 7 tickets not made by a transfer, highest id 7
    again = load_kpis(reader, ZONES, FIRST, LAST)
    assert again == first
    assert entries["centro", DAY1, "Europe/Madrid"] is kept  # reused, not read and kept again
    # the stored day decides the range, as in the reference: DAY2 alone has no ticket
    assert load_kpis(reader, ZONES, LAST, LAST).groups == ()

    # a day that gains a ticket is read again (and, with a ticket waiting, no longer kept)
    late = TicketRecord("centro", "taxes", None, "walk_in", datetime.fromisoformat(f"{DAY1}T12:00"))
    with writer.begin() as conn:
        conn.execute(tables.tickets.insert(), [row(late, 99)])
    changed = load_kpis(reader, ZONES, FIRST, LAST)
    assert changed.group("office", "centro").issued == 9  # type: ignore[union-attr]
    assert changed == compute_kpis([*scenario(), late]) == reference(reader)
    assert entries == {}


def test_today_is_not_kept(db: tuple[Engine, Engine]) -> None:
    writer, reader = db
    now = datetime.now(ZONE).replace(tzinfo=None, microsecond=0)
    issued = max(now - timedelta(minutes=9), now.replace(hour=0, minute=0, second=0))  # today
    today = TicketRecord("centro", "general", "1", "walk_in", issued, now, now, now, "done")
    with writer.begin() as conn:
        conn.execute(tables.tickets.insert(), [row(today, 1)])
    report = load_kpis(reader, ZONES, now.date(), now.date())
    assert report.group("office", "centro").issued == 1  # type: ignore[union-attr]
    assert _cache_of(reader).entries == {}


def test_office_days_in_parts_are_joined() -> None:
    records = scenario()
    parts = collect_days(facts_of(records[:3])) + collect_days(facts_of(records[3:]))
    assert len(parts) == 3  # DAY1 twice, DAY2 once
    assert compute_kpis_from_days(parts) == compute_kpis(records)
    assert compute_kpis_from_facts(facts_of(records)) == compute_kpis(records)
