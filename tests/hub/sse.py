"""A minimal SSE reader for hub tests (the product's consumer is office360/stream.py)."""

from __future__ import annotations

import contextlib
import http.client
import json
import queue
import socket
import threading
from typing import Any
from urllib.parse import urlsplit


class SSEReader:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.comments: queue.Queue[str] = queue.Queue()
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self._conn.request(
            "GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers
        )
        self.response = self._conn.getresponse()
        self.status = self.response.status
        if self.status != 200:
            raise RuntimeError(f"SSE answered {self.status}: {self.response.read()!r}")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        data: list[str] = []
        try:
            while True:
                raw = self.response.readline()
                if not raw:
                    return
                line = raw.decode().rstrip("\r\n")
                if line == "":
                    if data:
                        self.events.put(json.loads("\n".join(data)))
                    data = []
                elif line.startswith(":"):
                    self.comments.put(line)
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except Exception:  # closing the socket under a blocked read surfaces as many error types
            return

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.events.get(timeout=timeout)

    def next_of(self, kind: str, timeout: float = 5.0) -> dict[str, Any]:
        while True:
            event = self.next(timeout)
            if event["type"] == kind:
                return event

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._conn.close()
        self._thread.join(2)
