"""One background thread for the kiosk's blocking work (hub requests, printing), in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Worker:
    """One background thread that runs jobs in order and hands each result to `deliver`
    (the app passes a function that schedules it on the UI thread)."""

    def __init__(self, deliver: Callable[[Any], None], name: str = "kiosk-worker") -> None:
        self.deliver = deliver
        self._jobs: queue.SimpleQueue[Callable[[], Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Callable[[], Any]) -> None:
        self._jobs.put(job)

    def stop(self, timeout_s: float = 3.0) -> None:
        self._stopped.set()
        self._jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopped.is_set():
            job = self._jobs.get()
            if job is None:
                return
            try:
                result = job()
            except Exception:
                log.exception("kiosk job failed")
                continue
            if result is not None:
                self.deliver(result)
