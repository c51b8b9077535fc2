"""Clients that issue tickets in a loop, as kiosks do: a 503 or a dropped connection is retried
with the same Idempotency-Key until the hub answers 201, so every request ends in exactly one
ticket, and every answer the hub gave along the way is kept for the test to judge."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Answer:
    key: str
    at: float
    status: int | None  # None: no HTTP answer (connection refused, reset or timed out)
    body: dict[str, Any] | None = None
    retry_after: str | None = None


@dataclass
class TicketLoad:
    url: str
    headers: dict[str, str]
    services: tuple[str, ...] = ("general", "general", "taxes", "certificates")
    give_up_after_s: float = 30.0
    answers: list[Answer] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> TicketLoad:
        for service in self.services:
            thread = threading.Thread(target=self._client, args=(service,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop issuing new requests; each client first finishes the one it has in hand."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.give_up_after_s + 5)

    def count(self) -> int:
        with self._lock:
            return len(self.accepted)

    def wait_for(self, accepted: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < accepted:
            assert time.monotonic() < deadline, f"only {self.count()} tickets accepted"
            time.sleep(0.01)

    def first_201_after(self, moment: float) -> float | None:
        with self._lock:
            times = [a.at for a in self.answers if a.status == 201 and a.at > moment]
        return min(times) if times else None

    def statuses(self) -> dict[int | None, int]:
        counts: dict[int | None, int] = {}
        with self._lock:
            for answer in self.answers:
                counts[answer.status] = counts.get(answer.status, 0) + 1
        return counts

    def _client(self, service: str) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            key = uuid.uuid4().hex
            deadline = time.monotonic() + self.give_up_after_s
            while True:
                answer = self._post(session, service, key)
                with self._lock:
                    self.answers.append(answer)
                    if answer.status == 201:
                        assert answer.body is not None
                        self.accepted[key] = answer.body
                if answer.status == 201 or (answer.status or 503) < 500:
                    break  # accepted, or refused for good (the test fails on any 4xx)
                if time.monotonic() > deadline:
                    with self._lock:
                        self.unresolved.append(key)
                    break
                time.sleep(0.05)

    def _post(self, session: requests.Session, service: str, key: str) -> Answer:
        try:
            r = session.post(
                f"{self.url}/api/v1/tickets",
                json={"service": service},
                headers={**self.headers, "Idempotency-Key": key},
                timeout=5,
            )
        except requests.RequestException:
            session.close()
            return Answer(key, time.monotonic(), None)
        try:
            body = r.json()
        except ValueError:
            body = {"raw": r.text[:200]}
        return Answer(key, time.monotonic(), r.status_code, body, r.headers.get("Retry-After"))
