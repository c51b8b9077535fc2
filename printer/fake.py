"""A fake network printer: a real TCP server on 127.0.0.1 that records what it is sent.

    with FakePrinter() as fake:
        printer = open_printer(fake.url)
        printer.print_ticket(ticket)
        fake.wait_for_jobs(1)
        decode(fake.jobs[0])

It answers DLE EOT n like an Epson printer in the state given by `set_state()`: ok, paper_low,
paper_out, cover_open, offline, error; it can also drop the connection after some bytes of a job,
answer slowly, or not answer status queries at all (as some cheap printers do).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

from .status import PrinterStatus, replies_for

_UNSET = object()


@dataclass
class Connection:
    """One TCP connection: the print bytes (status queries removed) and the queries asked."""

    data: bytearray = field(default_factory=bytearray)
    queries: list[int] = field(default_factory=list)
    dropped: bool = False
    closed: bool = False


class FakePrinter:
    def __init__(self, state: str = "ok", *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.state = PrinterStatus(state)
        self.drop_after: int | None = None
        self.delay_s = 0.0
        self.silent = False
        self.connections: list[Connection] = []
        self._requested_port = port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.port = 0

    # --- control ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def set_state(
        self,
        state: str | PrinterStatus | None = None,
        *,
        drop_after: int | object | None = _UNSET,
        delay_s: float | None = None,
        silent: bool | None = None,
    ) -> None:
        """Change how the printer behaves from the next byte on.

        state: what DLE EOT reports; drop_after: close the connection after this many print bytes
        (None: never); delay_s: wait this long before each status reply; silent: never reply.
        """
        with self._lock:
            if state is not None:
                self.state = PrinterStatus(state)
                replies_for(self.state)
            if drop_after is not _UNSET:
                self.drop_after = drop_after  # type: ignore[assignment]
            if delay_s is not None:
                self.delay_s = delay_s
            if silent is not None:
                self.silent = silent

    @property
    def jobs(self) -> list[bytes]:
        """The print data of every connection that sent some, oldest first."""
        with self._lock:
            return [bytes(c.data) for c in self.connections if c.data]

    @property
    def received(self) -> bytes:
        return b"".join(self.jobs)

    @property
    def status_queries(self) -> list[int]:
        with self._lock:
            return [q for c in self.connections for q in c.queries]

    def wait_for_jobs(self, count: int, timeout: float = 2.0) -> list[bytes]:
        """Wait until `count` connections that sent print data have closed; return all jobs."""
        end = time.monotonic() + timeout
        with self._changed:
            while self._closed_jobs() < count:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._closed_jobs()} job(s) arrived, expected {count}")
                self._changed.wait(left)
        return self.jobs

    def _closed_jobs(self) -> int:
        return sum(1 for c in self.connections if c.data and c.closed)

    # --- lifecycle -------------------------------------------------------
    def start(self) -> FakePrinter:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((self.host, self._requested_port))
        server.listen(8)
        server.settimeout(0.1)
        self._server = server
        self.port = server.getsockname()[1]
        thread = threading.Thread(target=self._accept_loop, name="fake-printer", daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=2)
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- serving ---------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        conn = Connection()
        with self._lock:
            self.connections.append(conn)
        client.settimeout(0.1)
        pending = b""
        try:
            while not self._stopping.is_set():
                try:
                    chunk = client.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                pending = self._take(conn, client, pending + chunk)
                if conn.dropped:
                    break
        finally:
            # SO_LINGER 0: a dropped connection resets, as a printer losing power would
            if conn.dropped:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
            with self._changed:
                conn.closed = True
                self._changed.notify_all()

    def _take(self, conn: Connection, client: socket.socket, data: bytes) -> bytes:
        """Record print bytes, answer DLE EOT n; return an incomplete trailing query."""
        i = 0
        while i < len(data):
            if data[i] == 0x10 and i + 1 < len(data) and data[i + 1] == 0x04:
                if i + 2 >= len(data):
                    return data[i:]
                self._answer(conn, client, data[i + 2])
                i += 3
                continue
            if data[i] == 0x10 and i + 1 == len(data):
                return data[i:]
            with self._lock:
                conn.data.append(data[i])
                drop = self.drop_after is not None and len(conn.data) >= self.drop_after
            if drop:
                conn.dropped = True
                return b""
            i += 1
        return b""

    def _answer(self, conn: Connection, client: socket.socket, n: int) -> None:
        with self._lock:
            conn.queries.append(n)
            silent, delay, state = self.silent, self.delay_s, self.state
        if silent or n not in (1, 2, 3, 4):
            return
        if delay:
            self._stopping.wait(delay)
        with contextlib.suppress(OSError):
            client.sendall(bytes((replies_for(state)[n],)))
