"""Drive `python -m display.probe` (the real app, offscreen) from a test: read its JSON lines."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
Message = dict[str, Any]


def display_config(
    hub_config: Path, hub_url: str, token: str, folder: Path, extra: str = ""
) -> Path:
    """The hub's test config plus the [device] and [display] sections of a display."""
    path = folder / "display.toml"
    path.write_text(
        hub_config.read_text(encoding="utf-8")
        + f"""
[device]
hub_url = "{hub_url}"
token = "{token}"
office = "centro"
timeout_s = 2

[display]
cache_dir = "{folder / "display-cache"}"
reconnect_max_s = 0.5
blink_s = 0
{extra}
""",
        encoding="utf-8",
    )
    return path


class ProbedDisplay:
    def __init__(self, config: Path, size: str = "1280x720", *, silent: bool = False) -> None:
        env = {
            **os.environ,
            "KIVY_NO_ARGS": "1",
            "KIVY_NO_CONSOLELOG": "1",
            "SDL_AUDIODRIVER": "dummy",
            "KIVY_HOME": str(config.parent / "kivy-home"),
            "PYTHONUNBUFFERED": "1",
        }
        command = [sys.executable, "-m", "display.probe", "--config", str(config), "--size", size]
        if silent:
            command.append("--silent")
        self.stderr_path = config.parent / f"display-{size}.stderr"
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=ROOT,
            env=env,
        )
        self.messages: list[Message] = []
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

    def wait_for(self, check: Callable[[Message], bool], timeout_s: float = 20.0) -> Message:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for message in self.messages:
                    if check(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = self.stderr_path.read_text(errors="replace")[-2000:]
                    raise AssertionError(
                        f"display never sent it; last: {self.messages[-3:]}\n{tail}"
                    )
                self._cond.wait(min(left, 0.2))

    def board(self, check: Callable[[Message], bool], timeout_s: float = 20.0) -> Message:
        return self.wait_for(lambda m: m.get("event") == "board" and check(m), timeout_s)

    def send(self, **command: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        self.send(cmd="screenshot", path=str(path))
        self.wait_for(lambda m: m.get("event") == "screenshot" and m.get("path") == str(path))
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


class UnpluggableLink:
    """A TCP proxy on 127.0.0.1 in front of the hub: unplug() is a cable pulled out."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.plugged = True
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def unplug(self) -> None:
        with self._lock:
            self.plugged = False
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def plug(self) -> None:
        self.plugged = True

    def close(self) -> None:
        self.unplug()
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.plugged:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
