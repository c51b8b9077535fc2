"""Several hub processes on one listening socket (`[hub] workers = N`), and with
`[hub] writer_process` one more that writes for them (hub/writer_process.py).

The supervisor (the process systemd started) migrates the database once, binds the socket, then
forks N workers that each run the whole application on that socket; the kernel spreads the
connections. Workers report to the supervisor through a pipe instead of systemd (READY=1 once they
serve, WATCHDOG=1 from their event loop); the supervisor tells systemd it is ready when every
worker is, and pings the watchdog only while every worker's loop keeps beating, so a hung worker
gets the service restarted as a hung single process would. A worker that exits is replaced; one
that beats no more for HUNG_AFTER_S is killed and replaced. Workers die with the supervisor
(PR_SET_PDEATHSIG), so a `kill -9` of the service leaves nothing serving behind it.

Events written by one worker reach subscribers on the others through the database: see
hub/replication.py (SqliteEventTailer, or EventTailer on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from office360 import watchdog
from office360.config import Settings

log = logging.getLogger("office360.hub.workers")
HUNG_AFTER_S = 30.0
STOP_GRACE_S = 10.0
MAX_START_FAILURES = 3
PR_SET_PDEATHSIG = 1


@dataclass
class Worker:
    index: int
    pid: int
    pipe: int
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    last_beat: float = field(default_factory=time.monotonic)
    buffer: bytes = b""


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    def __init__(self, settings: Settings, log_level: str, count: int) -> None:
        self.settings = settings
        self.log_level = log_level
        self.http_workers = count
        # [hub] writer_process: one more child, index `count`, writes for the others
        self.writer_socket: str | None = None
        self.count = count + 1 if settings.hub.writer_process else count
        self.workers: dict[int, Worker] = {}
        self.failures = 0
        self.stopping = False
        self.announced_ready = False
        self.sock: socket.socket | None = None

    # --- the supervisor ------------------------------------------------------------------------

    def run(self) -> int:
        from .db import migrate

        migrate(self.settings.hub.sqlalchemy_url())  # once, before any worker starts
        self.sock = bind_socket(self.settings.hub.host, self.settings.hub.port)
        folder = None
        if self.count > self.http_workers:
            from .writer_process import SOCKET_NAME, socket_folder

            folder = socket_folder()
            self.writer_socket = os.path.join(folder, SOCKET_NAME)
        try:
            return self._supervise()
        finally:
            if folder is not None:
                from .writer_process import remove_socket_folder

                remove_socket_folder(folder)

    def _supervise(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        for index in range(self.count):
            self._spawn(index)
        interval = watchdog.watchdog_interval()
        next_ping = 0.0
        code = 0
        while not self.stopping:
            self._read_pipes(0.5)
            code = self._reap()
            if code:
                break
            now = time.monotonic()
            for w in list(self.workers.values()):
                if w.ready and now - w.last_beat > HUNG_AFTER_S:
                    log.error("hub worker %d (pid %d) stopped beating; killing it", w.index, w.pid)
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(w.pid, signal.SIGKILL)
            all_ready = len(self.workers) == self.count and all(
                w.ready for w in self.workers.values()
            )
            if all_ready and not self.announced_ready:
                self.announced_ready = True
                extra = " and a writer" if self.count > self.http_workers else ""
                watchdog.ready(f"serving with {self.http_workers} workers{extra}")
            if interval and now >= next_ping:
                if all_ready and all(
                    now - w.last_beat < interval / 2 for w in self.workers.values()
                ):
                    watchdog.ping()
                next_ping = now + interval / 3
        watchdog.stopping()
        self._stop_all()
        return code

    def _on_signal(self, _sig: int, _frame: Any) -> None:
        self.stopping = True

    def _spawn(self, index: int) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            os.close(read_end)
            code = 1
            try:
                code = self._worker_main(index, write_end)
            finally:
                os._exit(code)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self.workers[pid] = Worker(index, pid, read_end)

    def _read_pipes(self, timeout: float) -> None:
        pipes = {w.pipe: w for w in self.workers.values()}
        try:
            readable, _, _ = select.select(list(pipes), [], [], timeout)
        except InterruptedError:
            return
        for fd in readable:
            w = pipes[fd]
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not data:
                continue
            w.buffer += data
            *lines, w.buffer = w.buffer.split(b"\n")
            for line in lines:
                w.last_beat = time.monotonic()
                if line.startswith(b"READY=1") and not w.ready:
                    w.ready = True
                    self.failures = 0

    def _reap(self) -> int:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                return 0
            w = self.workers.pop(pid, None)
            if w is None:
                continue
            os.close(w.pipe)
            if self.stopping:
                continue
            log.error("hub worker %d (pid %d) exited (%s); starting another", w.index, pid, status)
            if not w.ready:
                self.failures += 1
                if self.failures >= MAX_START_FAILURES:
                    log.error("hub workers fail to start; stopping")
                    return 1
            self._spawn(w.index)

    def _stop_all(self) -> None:
        deadline = time.monotonic() + STOP_GRACE_S
        # The HTTP workers first: the requests they finish may still need the writer.
        for writers in (False, True):
            group = [w for w in self.workers.values() if (w.index >= self.http_workers) == writers]
            for w in group:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(w.pid, signal.SIGTERM)
            while any(w.pid in self.workers for w in group) and time.monotonic() < deadline:
                self._read_pipes(0.05)
                self._reap()
        for w in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.pid, signal.SIGKILL)
        while self.workers:
            pid, _ = os.waitpid(-1, 0)
            if pid in self.workers:
                os.close(self.workers.pop(pid).pipe)

    # --- a worker ------------------------------------------------------------------------------

    def _worker_main(self, index: int, pipe: int) -> int:

        from .app import create_app

        _die_with_parent()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        watchdog.report_to_parent(pipe)
        assert self.sock is not None
        writes_for_others = index >= self.http_workers
        app = create_app(
            self.settings,
            run_migrations=False,
            worker=index,
            workers=self.count,
            writer_socket=None if writes_for_others else self.writer_socket,
        )
        if writes_for_others:
            from .writer_process import WriterServer

            self.sock.close()  # the writer speaks no HTTP
            assert self.writer_socket is not None
            with asyncio.Runner(loop_factory=_fast_loop()) as runner:
                runner.run(WriterServer(app, self.writer_socket).serve())
            return 0
        server = HubServer(uvicorn_config(app, self.log_level))
        server.run(sockets=[self.sock])
        return 0 if server.started else 3


class HubServer(uvicorn.Server):
    """Ends the live event streams first when the hub stops: they never end by themselves, so the
    graceful shutdown would wait its whole timeout for them, then cancel them with a traceback."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        hub = getattr(getattr(self.config.app, "state", None), "hub", None)
        if hub is not None:
            hub.broker.close_all()
        await super().shutdown(sockets)


def uvicorn_config(app: Any, log_level: str, **extra: Any) -> Any:
    """uvloop and httptools when installed (uvicorn[standard]; cheaper per request than the
    pure-Python fallbacks), no access log."""
    return uvicorn.Config(
        app,
        loop="auto",
        http="auto",
        log_level=log_level if log_level != "info" else "warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        **extra,
    )


def _fast_loop() -> Any:
    """uvloop's event loop when installed, as uvicorn's "auto" picks for the HTTP workers."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the supervisor dies, even by SIGKILL."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the supervisor died before the call above
        os._exit(1)
