"""Time the KPI report of one year of a busy office read from a real SQLite database; target <= 2 s.

    .venv/bin/python bench/kpi_hub.py [--tickets 250000] [--runs 3] [--seed 9] [--keep DIR]

Inserts the tickets of bench/kpi_report.py's synthetic year (5 services, 12 desks, 250 days) into
the tickets table of a migrated hub database (not timed), then times, each over the whole year,
wall and CPU time (CPU of this process, of the CLI child, or of the hub process):

- read: `hub.reports_repo.ticket_records` (SQL, parsing, local times into `TicketRecord`s) alone,
  the old path, as a yardstick for the machine's load;
- report (`load_kpis`, what the API and the CLI do before formatting), three ways: cold (a new
  engine and an empty `kpi_days` table: every day read from the tickets table, then stored),
  kept days from `kpi_days` (a new engine, as a CLI run or a restarted hub), kept days in memory
  (the same engine again, as a running hub);
- API: `GET /api/v1/reports/kpis?format=json|csv` from a real hub (subprocess): its first request
  right after it starts with the days kept, later requests, and the first request of a hub
  started on an empty `kpi_days` (the first start after the upgrade: its warm-up runs then);
- CLI: `office360 report --format csv` as a new process (includes Python's start-up), with the
  days kept and with `kpi_days` empty.
"""

from __future__ import annotations

import argparse
import os
import resource
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
from sqlalchemy import delete

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from kpi_report import DESKS, SERVICES, synthesize  # noqa: E402

from hub import tables  # noqa: E402
from hub.db import make_engine, migrate  # noqa: E402
from hub.reports_repo import load_kpis, read_engine, ticket_records  # noqa: E402
from hub.tables import kpi_days  # noqa: E402
from office360.core.kpi import compute_kpis  # noqa: E402
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


Timing = tuple[float, float]  # (wall s, cpu s)


def timed(runs: int, work: Callable[[], float | None]) -> list[Timing]:
    """`work` returns the CPU seconds it measured elsewhere (a child, the hub), or None for ours."""
    out = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        cpu = work()
        wall = time.perf_counter() - t0
        out.append((wall, time.process_time() - c0 if cpu is None else cpu))
    return out


def line(name: str, timings: list[Timing]) -> str:
    walls, cpus = [w for w, _ in timings], [c for _, c in timings]
    return (
        f"{name:<44} wall median {statistics.median(walls):.3f} s best {min(walls):.3f} s | "
        f"cpu median {statistics.median(cpus):.3f} s  ({', '.join(f'{w:.2f}' for w in walls)})"
    )


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def forget_kept_days(url: str) -> None:
    engine = make_engine(url, pool_size=1)
    with engine.begin() as conn:
        conn.execute(delete(kpi_days))
    engine.dispose()


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
    t0 = time.perf_counter()
    if fresh:
        count = fill(url, args.tickets, args.seed)
        print(f"inserted {count:,} tickets in {time.perf_counter() - t0:.1f} s (not timed)")
    size = (folder / "data" / "office360.db").stat().st_size
    print(f"database: {size / 2**20:.0f} MiB at {folder}")

    engine = read_engine(url)
    zones = {"centro": "Europe/Madrid"}

    def read() -> None:
        with engine.connect() as conn:
            ticket_records(conn, zones, FIRST, LAST)

    results = [line("read, old path (SQL + TicketRecords)", timed(args.runs, read))]
    engine.dispose()

    def report_with_new_engine(keep: bool) -> None:
        if not keep:
            forget_kept_days(url)
        fresh_engine = read_engine(url)
        try:
            load_kpis(fresh_engine, zones, FIRST, LAST)
        finally:
            fresh_engine.dispose()

    results.append(
        line(
            "report cold (kpi_days empty), stores them",
            timed(args.runs, lambda: report_with_new_engine(False)),
        )
    )
    results.append(
        line(
            "report, kept days from kpi_days (new engine)",
            timed(args.runs, lambda: report_with_new_engine(True)),
        )
    )
    engine = read_engine(url)
    report = load_kpis(engine, zones, FIRST, LAST)
    office = report.group("office", "centro")
    assert office is not None and office.issued == args.tickets, office
    with engine.connect() as conn:
        assert report == compute_kpis(ticket_records(conn, zones, FIRST, LAST))  # same figures
    results.append(
        line(
            "report, kept days in memory (same engine)",
            timed(args.runs, lambda: load_kpis(engine, zones, FIRST, LAST) and None),
        )
    )
    engine.dispose()

    token = make_token(config, "manager")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def api_runs(label: str, first_label: str, first_only: bool = False) -> None:
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

                def fetch(fmt: str = fmt) -> float:
                    c0 = process_cpu(hub.pid)
                    r = requests.get(
                        f"http://127.0.0.1:{port}/api/v1/reports/kpis",
                        params={"from": FIRST.isoformat(), "to": LAST.isoformat(), "format": fmt},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=60,
                    )
                    assert r.status_code == 200, r.text[:300]
                    return process_cpu(hub.pid) - c0

                if fmt == "json":
                    results.append(line(first_label, timed(1, fetch)))
                    if first_only:
                        return
                results.append(line(f"{label} ({fmt})", timed(args.runs, fetch)))
        finally:
            hub.terminate()
            hub.wait(10)
            log.close()

    api_runs("API, later requests", "API json, first request, days kept")
    forget_kept_days(url)
    api_runs("", "API json, first request, kpi_days empty", first_only=True)

    def cli(keep: bool) -> float:
        if not keep:
            forget_kept_days(url)
        c0 = children_cpu()
        subprocess.run(
            [
                *(sys.executable, "-m", "office360", "report", "--config", str(config)),
                *("--from", FIRST.isoformat(), "--to", LAST.isoformat(), "--format", "csv"),
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        return children_cpu() - c0

    results.append(line("CLI report (csv), kpi_days empty", timed(args.runs, lambda: cli(False))))
    results.append(line("CLI report (csv), days kept", timed(args.runs, lambda: cli(True))))
    print(f"tickets: {office.issued:,}, groups: {len(report.groups)}")
    for text in results:
        print(text)
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
