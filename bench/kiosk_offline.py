"""Kiosk offline mode in real time: the hub down N minutes while kiosks keep issuing, then back.

    .venv/bin/python bench/kiosk_offline.py [--minutes 10] [--kiosks 2] [--every-s 5]

Runs a real hub (`office360 hub` subprocess, SQLite) and N kiosks in this process, each with its
own SQLite spool, its sync thread (kiosk/offline/sync.py, as the app runs it) and the kiosk's
Effects (the code that issues a walk-in; no printer, no Kivy). The kiosks reserve their blocks,
the hub gets SIGTERM, each kiosk issues one walk-in every --every-s seconds (services in turn)
for --minutes, the hub starts again, and the sync threads send their spools by themselves.

Prints: tickets issued offline, the time and CPU time of one offline issue (the spool commit
with synchronous=FULL), how long after the hub was back every spool was drained, and the check
that matters: every ticket in the hub exactly once, no number twice, each service called in
issue-time order.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.effects import Effects  # noqa: E402
from kiosk.flow import IssueTicket  # noqa: E402
from kiosk.offline.mode import OfflineMode, ServiceInfo  # noqa: E402
from kiosk.offline.spool import Spool  # noqa: E402
from kiosk.offline.sync import OfflineSync  # noqa: E402
from office360.client import HubClient  # noqa: E402
from office360.config import load_settings  # noqa: E402
from tests.hubtools import LiveHub, free_port, make_token, write_config  # noqa: E402

SERVICES = ("general", "certificates", "taxes")
DESK_FOR = {"general": "1", "certificates": "1", "taxes": "2"}


class BenchKiosk:
    def __init__(self, hub: LiveHub, folder: Path, index: int, block: int) -> None:
        office = load_settings(hub.config).offices[0]
        token = make_token(hub.config, "kiosk")
        self.spool = Spool(folder / f"kiosk-{index}.sqlite3", token)
        self.mode = OfflineMode(
            self.spool,
            {s.id: ServiceInfo(s.prefix, dict(s.names)) for s in office.services},
            office.timezone,
            now=lambda: datetime.now(UTC),
        )
        self.sync = OfflineSync(
            HubClient(hub.url, token, office=office.id, timeout_s=2, retries=0),
            self.mode,
            block_size=block,
            refresh_s=300,
            retry_max_s=30,
        )
        self.effects = Effects(
            HubClient(hub.url, token, office=office.id, timeout_s=2, retries=2, backoff_s=0.2),
            None,
            office_id=office.id,
            office_name=office.name,
            timezone=office.timezone,
            offline=self.mode,
        )
        self.issued: list[tuple[str, str, str]] = []  # (issued_at, service, number)
        self.wall_ms: list[float] = []
        self.cpu_ms: list[float] = []
        self.last_offline = False

    def walk_in(self, service: str) -> None:
        command = IssueTicket(uuid.uuid4().hex, service, None, "es")
        wall, cpu = time.perf_counter(), time.thread_time()
        result = self.effects.issue(command)
        cpu_ms, wall_ms = (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000
        if result.method != "ticket_received":
            raise SystemExit(f"walk-in refused: {result}")
        ticket = result.args[1]
        self.issued.append((ticket["issued_at"], service, ticket["number"]))
        self.last_offline = bool(ticket.get("offline"))
        if self.last_offline:
            self.wall_ms.append(wall_ms)
            self.cpu_ms.append(cpu_ms)


def call_all(hub: LiveHub, service: str) -> list[str]:
    desk = DESK_FOR[service]
    headers = hub.headers("staff", desk)
    numbers = []
    while True:
        r = requests.post(
            f"{hub.url}/api/v1/desks/{desk}/next",
            params={"service": service},
            headers=headers,
            timeout=10,
        )
        if r.status_code == 204:
            return numbers
        r.raise_for_status()
        numbers.append(r.json()["number"])
        requests.post(f"{hub.url}/api/v1/desks/{desk}/start", headers=headers, timeout=10)


def hub_cpu_s(hub: LiveHub) -> float:
    """User + system CPU seconds of the hub process so far (Linux /proc)."""
    assert hub.proc is not None
    fields = Path(f"/proc/{hub.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def merge_cost(hub: LiveHub, folder: Path, count: int) -> tuple[float, float]:
    """One kiosk sends `count` spooled tickets at once: (wall s, hub CPU s)."""
    kiosk = BenchKiosk(hub, folder, 99, 500)
    assert kiosk.sync.sync_once()
    now, today = datetime.now(UTC), kiosk.mode.today()
    for i in range(count):
        assert kiosk.spool.issue(SERVICES[i % 3], today, now, "es") is not None
    cpu, wall = hub_cpu_s(hub), time.perf_counter()
    assert kiosk.sync.send_pending() == count
    return time.perf_counter() - wall, hub_cpu_s(hub) - cpu


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kiosks", type=int, default=2)
    parser.add_argument("--every-s", type=float, default=5.0)
    parser.add_argument("--block", type=int, default=200)
    parser.add_argument("--merge", type=int, default=600, help="tickets for the merge cost")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="office360-offline-bench-"))
    port = free_port()
    hub = LiveHub(write_config(folder, port), port)
    hub.start()
    kiosks = [BenchKiosk(hub, folder, i, args.block) for i in range(args.kiosks)]
    for kiosk in kiosks:
        assert kiosk.sync.sync_once(), "blocks reserved while online"
        kiosk.sync.start()
    for kiosk in kiosks:
        kiosk.walk_in("general")  # one online ticket each, before the outage

    hub.stop()
    print(f"hub stopped at {datetime.now(UTC):%H:%M:%S}; outage of {args.minutes} min")
    stop_at = time.monotonic() + args.minutes * 60
    turn = 0

    def issue_forever(kiosk: BenchKiosk, offset: float) -> None:
        nonlocal turn
        time.sleep(offset)
        while time.monotonic() < stop_at:
            kiosk.walk_in(SERVICES[turn % 3])
            turn += 1
            time.sleep(args.every_s)

    threads = [
        threading.Thread(target=issue_forever, args=(k, i * args.every_s / len(kiosks)))
        for i, k in enumerate(kiosks)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pending = sum(k.spool.counts()["pending"] for k in kiosks)

    hub.start()
    back, cpu_back = time.monotonic(), hub_cpu_s(hub)
    print(f"hub back at {datetime.now(UTC):%H:%M:%S} with {pending} tickets in the spools")
    while any(k.spool.counts()["pending"] for k in kiosks):
        time.sleep(0.05)
        if time.monotonic() - back > 120:
            raise SystemExit("spools not drained two minutes after the hub came back")
    drained_s, drain_cpu_s = time.monotonic() - back, hub_cpu_s(hub) - cpu_back
    kiosks[0].walk_in("taxes")
    online_again = not kiosks[0].last_offline

    issued = [t for k in kiosks for t in k.issued]
    numbers = [n for _, _, n in issued]
    problems = []
    if len(set(numbers)) != len(numbers):
        problems.append("a number was given twice")
    for service in SERVICES:
        expected = [n for _, s, n in sorted(issued) if s == service]
        called = call_all(hub, service)
        if called != expected:
            problems.append(f"{service}: called {len(called)}, expected {len(expected)} in order")
    for kiosk in kiosks:
        kiosk.sync.stop()
    merge_wall, merge_cpu = merge_cost(hub, folder, args.merge)
    hub.stop()

    wall = [m for k in kiosks for m in k.wall_ms]
    cpu = [m for k in kiosks for m in k.cpu_ms]
    print(
        f"kiosks: {args.kiosks}, outage: {args.minutes} min, one walk-in per kiosk every {args.every_s} s"
    )
    print(f"tickets issued offline: {len(wall)} (spooled when the hub came back: {pending})")
    print(
        f"offline issue, wall: median {statistics.median(wall):.1f} ms, p99 {pct(wall, 0.99):.1f} ms"
        f" (includes the refused connection to the hub every 30 s)"
    )
    print(
        f"offline issue, CPU: median {statistics.median(cpu):.2f} ms, p99 {pct(cpu, 0.99):.2f} ms"
    )
    print(
        f"spools drained {drained_s:.1f} s after the hub was back (the kiosks' retry pause is"
        f" up to 30 s); hub CPU meanwhile {drain_cpu_s:.2f} s"
    )
    print(f"tickets in the hub: {len(issued)}; numbers unique: {len(set(numbers)) == len(numbers)}")
    print(f"online again after the drain: {online_again}")
    print(
        f"merge of {args.merge} spooled tickets in batches of 100: {merge_wall:.2f} s wall,"
        f" hub CPU {merge_cpu * 1000 / args.merge:.2f} ms a ticket"
    )
    print(
        "RESULT: "
        + ("nothing lost, nothing twice, issue-time order" if not problems else "; ".join(problems))
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
