"""Drive the real kiosk app (`python -m kiosk.probe`, offscreen Kivy) from a test or benchmark:
one subprocess per scenario (a Kivy App runs once per process), JSON lines both ways."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"
Message = dict[str, Any]


def kiosk_config(
    hub_config: Path,
    hub_url: str,
    token: str,
    printer_url: str,
    folder: Path,
    extra: str = "",
    *,
    offline: bool = False,
) -> Path:
    """The hub's test config plus a kiosk's [device], [printer] and [kiosk] sections. Offline
    mode is off unless asked for (tests/kiosk/test_offline.py): with the hub down the kiosk would
    issue from its blocks instead of showing the "temporarily unavailable" screen tested here."""
    path = folder / "kiosk.toml"
    path.write_text(
        hub_config.read_text(encoding="utf-8")
        + f"""
[device]
hub_url = "{hub_url}"
token = "{token}"
office = "centro"
timeout_s = 2

[printer]
url = "{printer_url}"
timeout_s = 2

[kiosk]
device_name = "kiosk-test"
cache_dir = "{folder / "kiosk-cache"}"
fullscreen = false
retry_max_s = 1
health_interval_s = 5
offline = {"true" if offline else "false"}
{extra}
""",
        encoding="utf-8",
    )
    return path


class KioskDriver:
    def __init__(
        self, config: Path, size: str = "1280x800", *, fake_camera: bool = True, name: str = ""
    ) -> None:
        env = {
            **os.environ,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "SDL_AUDIODRIVER": "dummy",
            "KIVY_HOME": str(config.parent / "kivy-home"),
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", "kiosk.probe", "--config", str(config), "--size", size]
        if fake_camera:
            command.append("--fake-camera")
        self.stderr_path = config.parent / f"kiosk-{name or size}.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
            env=env,
        )
        self.messages: list[Message] = []
        self._cursor: dict[str, int] = {}
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            with self._cond:
                self.messages.append(message)
                self._cond.notify_all()

    def wait_for(
        self,
        event: str,
        check: Callable[[Message], bool] = lambda _m: True,
        timeout_s: float = 20.0,
    ) -> Message:
        """The next `event` message passing `check`. Each kind of event is read in order: a
        message returned (or passed over) is not looked at again by a later wait."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                start = self._cursor.get(event, 0)
                for index in range(start, len(self.messages)):
                    message = self.messages[index]
                    if message.get("event") == event and check(message):
                        self._cursor[event] = index + 1
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = self.stderr_path.read_text(errors="replace")[-3000:]
                    raise AssertionError(
                        f"kiosk never sent {event}; last: {self.messages[-4:]}\n{tail}"
                    )
                self._cond.wait(min(left, 0.2))

    def view(self, screen: str, timeout_s: float = 20.0, **fields: Any) -> Message:
        return self.wait_for(
            "view",
            lambda m: m.get("screen") == screen and all(m.get(k) == v for k, v in fields.items()),
            timeout_s,
        )

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def tap(self, target: str) -> Message:
        time.sleep(0.1)  # as a person would: after the new screen has been laid out and drawn
        self.send(cmd="tap", target=target)
        reply = self.wait_for("tapped", lambda m: m.get("target") == target)
        assert reply["hit"], reply
        return reply

    def controls(self) -> Message:
        self.send(cmd="controls")
        return self.wait_for("controls")

    def stats(self) -> Message:
        self.send(cmd="stats")
        return self.wait_for("stats", timeout_s=30)

    def screenshot(self, name: str) -> Path:
        path = SCREENSHOTS / f"kiosk-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        time.sleep(0.15)  # let the frame after the last change be drawn
        self.send(cmd="screenshot", path=str(path))
        self.wait_for("screenshot", lambda m: m.get("path") == str(path))
        return path

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send(cmd="quit")
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()

    def __enter__(self) -> KioskDriver:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
