"""The kiosk end to end: scan → ticket at the printer, start-up, memory over many check-ins.

    .venv/bin/python bench/kiosk_e2e.py [--samples 200] [--checkins 1000] [--starts 5]
                                        [--size 1280x800]

Runs a real hub (`office360 hub` subprocess, appointments open all day so codes can be checked
in whatever the hour), the real kiosk app offscreen (`python -m kiosk.probe`, 1280x800 unless
--size) with a FakeCamera at 30 fps, and the fake network printer (a TCP server here, answering
status queries).

- latency: time.monotonic() when a frame holding a valid appointment code is handed to the
  camera, to the moment the printer received the last byte of that ticket (both clocks are
  CLOCK_MONOTONIC, shared by every process on Linux). Includes the wait for the camera's next
  frame (≤ 33 ms), decoding, the beep, POST /checkin, the status queries and the print job.
- start-up: process launch to the first frame drawn (glFinish), --starts times.
- memory: the kiosk's resident set after every 250 check-ins (counted from the first, the latency
  samples included), its growth from 500 to 1,000 check-ins (a leak shows as growth), the same
  without the software GL driver's mappings (libLLVM, the DRI driver), which a GPU driver replaces,
  and the kiosk process's CPU time per check-in (user + system, not changed by other load).

The kiosk runs as deployed: `kiosk.probe` calls the same `prepare_environment` and
`configure_kivy` as `office360 kiosk`, and `KioskApp` sets up its memory the same way; only the
window is offscreen (the systemd unit's KMS/DRM variables do not apply here).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from printer.fake import Connection, FakePrinter  # noqa: E402
from tests.hubtools import LiveHub, free_port, write_config  # noqa: E402
from tests.kiosk.drivers.kiosk_driver import KioskDriver, kiosk_config  # noqa: E402

ALL_DAY = """
[appointments]
hours = { mon = "00:00-23:45", tue = "00:00-23:45", wed = "00:00-23:45", thu = "00:00-23:45", fri = "00:00-23:45", sat = "00:00-23:45", sun = "00:00-23:45" }
slot_minutes = 15
capacity = 1000
early_window_minutes = 720
grace_minutes = 720
"""


class TimedPrinter(FakePrinter):
    """The fake printer, noting when each connection last received print bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.last_byte_at: dict[int, float] = {}

    def _take(self, conn: Connection, client: Any, data: bytes) -> bytes:
        before = len(conn.data)
        rest = super()._take(conn, client, data)
        if len(conn.data) > before:
            self.last_byte_at[id(conn)] = time.monotonic()
        return rest

    def job_times(self) -> list[float]:
        with self._lock:
            conns = [c for c in self.connections if c.data and c.closed]
        return [self.last_byte_at[id(c)] for c in conns]


def book_codes(hub: LiveHub, count: int) -> list[str]:
    """`count` appointments in the next slots; their QR texts."""
    session = requests.Session()
    codes: list[str] = []
    day = datetime.now().date()
    while len(codes) < count:
        slots = session.get(
            f"{hub.url}/api/v1/appointments/slots",
            params={"service": "general", "day": day.isoformat()},
            timeout=10,
        ).json()["slots"]
        now = datetime.now().astimezone()
        starts = [s["start"] for s in slots if datetime.fromisoformat(s["start"]) > now]
        if not starts:
            day += timedelta(days=1)
            continue
        for start in starts[:4]:
            while len(codes) < count:
                r = session.post(
                    f"{hub.url}/api/v1/appointments",
                    json={"service": "general", "slot_at": start, "name": f"B {len(codes)}"},
                    timeout=10,
                )
                if r.status_code != 201:
                    break
                codes.append(r.json()["code"])
        if len(codes) < count:
            raise SystemExit(f"could book only {len(codes)} appointments: {r.text[:200]}")
    return codes


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_by_mapping(pid: int) -> Counter[str]:
    """Resident KiB of a process per mapped file (by name) or [heap] / [anon] / [stack]."""
    groups: Counter[str] = Counter()
    name = ""
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            fields = line.split()
            if fields and not fields[0].endswith(":"):
                path = fields[5] if len(fields) > 5 else "[anon]"
                name = Path(path).name if path.startswith("/") else path
            elif fields and fields[0] == "Rss:":
                groups[name] += int(fields[1])
    return groups


