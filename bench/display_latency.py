"""From a desk's `next` to the number drawn on the display; the display's memory over many calls.

    .venv/bin/python bench/display_latency.py [--calls 10000] [--samples 300] [--size 1920x1080]

Runs a real hub (`office360 hub`) and the real display app offscreen (`python -m display.probe`)
on loopback. Latency: time.monotonic() before the desk's POST .../next, to the first frame the
display finished drawing (glFinish) after its board took the number. Memory: the display's RSS
every 1,000 calls. Announcement texts are recorded, not rendered or played (--voice renders
them with espeak-ng and plays them through SDL's dummy driver, as a real display does).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from office360.client import HubClient  # noqa: E402

CONFIG = """
[hub]
host = "127.0.0.1"
port = {port}
data_dir = "{data}"

[[offices]]
id = "centro"
name = "Oficina 360 Centro"
default = true
  [[offices.services]]
  id = "general"
  prefix = "A"
  names = {{ es = "Información general", en = "General information" }}
  [[offices.services]]
  id = "certificates"
  prefix = "B"
  names = {{ es = "Certificados", en = "Certificates" }}
  [[offices.desks]]
  id = "1"
  name = "Mostrador 1"
  services = ["general", "certificates"]

[device]
hub_url = "http://127.0.0.1:{port}"
token_file = "{token_file}"
office = "centro"

[display]
cache_dir = "{cache}"
blink_s = 0
"""


class Probe:
    def __init__(self, config: Path, size: str, voice: bool, home: Path) -> None:
        env = {
            **os.environ,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "SDL_AUDIODRIVER": "dummy",
            "KIVY_HOME": str(home),
        }
        command = [sys.executable, "-m", "display.probe", "--config", str(config), "--size", size]
        if not voice:
            command.append("--silent")
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, env=env
        )
        self.cond = threading.Condition()
        self.shown: dict[str, float] = {}
        self.board: dict[str, float] = {}
        self.received: dict[int, float] = {}
        self.widget: dict[str, float] = {}
        self.other: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            message = json.loads(raw)
            with self.cond:
                kind = message.get("event")
                if kind == "shown" and message.get("number"):
                    self.shown[message["number"]] = message["t"]
                elif kind == "widget":
                    self.widget.setdefault(message["number"], message["t"])
                elif kind == "received":
                    self.received[int(message["id"])] = message["t"]
                elif kind == "board":
                    if message.get("current"):
                        self.board.setdefault(message["current"], message["t"])
                    self.other.append({"event": "connection", "state": message["connection"]})
                else:
                    self.other.append(message)
                self.cond.notify_all()

    def wait(self, check: Any, timeout_s: float = 30) -> Any:
        deadline = time.monotonic() + timeout_s
        with self.cond:
            while True:
                found = check()
                if found:
                    return found
                if time.monotonic() > deadline:
                    raise TimeoutError("the display did not answer")
                self.cond.wait(0.5)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def stats(self) -> dict[str, Any]:
        with self.cond:
            self.other.clear()
        self.send(cmd="stats")
        return self.wait(lambda: next((m for m in self.other if m.get("event") == "stats"), None))

    def close(self) -> None:
        try:
            self.send(cmd="quit")
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def token(config: Path, role: str, desk: str | None = None) -> str:
    command = [sys.executable, "-m", "office360", "token", "create", "--config", str(config)]
    command += ["--role", role, "--name", f"bench {role}"] + (["--desk", desk] if desk else [])
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return done.stdout.strip().splitlines()[-1]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--voice", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="office360-bench-display-"))
    port = free_port()
    config = folder / "office360.toml"
    token_file = folder / "display.token"
    config.write_text(
        CONFIG.format(port=port, data=folder / "data", token_file=token_file, cache=folder / "c"),
        encoding="utf-8",
    )
    token_file.write_text(token(config, "display"))
    kiosk_token, desk_token = token(config, "kiosk"), token(config, "staff", "1")
    hub_log = open(folder / "hub.log", "wb")  # noqa: SIM115
    hub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "office360",
            "hub",
            "--config",
            str(config),
            "--log-level",
            "warning",
        ],
        stdout=hub_log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=0.5).ok:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or hub.poll() is not None:
            raise SystemExit(f"the hub did not start; see {folder / 'hub.log'}")
        time.sleep(0.1)
    probe = Probe(config, args.size, args.voice, folder / "kivy")
    kiosk = HubClient(url, kiosk_token, office="centro")
    desk = HubClient(url, desk_token, office="centro")
    try:
        probe.wait(lambda: any(m.get("state") == "connected" for m in probe.other), 60)
        print(f"load average before: {os.getloadavg()}")
        stages: dict[str, list[float]] = {
            "desk's POST answered": [],
            "event read by the display's stream thread": [],
            "board state applied on the UI thread": [],
            "number's label rendered its text (widget shows it)": [],
            "frame with the number drawn (glFinish, llvmpipe)": [],
        }
        rss: list[tuple[int, int]] = [(0, probe.stats()["rss_kib"])]
        calls = 0
        started = time.monotonic()
        rng = random.Random(6)
        while calls < args.calls:
            kiosk.issue_ticket("general" if calls % 2 else "certificates")
            measure = calls < args.samples
            if measure:
                # kiosk and desk act independently: the call lands at a random moment after the
                # display redrew (or is still redrawing) for the issued ticket's queue.changed
                time.sleep(rng.uniform(0.0, 0.5))
            seen = max(probe.received, default=0)
            t0 = time.monotonic()
            called = desk.desk_action("1", "next")
            answered = time.monotonic()
            assert called is not None
            number = called["number"]
            if measure:
                shown = probe.wait(lambda n=number: probe.shown.get(n))
                received = min((t for i, t in probe.received.items() if i > seen), default=shown)
                points = (answered, received, probe.board[number], probe.widget[number], shown)
                for values, point in zip(stages.values(), points, strict=True):
                    values.append((point - t0) * 1000)
            desk.desk_action("1", "start")
            calls += 1
            if calls % 1000 == 0:
                stats = probe.stats()
                rss.append((calls, stats["rss_kib"]))
                print(
                    f"{calls:>6} calls  display RSS {stats['rss_kib'] / 1024:.1f} MiB  "
                    f"widgets {stats['widgets']}  {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        print(f"load average after: {os.getloadavg()}; frames drawn: {probe.stats()['frames']}")
        print(f"from a desk's POST .../next, {args.samples} calls, window {args.size}:")
        for label, values in stages.items():
            print(
                f"  {label:<52} p50 {statistics.median(values):6.1f} ms  "
                f"p99 {percentile(values, 99):6.1f} ms  max {max(values):6.1f} ms"
            )
        if len(rss) > 2:
            base = rss[1][1]
            print(
                f"display RSS: start {rss[0][1] / 1024:.1f} MiB, "
                f"after 1,000 calls {base / 1024:.1f} MiB, "
                f"after {rss[-1][0]:,} calls {rss[-1][1] / 1024:.1f} MiB "
                f"(growth after warm-up {(rss[-1][1] - base) / 1024:+.1f} MiB)"
            )
    finally:
        probe.close()
        hub.terminate()
        hub.wait(10)
        hub_log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
