"""Time the KPI report of one year of a busy office read from a real SQLite database; target <= 2 s.

    .venv/bin/python bench/kpi_hub.py [--tickets 250000] [--runs 3] [--seed 9] [--keep DIR]

Inserts the tickets of bench/kpi_report.py's synthetic year (5 services, 12 desks, 250 days) into
the tickets table of a migrated hub database (not timed), then times, each over the whole year:

- read: `hub.reports_repo.ticket_records` (SQL, parsing, local times into `TicketRecord`s) alone;
- report (`load_kpis`, what the API and the CLI do before formatting), three ways: cold (a new
  engine and no `<database>.kpi-days` file: every day read from the tickets table), kept days
  from the file (a new engine, as a CLI run or a restarted hub), kept days in memory (the same
  engine again, as a running hub);
- API: `GET /api/v1/reports/kpis?format=json` and `format=csv` from a real hub (subprocess), its
  first request cold (no file) timed apart;
- CLI: `office360 report --format csv` as a new process (includes Python's start-up), without and
  with the file of kept days.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from kpi_report import DESKS, SERVICES, synthesize  # noqa: E402

from hub import tables  # noqa: E402
from hub.db import make_engine, migrate  # noqa: E402
from hub.reports_repo import load_kpis, read_engine, ticket_records  # noqa: E402
from office360.core.kpi import KpiReport  # noqa: E402
from tests.hubtools import free_port, make_token, wait_healthy  # noqa: E402

ZONE = ZoneInfo("Europe/Madrid")
FIRST, LAST = date(2024, 1, 1), date(2024, 12, 31)


def config_text(data: Path, port: int) -> str:
    services = "".join(
        f'[[offices.services]]\nid = "{s}"\nprefix = "{chr(65 + n)}"\nnames = {{ es = "{s}" }}\n'
        for n, s in enumerate(SERVICES)
    )
    desks = "".join(
        f'[[offices.desks]]\nid = "{d}"\nservices = [{", ".join(repr(s) for s in ss)}]\n'.replace(
            "'", '"'
        )
        for d, ss in DESKS.items()
    )
    return (
        f'[hub]\nhost = "127.0.0.1"\nport = {port}\ndata_dir = "{data}"\n\n'
        '[[offices]]\nid = "centro"\nname = "Centro"\ntimezone = "Europe/Madrid"\n'
        f"default = true\n{services}{desks}"
    )


def utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=ZONE).astimezone(UTC)


def fill(url: str, total: int, seed: int) -> int:
    records = synthesize(total, seed)
    sequence: dict[tuple[str, str], int] = {}
    rows = []
    for r in records:
        day = r.issued_at.date().isoformat()
        prefix = chr(65 + SERVICES.index(r.service))
        seq = sequence[(prefix, day)] = sequence.get((prefix, day), 0) + 1
        issued = utc(r.issued_at)
        rows.append(
            {
                "office_id": r.office,
                "service_id": r.service,
                "day": day,
                "number": f"{prefix}{seq:03d}",
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
                "transferred_from": None,
                "appointment_id": None,
            }
        )
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(tables.tickets.insert(), rows[start : start + 20_000])
    engine.dispose()
    return len(rows)


def timed(runs: int, work: Callable[[], object]) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        work()
        out.append(time.perf_counter() - t0)
    return out


def line(name: str, timings: list[float]) -> str:
    return (
        f"{name:<34} median {statistics.median(timings):.3f} s  best {min(timings):.3f} s  "
        f"({', '.join(f'{t:.2f}' for t in timings)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=250_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="kpi-hub-"))
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "office360.toml"
    config.write_text(config_text(folder / "data", port), encoding="utf-8")
    url = f"sqlite:///{folder / 'data' / 'office360.db'}"
    fresh = not (folder / "data" / "office360.db").exists()
    migrate(url)
    (folder / "data" / "office360.db.kpi-days").unlink(missing_ok=True)
    t0 = time.perf_counter()
    if fresh:
        count = fill(url, args.tickets, args.seed)
        print(f"inserted {count:,} tickets in {time.perf_counter() - t0:.1f} s (not timed)")
    size = (folder / "data" / "office360.db").stat().st_size
    print(f"database: {size / 2**20:.0f} MiB at {folder}")

    kept = folder / "data" / "office360.db.kpi-days"
    engine = read_engine(url)
    zones = {"centro": "Europe/Madrid"}

    def read() -> object:
        with engine.connect() as conn:
            return ticket_records(conn, zones, FIRST, LAST)

    results = [line("read (SQL + TicketRecords)", timed(args.runs, read))]
    engine.dispose()

    def report_with_new_engine(keep_file: bool) -> KpiReport:
        if not keep_file:
            kept.unlink(missing_ok=True)
        fresh_engine = read_engine(url)
        try:
            return load_kpis(fresh_engine, zones, FIRST, LAST)
        finally:
            fresh_engine.dispose()

    results.append(
        line("report cold (no kept days)", timed(args.runs, lambda: report_with_new_engine(False)))
    )
    results.append(
        line("report, kept days from file", timed(args.runs, lambda: report_with_new_engine(True)))
    )
    engine = read_engine(url)
    report = load_kpis(engine, zones, FIRST, LAST)
    office = report.group("office", "centro")
    assert office is not None and office.issued == args.tickets, office
    results.append(
        line(
            "report, kept days in memory",
            timed(args.runs, lambda: load_kpis(engine, zones, FIRST, LAST)),
        )
    )
    engine.dispose()
    kept.unlink(missing_ok=True)

    token = make_token(config, "manager")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(folder / "hub.log", "ab")  # noqa: SIM115 - closed below
    hub = subprocess.Popen(
        [sys.executable, "-m", "office360", "hub", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=ROOT,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc=hub)
        for fmt in ("json", "csv"):

            def fetch(fmt: str = fmt) -> object:
                r = requests.get(
                    f"http://127.0.0.1:{port}/api/v1/reports/kpis",
                    params={"from": FIRST.isoformat(), "to": LAST.isoformat(), "format": fmt},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=60,
                )
                assert r.status_code == 200, r.text[:300]
                return r.content

            if fmt == "json":
                results.append(line("API GET /reports/kpis (json) first", timed(1, fetch)))
            results.append(line(f"API GET /reports/kpis ({fmt})", timed(args.runs, fetch)))
    finally:
        hub.terminate()
        hub.wait(10)
        log.close()

    def cli(keep_file: bool) -> object:
        if not keep_file:
            kept.unlink(missing_ok=True)
        return subprocess.run(
            [
                *(sys.executable, "-m", "office360", "report", "--config", str(config)),
                *("--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--format", "csv"),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )

    results.append(line("CLI report (csv), no kept days", timed(args.runs, lambda: cli(False))))
    results.append(line("CLI report (csv), kept days file", timed(args.runs, lambda: cli(True))))
    print(f"tickets: {office.issued:,}, groups: {len(report.groups)}")
    for text in results:
        print(text)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
