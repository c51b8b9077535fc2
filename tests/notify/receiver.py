"""A real HTTP server on loopback standing in for a webhook receiver or an SMS gateway."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hub.webhooks import verify


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every request; `secret` makes it check webhook signatures (bad ones get 401).
    `stop()` closes the socket (senders get connection refused); `start()` listens again on the
    same port. `status` is the answer to give."""

    port: int
    secret: str | None = None
    status: int = 200
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    rejected: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                time.sleep(receiver.delay_s)
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(
                    self.command, self.path, dict(self.headers.items()), self.rfile.read(length)
                )
                ok = receiver.secret is None or verify(
                    receiver.secret,
                    got.headers.get("X-Office360-Timestamp", ""),
                    got.body,
                    got.headers.get("X-Office360-Signature", ""),
                )
                with receiver._lock:
                    (receiver.received if ok else receiver.rejected).append(got)
                self.send_response(receiver.status if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _handle

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def deliveries(self) -> dict[str, list[Received]]:
        """Requests grouped by X-Office360-Delivery id (a receiver dedupes on it)."""
        out: dict[str, list[Received]] = {}
        with self._lock:
            for r in self.received:
                out.setdefault(r.headers.get("X-Office360-Delivery", ""), []).append(r)
        return out

    def events(self) -> list[dict[str, Any]]:
        """Each delivered event once, in arrival order."""
        seen: set[str] = set()
        out = []
        with self._lock:
            items = list(self.received)
        for r in items:
            key = r.headers.get("X-Office360-Delivery", "")
            if key not in seen:
                seen.add(key)
                out.append(r.json())
        return out


def wait_for(
    check: Callable[[], bool],
    timeout: float = 15.0,
    what: str = "condition",
    tick: Callable[[], None] | None = None,
) -> None:
    """Poll `check`; `tick` runs between polls (e.g. moving a fake clock past retry times)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if tick is not None:
            tick()
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
