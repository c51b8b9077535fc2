"""Server-sent events over requests, resumed with Last-Event-ID after every disconnect.

`SseParser` turns bytes into events (pure, fed in any chunking). `EventStream` runs it in a
background thread against the hub's `/api/v1/events`, reconnects with backoff, and reports
its connection state so a screen can show "reconnecting" instead of going blank.

The hub opens every stream with an id-only block, `id: M`: the id it resumes after. When M is
lower than the Last-Event-ID the client sent, the hub's history was replaced (its database
restored from a backup, or reset) and `on_rewind(sent, M)` tells the consumer, before any event
of that connection, that ids start over below what it has seen.
"""

from __future__ import annotations

import codecs
import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)

CONNECTING = "connecting"
CONNECTED = "connected"
RECONNECTING = "reconnecting"
STOPPED = "stopped"


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


class SseParser:
    """The text/event-stream format: fields id, event, data, retry; `:` lines are comments."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._after_cr = False
        self._data: list[str] = []
        self._event = ""
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self.comments = 0
        self.opening_id: str | None = None
        """The id of an id-only block that came before any event: where the server starts."""
        self._block_id = False
        self._dispatched = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        text = self._decoder.decode(chunk)
        events: list[SseEvent] = []
        start = 0
        for i, char in enumerate(text):
            if char not in "\r\n":
                continue
            if char == "\n" and self._after_cr and i == start:
                # the \n of a \r\n whose \r ended the previous line
                self._after_cr = False
                start = i + 1
                continue
            line = self._pending + text[start:i]
            self._pending = ""
            self._after_cr = char == "\r"
            start = i + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        if start < len(text):
            self._pending += text[start:]
            self._after_cr = False
        return events

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            self.comments += 1
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
            self._block_id = True
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        data, event, block_id = self._data, self._event, self._block_id
        self._data, self._event, self._block_id = [], "", False
        if not data:
            if block_id and not self._dispatched and self.opening_id is None:
                self.opening_id = self.last_id
            return None
        self._dispatched = True
        return SseEvent(event or "message", "\n".join(data), self.last_id)


class EventStream:
    """Follow one SSE URL in a thread; hand each event to `on_event` (called in that thread)."""

    def __init__(
        self,
        url: str,
        on_event: Callable[[SseEvent], None],
        *,
        token: str = "",
        last_event_id: str | None = None,
        on_state: Callable[[str], None] | None = None,
        on_rewind: Callable[[str, str], None] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 45.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.on_event = on_event
        self.on_state = on_state
        self.on_rewind = on_rewind
        """Called in the stream's thread with (the Last-Event-ID sent, the lower id the hub
        opened with), before the connection's first event is handed to `on_event`."""
        self.token = token
        self.last_event_id = last_event_id
        self.connect_timeout_s = connect_timeout_s
        # The hub sends a `: ping` every 15 s; silence longer than this means a dead link.
        self.read_timeout_s = read_timeout_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.extra_headers = dict(headers or {})
        self.session = session or requests.Session()
        self.state = STOPPED
        self.last_error: str | None = None
        self.connects = 0
        self.rewinds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: requests.Response | None = None
        self._lock = threading.Lock()

    # --- life cycle ----------------------------------------------------------------------------

    def start(self) -> EventStream:
        if self._thread and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="office360-sse", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown(response)
        if self._thread is not None:
            self._thread.join(timeout_s)
        self.session.close()
        self._set_state(STOPPED)

    def drop_connection(self) -> None:
        """Cut the current connection as a network fault would; the stream resumes by itself."""
        with self._lock:
            response = self._response
        if response is not None:
            _shutdown(response)

    @property
    def running(self) -> bool:
        return bool(self._thread and self._thread.is_alive())

    # --- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        delay = min(self.backoff_s, self.backoff_max_s)
        self._set_state(CONNECTING)
        while not self._stop.is_set():
            try:
                for _ in self._follow_once():
                    # connected: the next failure starts from the floor (the server's retry: hint)
                    delay = min(self.backoff_s, self.backoff_max_s)
            except Exception as exc:  # any failure means: wait, then resume
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.info("event stream %s: %s", self.url, self.last_error)
            else:
                self.last_error = "the hub closed the stream"
            if self._stop.is_set():
                break
            self._set_state(RECONNECTING)
            if self._stop.wait(delay):
                break
            delay = min(self.backoff_max_s, delay * 2)

    def _follow_once(self) -> Iterator[None]:
        headers = {
            "Accept": "text/event-stream",
            "Accept-Encoding": "identity",
            "Cache-Control": "no-cache",
            **self.extra_headers,
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        sent = self.last_event_id
        if sent is not None:
            headers["Last-Event-ID"] = sent
        response = self.session.get(
            self.url,
            headers=headers,
            stream=True,
            timeout=(self.connect_timeout_s, self.read_timeout_s),
        )
        with self._lock:
            self._response = response
        try:
            if response.status_code != 200:
                raise StreamRefused(response.status_code, response.text[:200])
            ctype = response.headers.get("Content-Type", "")
            if not ctype.startswith("text/event-stream"):
                raise StreamRefused(response.status_code, f"not an event stream: {ctype!r}")
            self.connects += 1
            self._set_state(CONNECTED)
            yield None
            parser = SseParser()
            opened = False
            for chunk in _chunks(response):
                if self._stop.is_set():
                    return
                events = parser.feed(chunk)
                if not opened and (parser.opening_id is not None or events):
                    opened = True  # only the block before the first event is an opening
                    opening = parser.opening_id
                    if sent is not None and opening is not None and rewound(sent, opening):
                        self._rewound(sent, opening)
                for event in events:
                    if event.id is not None:
                        self.last_event_id = event.id
                    self._deliver(event)
                if parser.last_id is not None:  # an id-only block moves the resume point too
                    self.last_event_id = parser.last_id
                if parser.retry_ms is not None:
                    self.backoff_s = parser.retry_ms / 1000
                    parser.retry_ms = None
        finally:
            with self._lock:
                self._response = None
            response.close()

    def _rewound(self, sent: str, opening_id: str) -> None:
        log.warning(
            "event stream %s: the hub opened at id %s, below %s: its history was replaced",
            self.url,
            opening_id,
            sent,
        )
        self.rewinds += 1
        if self.on_rewind is not None:
            try:
                self.on_rewind(sent, opening_id)
            except Exception:  # a bad handler must not kill the stream
                log.exception("rewind handler failed")

    def _deliver(self, event: SseEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # a bad handler must not kill the stream
            log.exception("event handler failed on event %s", event.id)

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        if self.on_state is not None:
            try:
                self.on_state(state)
            except Exception:
                log.exception("state handler failed")


def rewound(sent: str | None, opening_id: str) -> bool:
    """True when the hub opened below the id the client resumed from: a new history.

    The hub answers a Last-Event-ID that is not a number with its newest id, so that counts too.
    """
    if sent is None or not _number(opening_id):
        return False
    return not _number(sent) or int(opening_id) < int(sent)


def _number(value: str) -> bool:
    return value.isascii() and value.isdigit()


class StreamRefused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """Bytes as soon as they arrive, whether the body is chunked or close-delimited."""
    raw = response.raw
    if response.headers.get("Transfer-Encoding", "").lower() == "chunked":
        yield from raw.stream(None, decode_content=True)
        return
    while True:
        data = raw.read1(65536)
        if not data:
            return
        yield data


def _shutdown(response: requests.Response) -> None:
    """Wake a thread blocked reading this response (closing alone does not on Linux)."""
    sock = _socket_of(response)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(Exception):
        response.close()


def _socket_of(response: requests.Response) -> socket.socket | None:
    raw = response.raw
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    # http.client's response reads through sock.makefile(): SocketIO keeps the socket
    fileobj = getattr(getattr(raw, "_fp", None), "fp", None)
    sock = getattr(getattr(fileobj, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