def load_average() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def check_ins(
    kiosk: KioskDriver,
    printer: TimedPrinter,
    codes: list[str],
    *,
    every: int = 0,
    done_before: int = 0,
) -> tuple[list[float], list[tuple[int, int]]]:
    """Check `codes` in one by one; the latencies, and (check-ins so far, RSS KiB) whenever the
    count so far, `done_before` included, is a multiple of `every`."""
    latencies: list[float] = []
    memory: list[tuple[int, int]] = []
    base = len(printer.job_times())
    for index, code in enumerate(codes, start=1):
        kiosk.send(cmd="code", text=code)
        at = kiosk.wait_for("code_at")["t"]
        kiosk.view("ticket", printed=True, timeout_s=30)
        printer.wait_for_jobs(base + index, timeout=10)
        latencies.append(printer.job_times()[base + index - 1] - at)
        if every and (done_before + index) % every == 0:
            memory.append((done_before + index, kiosk.stats()["rss_kib"]))
    return latencies, memory


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--checkins", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--size", default="1280x800", help="the kiosk's window, WxH")
    parser.add_argument(
        "--kiosk-env",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="set in the kiosk's environment only, to measure a setting (repeatable)",
    )
    parser.add_argument(
        "--breakdown", type=int, default=0, metavar="N", help="the N largest mappings at the end"
    )
    args = parser.parse_args()
    print(f"load average (1/5/15 min) at the start: {load_average()}")
    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-"))
    port = free_port()
    hub = LiveHub(write_config(folder, port, ALL_DAY), port)
    hub.start()
    printer = TimedPrinter().start()
    for setting in args.kiosk_env:  # after the hub started: the kiosk's processes only
        name, _, value = setting.partition("=")
        os.environ[name] = value
    try:
        config = kiosk_config(hub.config, hub.url, hub.token("kiosk"), printer.url, folder)
        startups, devices = [], []
        for _ in range(args.starts):
            with KioskDriver(config, args.size, name="startup") as kiosk:
                first = kiosk.wait_for("first_frame")
                startups.append(first["t"] - kiosk.started)
                devices.append(kiosk.wait_for("backend")["t"] - kiosk.started)
        if startups:
            print(
                f"start to first frame: median {statistics.median(startups):.2f} s, "
                f"max {max(startups):.2f} s over {len(startups)} starts; camera, printer and hub "
                f"client ready: median {statistics.median(devices):.2f} s"
            )
        total = args.samples + args.checkins
        started = time.monotonic()
        codes = book_codes(hub, total)
        print(f"booked {len(codes)} appointments in {time.monotonic() - started:.1f} s")
        with KioskDriver(config, args.size, name="bench") as kiosk:
            kiosk.view("start")
            kiosk.wait_for("first_frame")
            kiosk.wait_for("backend")
            baseline = kiosk.stats()["rss_kib"]
            latencies, _ = check_ins(kiosk, printer, codes[: args.samples])
            ms = [1000 * v for v in latencies]
            print(
                f"code in frame -> last ticket byte at the printer, {len(ms)} check-ins: "
                f"p50 {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
                f"max {max(ms):.0f} ms"
            )
            before = kiosk.stats()["rss_kib"]
            cpu_before = cpu_seconds(kiosk.proc.pid)
            _, memory = check_ins(
                kiosk, printer, codes[args.samples :], every=250, done_before=args.samples
            )
            cpu = (cpu_seconds(kiosk.proc.pid) - cpu_before) / max(1, args.checkins)
            stats = kiosk.stats()
            print(
                f"RSS: at start {baseline / 1024:.0f} MB, after {args.samples} check-ins "
                f"{before / 1024:.0f} MB"
            )
            for count, rss in memory:
                print(f"RSS after {count} check-ins: {rss / 1024:.0f} MB")
            by_count = dict(memory)
            if 500 in by_count and 1000 in by_count:
                growth = (by_count[1000] - by_count[500]) / 1024
                print(f"RSS growth from 500 to 1000 check-ins: {growth:+.1f} MB")
            if args.checkins:
                print(
                    f"kiosk CPU time per check-in (user + system, the last {args.checkins}): "
                    f"{1000 * cpu:.0f} ms"
                )
            print(
                f"after all {total} check-ins: RSS {stats['rss_kib'] / 1024:.0f} MB = private "
                f"{stats['rss_anon_kib'] / 1024:.0f} MB + file-backed "
                f"{stats['rss_file_kib'] / 1024:.0f} MB, of which Mesa's software GL renderer "
                f"(libLLVM, DRI driver) {stats['software_gl_kib'] / 1024:.0f} MB; "
                f"threads {stats['threads']}, widgets {stats['widgets']}"
            )
            print(
                "RSS without the GL driver's mappings (what a kiosk with a GPU driver would not "
                f"map): {(stats['rss_kib'] - stats['software_gl_kib']) / 1024:.0f} MB"
            )
            if args.breakdown:
                print("largest resident mappings (MB):")
                for name, kib in rss_by_mapping(kiosk.proc.pid).most_common(args.breakdown):
                    print(f"  {kib / 1024:6.1f}  {name}")
    finally:
        printer.stop()
        hub.stop()
        print(f"load average (1/5/15 min) at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
