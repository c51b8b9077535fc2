"""Fan-out of committed events to Server-Sent-Event subscribers, one bounded queue each."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

HEARTBEAT = b": ping\n\n"


def encode_sse(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n".encode()


@dataclass(eq=False)
class Subscriber:
    office_id: str | None
    queue: asyncio.Queue[tuple[int, bytes] | None] = field(
        default_factory=lambda: asyncio.Queue(2000)
    )
    overflowed: bool = False


class Broker:
    """Lives on the event loop. publish() is called there, after the events' transaction commits."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, office_id: str | None) -> Subscriber:
        sub = Subscriber(office_id)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            frame = (int(event["id"]), encode_sse(event))
            office = event["office"]
            for sub in tuple(self._subscribers):
                if sub.office_id is not None and sub.office_id != office:
                    continue
                try:
                    sub.queue.put_nowait(frame)
                except asyncio.QueueFull:
                    # A stuck reader is cut off; it reconnects with Last-Event-ID and catches up.
                    sub.overflowed = True
                    self._subscribers.discard(sub)
                    sub.queue.get_nowait()
                    sub.queue.put_nowait(None)

    def close_all(self) -> None:
        for sub in tuple(self._subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)
        self._subscribers.clear()
