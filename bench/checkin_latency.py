"""Check-in latency at a real hub (target: p99 ≤ 20 ms), as a kiosk sees it.

Run: .venv/bin/python bench/checkin_latency.py [--n 500]

Starts `office360 hub` in a subprocess on a free port with a fresh SQLite database (real clock;
the office's time zone is chosen so that it is about noon there, far from midnight), books
N appointments through the public API, then checks each one in with its QR code over one
keep-alive connection with a kiosk token: verify the Ed25519 code, load the appointment,
decide on time/early, issue the ticket in the same transaction, answer. A desk serves one
person after each check-in (not timed) so about --queue people wait, as in an office. Then the
same codes again (a replayed scan returns the ticket already issued). Prints p50/p95/p99/max
in ms, and the hub process's CPU time per request (which the load of other processes does not
change).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def config_text(port: int, data: Path, zone: str) -> str:
    desks = "\n".join(
        f'  [[offices.desks]]\n  id = "{i}"\n  services = ["general"]\n' for i in range(1, 5)
    )
    return f"""
[hub]
host = "127.0.0.1"
port = {port}
data_dir = "{data}"

[[offices]]
id = "bench"
name = "Bench office"
timezone = "{zone}"

  [[offices.services]]
  id = "general"
  prefix = "A"
  names = {{ es = "General", en = "General" }}

{desks}

[appointments]
hours = {{ mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }}
slot_minutes = 5
early_window_minutes = 120
grace_minutes = 60

[[appointments.services]]
service = "general"
capacity = 1000
"""


def noon_zone() -> str:
    """An Etc/GMT zone where it is now between 11:00 and 13:00 (Etc/GMT-3 is UTC+3)."""
    offset = 12 - datetime.now(UTC).hour  # -11..12, inside the zones' range -12..14
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def hub_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), unaffected by other load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples: list[float]) -> str:
    s = sorted(samples)

    def p(q: float) -> float:
        return s[min(len(s) - 1, int(len(s) * q))]

    return (
        f"p50 {statistics.median(s):6.2f}  p95 {p(0.95):6.2f}  p99 {p(0.99):6.2f}  "
        f"max {s[-1]:6.2f} ms  (n={len(s)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="appointments to check in")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--queue", type=int, default=20, help="people kept waiting")
    args = parser.parse_args()

    from tests.hubtools import free_port, make_token, wait_healthy

    folder = Path(tempfile.mkdtemp(prefix="o360-checkin-"))
    port = free_port()
    config = folder / "office360.toml"
    zone = noon_zone()
    config.write_text(config_text(port, folder / "data", zone), encoding="utf-8")
    kiosk = make_token(config, "kiosk", office="bench")
    log = open(folder / "hub.log", "wb")  # noqa: SIM115 - closed at the end
    proc = subprocess.Popen(
        [sys.executable, "-m", "office360", "hub", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc=proc)
        http = requests.Session()
        total = args.n + args.warmup
        now = datetime.now(UTC)
        day = now.astimezone(ZoneInfo(zone)).date().isoformat()
        slots = http.get(
            f"{url}/api/v1/appointments/slots", params={"service": "general", "day": day}
        ).json()["slots"]
        # slots 20+ minutes ahead, each with room for many people: all check in "early"
        usable = [
            s
            for s in slots
            if datetime.fromisoformat(s["start"]) > now + timedelta(minutes=20) and s["free"]
        ][:4]
        codes: list[str] = []
        book_ms: list[float] = []
        for i in range(total):
            body = {
                "service": "general",
                "slot_at": usable[i % len(usable)]["start"],
                "name": f"P{i}",
            }
            t0 = time.perf_counter()
            r = http.post(f"{url}/api/v1/appointments", json=body)
            book_ms.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.text
            codes.append(r.json()["code"])
        headers = {"Authorization": f"Bearer {kiosk}"}

        def check_in(code: str, expect: int) -> float:
            t0 = time.perf_counter()
            r = http.post(f"{url}/api/v1/checkin", json={"code": code}, headers=headers)
            elapsed = (time.perf_counter() - t0) * 1000
            assert r.status_code == expect, r.text
            return elapsed

        admin = {"Authorization": f"Bearer {make_token(config, 'admin')}"}

        def serve_one() -> None:
            """Desk 1 finishes its ticket and calls the next (not timed): the queue stays at
            about `--queue` people, as in an office, instead of growing to N."""
            http.post(f"{url}/api/v1/desks/1/start", headers=admin)
            http.post(f"{url}/api/v1/desks/1/next", headers=admin)

        first: list[float] = []
        cpu_first = 0.0  # summed around each check-in only (the clock ticks at 10 ms)
        for i, code in enumerate(codes):
            cpu0 = hub_cpu_s(proc.pid)
            first.append(check_in(code, 201))
            cpu_first += hub_cpu_s(proc.pid) - cpu0
            if i >= args.queue:
                serve_one()
        cpu0 = hub_cpu_s(proc.pid)
        again = [check_in(c, 200) for c in codes]
        cpu_again = hub_cpu_s(proc.pid) - cpu0
        print(f"hub: {url} (SQLite, office time zone {zone}); code length {len(codes[0])} chars")
        print(f"book (public API)       {percentiles(book_ms[args.warmup :])}")
        print(f"check-in, new ticket    {percentiles(first[args.warmup :])}")
        print(f"check-in, replayed      {percentiles(again[args.warmup :])}")
        print(
            f"hub CPU per request: new check-in {cpu_first / total * 1000:.2f} ms, "
            f"replayed check-in {cpu_again / total * 1000:.2f} ms"
        )
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


if __name__ == "__main__":
    main()
