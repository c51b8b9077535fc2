"""Fan-out of committed events to Server-Sent-Event subscribers, one bounded queue each.

An event is encoded once; putting its frame in a subscriber's queue costs a deque append and, if
that subscriber's stream is idle, one wake-up."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

HEARTBEAT = b": ping\n\n"


def encode_sse(event: dict[str, Any]) -> bytes:
    data = orjson.dumps(event, option=orjson.OPT_NON_STR_KEYS)  # compact UTF-8, as json.dumps was
    return f"id: {event['id']}\nevent: {event['type']}\ndata: ".encode() + data + b"\n\n"


Item = tuple[int, bytes] | None
"""(event id, encoded frame), or None: the stream must end (overflow or shutdown)."""


class FrameQueue:
    """A bounded queue with one reader, cheaper than asyncio.Queue for fan-out: putting wakes the
    reader only if it waits, the reader takes everything pending at once (one write for a burst),
    and waiting with a timeout needs no extra task (asyncio.wait_for makes one per call)."""

    def __init__(self, maxsize: int = 2000) -> None:
        self.maxsize = maxsize
        self._items: deque[Item] = deque()
        self._waiter: asyncio.Future[bool] | None = None

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Item) -> None:
        if len(self._items) >= self.maxsize:
            raise asyncio.QueueFull
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def get_nowait(self) -> Item:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def drain(self) -> list[Item]:
        items = list(self._items)
        self._items.clear()
        return items

    async def wait(self, timeout: float | None = None) -> bool:
        """Until something is queued (True) or `timeout` seconds pass (False)."""
        if self._items:
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, waiter, False) if timeout is not None else None
        try:
            return await waiter
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None

    async def get(self) -> Item:
        while not self._items:
            await self.wait()
        return self._items.popleft()


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


@dataclass(eq=False)
class Subscriber:
    office_id: str | None
    queue: FrameQueue = field(default_factory=FrameQueue)
    overflowed: bool = False


class Broker:
    """Lives on the event loop. publish() is called there, after the events' transaction commits."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self.watcher: Callable[[], None] | None = None
        """Called before the first subscriber is added (hub/replication.py's SQLite tailer)."""
        self.closed = False
        """The hub is stopping: a stream that subscribes now ends at once."""

    def __len__(self) -> int:
        return len(self._subscribers)

    def subscribe(self, office_id: str | None) -> Subscriber:
        sub = Subscriber(office_id)
        if self.closed:
            sub.queue.put_nowait(None)
            return sub
        if not self._subscribers and self.watcher is not None:
            self.watcher()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def publish(self, events: list[dict[str, Any]]) -> None:
        if not self._subscribers:
            return
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
        self.closed = True
        for sub in tuple(self._subscribers):
            try:
                sub.queue.put_nowait(None)
            except asyncio.QueueFull:
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)
        self._subscribers.clear()
