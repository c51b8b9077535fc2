"""systemd notifications (sd_notify) with the standard library only.

The units use ``Type=notify`` and ``WatchdogSec=``: an app calls :func:`ready` once it serves,
then proves it is alive with ``WATCHDOG=1`` more often than the watchdog interval. Outside systemd
(no ``$NOTIFY_SOCKET``) every call is a no-op, so the apps run the same on a laptop.

A frozen UI must get restarted, so pings must not come from a thread that keeps running while
the main loop hangs. :class:`LoopWatchdog` pings from a timer thread only while the main loop
has called :meth:`LoopWatchdog.beat` recently; :func:`asyncio_keepalive` pings from the event
loop itself. systemd arms the watchdog once READY=1 arrives; start-up is bounded by
TimeoutStartSec= instead.

Kivy app (kiosk, display), after the first frame::

    dog = LoopWatchdog()
    Clock.schedule_interval(lambda _dt: dog.beat(), 1)
    dog.start()
    ready()

Hub (FastAPI lifespan)::

    task = asyncio.create_task(asyncio_keepalive())
    ready()
    ...
    stopping(); task.cancel()
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WORKER_BEAT_S = 3.0
"""A hub worker process beats to its supervisor about every second (a third of this)."""
_parent_pipe: int | None = None


def report_to_parent(fd: int) -> None:
    """In a worker process: send every notification to the supervisor through this pipe instead
    of systemd (which accepts them from the main process only); see hub/workers.py."""
    global _parent_pipe
    os.set_blocking(fd, False)
    _parent_pipe = fd


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one sd_notify message; True when it was sent, False without a notify socket."""
    if _parent_pipe is not None and env is None:
        try:
            os.write(_parent_pipe, message.encode("utf-8") + b"\n")
        except OSError:  # the supervisor is gone or not reading: it will notice us
            return False
        return True
    address = (os.environ if env is None else env).get(NOTIFY_SOCKET, "")
    if not address:
        return False
    if address.startswith("@"):  # abstract socket namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(message.encode("utf-8"), address)
        except OSError:
            return False  # systemd went away (shutdown): nothing useful to do
    return True


def ready(status: str = "") -> bool:
    """Tell systemd start-up has finished (Type=notify)."""
    return notify("READY=1" + (f"\nSTATUS={status}" if status else ""))


def ping() -> bool:
    """Reset the watchdog timer."""
    return notify("WATCHDOG=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def status(text: str) -> bool:
    """A one-line status shown by `systemctl status`."""
    return notify(f"STATUS={text}")


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds of WatchdogSec= for this process, or None when no watchdog is armed for it."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    if _parent_pipe is not None:  # a worker: beat well within the supervisor's half interval
        systemd_s = int(usec) / 1_000_000 if usec.isdigit() and int(usec) else 2 * WORKER_BEAT_S
        return min(WORKER_BEAT_S, systemd_s / 2)
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None  # the variable was meant for another process (we are a child)
    return int(usec) / 1_000_000


class LoopWatchdog:
    """Pings systemd from a timer thread while the main loop keeps calling :meth:`beat`.

    ``timeout`` is WatchdogSec=; the timer ticks at a third of it and pings only if the last
    beat is younger than half of it, so a hung loop stops the pings well before systemd acts.
    """

    def __init__(
        self,
        timeout: float | None = None,
        send: Callable[[], bool] = ping,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = watchdog_interval() if timeout is None else timeout
        self._send = send
        self._clock = clock
        self._last_beat = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.timeout)

    def beat(self) -> None:
        """Called from the app's main loop (e.g. a Kivy Clock interval): 'I am still running'."""
        self._last_beat = self._clock()

    def tick(self) -> bool:
        """One timer check: ping when the loop beat recently. Returns whether it pinged."""
        if not self.timeout:
            return False
        if self._clock() - self._last_beat > self.timeout / 2:
            return False
        return self._send()

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        assert self.timeout
        while not self._stop.wait(self.timeout / 3):
            self.tick()


async def asyncio_keepalive(timeout: float | None = None) -> None:
    """Ping from the event loop itself (e.g. the hub's lifespan task); a blocked loop stops it."""
    timeout = watchdog_interval() if timeout is None else timeout
    if not timeout:
        return
    while True:
        ping()
        await asyncio.sleep(timeout / 3)
